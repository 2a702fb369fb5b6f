// NodeClock; see node_clock.h.
#include "server/node_clock.h"

#include <algorithm>
#include <string>

#include "common/bytes.h"

namespace ringkv {
namespace {

constexpr std::string_view kClockKey = "node/clock_ms";

}  // namespace

WriteBatch NodeClock::record_batch(uint64_t ms) {
  std::string bytes;
  ByteWriter(bytes).u64_be(ms);
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kClockKey), std::move(bytes)});
  return batch;
}

Result<NodeClock> NodeClock::start(Engine& engine, const Source& wall, Source monotonic) {
  auto stored = engine.get(Column::meta, kClockKey);
  if (!stored.ok())
    return stored.status();
  uint64_t recorded = 0;
  if (stored.value()) {
    ByteReader reader(*stored.value());
    if (!reader.u64_be(recorded) || !reader.empty())
      return Status(Code::corruption, "stored node clock is corrupt");
  }
  NodeClock clock(std::max(wall(), recorded + 1), recorded, std::move(monotonic));
  if (Status status = engine.write(record_batch(clock.start_ms()), /*sync=*/true); !status.ok())
    return status;
  return clock;
}

Status NodeClock::record(Engine& engine) const {
  return engine.write(record_batch(now_ms()), /*sync=*/true);
}

}  // namespace ringkv
