// NodeClock: the milliseconds the node core runs on.
//
// The core needs one clock for two jobs: intervals (request deadlines,
// gossip rhythm, the failure detector) and wall-like times (version
// timestamps for last-writer-wins, tombstone grace, the counter floor, the
// heartbeat generation). The system clock serves the second but breaks the
// first: NTP or an operator can step it backwards, which used to stall
// gossip and deadlines, and a restart with an earlier clock gave a lower
// heartbeat generation that peers ignored forever. So the node reads the
// wall clock once, at start, and advances from there by the monotonic
// clock. Invariants:
//   1. now_ms() never decreases within a run (monotonic clock);
//   2. a run's start_ms() is greater than every start_ms() and every
//      recorded now_ms() of earlier runs on the same data directory, however
//      the wall clock moved: the start is max(wall, recorded + 1) and is
//      recorded durably before the node serves anything, and a clean stop
//      records its last now_ms(). (After an unclean stop only the start was
//      recorded: a later start may be below the last run's latest now_ms(),
//      but such a start takes a new actor, so no counter floor is reused.)
//
// Thread safety: now_ms() from any thread; start()/record() from one.
#pragma once

#include <cstdint>
#include <functional>

#include "common/status.h"
#include "storage/engine.h"

namespace ringkv {

class NodeClock {
 public:
  using Source = std::function<uint64_t()>;  // milliseconds

  // Reads what earlier runs recorded in `engine` (meta "node/clock_ms"),
  // starts at max(wall(), recorded + 1) and records that durably.
  static Result<NodeClock> start(Engine& engine, const Source& wall, Source monotonic);
  // Records now_ms() durably (a clean stop).
  Status record(Engine& engine) const;
  // The batch that records `ms` (a running node records its time now and
  // then through its write queue: server/cluster_node.h).
  static WriteBatch record_batch(uint64_t ms);

  uint64_t start_ms() const { return start_ms_; }
  // What earlier runs recorded last (0: nothing): the node was alive then.
  uint64_t previous_ms() const { return previous_ms_; }
  uint64_t now_ms() const { return start_ms_ + (monotonic_() - monotonic_start_); }

 private:
  NodeClock(uint64_t start_ms, uint64_t previous_ms, Source monotonic)
      : start_ms_(start_ms),
        previous_ms_(previous_ms),
        monotonic_(std::move(monotonic)),
        monotonic_start_(monotonic_()) {}
  uint64_t start_ms_;
  uint64_t previous_ms_;
  Source monotonic_;
  uint64_t monotonic_start_;
};

}  // namespace ringkv
