// Engine: the storage interface every node writes through.
//
// Two implementations: RocksDbEngine (production) and MemoryEngine (tests and
// the simulator; its crash() drops every write that was not synced, which a
// kill -9 of a real process cannot show). Keys live in named column families
// (Column) so that data, metadata and hints can be scanned and tuned
// apart.
//
// Contract:
//   - write() applies a batch atomically. With sync=true it returns ok only
//     after the batch (and every earlier write) is durable. A non-ok Status
//     means the batch must be treated as not durable: the caller reports the
//     write as failed, never as acknowledged.
//   - sync() makes every earlier write durable (periodic durability).
//   - get() and scan() see every write whose write() call has returned.
//
// Thread safety: get() and scan() may run on any thread concurrently with one
// another and with write()/sync(); write() and sync() are called from one
// thread at a time (the commit queue's writer).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ringkv {

enum class Column : uint8_t {
  data = 0,   // sibling-set records, keyed by data_key.h
  meta = 1,   // node identity and the store catalog
  hints = 2,  // writes held for a replica that was down (hint_codec.h)
};
inline constexpr size_t kColumnCount = 3;

struct WriteOp {
  Column column = Column::data;
  std::string key;
  std::string value;
  // Delete `key` instead of setting it; with a non-empty `value`, delete
  // every key in [key, value) instead (one range delete: dropping a
  // partition after it moved away).
  bool erase = false;
};
using WriteBatch = std::vector<WriteOp>;

// Called for each (key, value) in order; return false to stop early.
using ScanVisitor = std::function<bool(std::string_view key, std::string_view value)>;

class Engine {
 public:
  virtual ~Engine() = default;

  virtual Result<std::optional<std::string>> get(Column column, std::string_view key) = 0;
  virtual Status write(const WriteBatch& batch, bool sync) = 0;
  virtual Status sync() = 0;
  // Visits keys in [begin, end) in ascending byte order (empty end = no bound).
  virtual Status scan(Column column, std::string_view begin, std::string_view end,
                      const ScanVisitor& visitor) = 0;
};

}  // namespace ringkv
