// RocksDbEngine: the production Engine, one RocksDB instance per node with a
// column family per Column ("data", "meta").
//
// Durability: write(sync=true) is a WAL write with fsync; RocksDB groups
// concurrent writers into one fsync, and our commit queue additionally merges
// every queued write into one batch per fsync (server/commit_queue.h).
// write(sync=false) reaches the OS page cache; sync() (SyncWAL) makes it durable.
// After a failed write or sync RocksDB enters a background-error state and
// refuses further writes until reopened; the node fences writes too.
//
// Thread safety: as Engine.
#pragma once

#include <memory>
#include <string>

#include "storage/engine.h"

namespace ringkv {

class RocksDbEngine final : public Engine {
 public:
  // Opens (creating if missing) the database in `directory`.
  static Result<std::unique_ptr<RocksDbEngine>> open(const std::string& directory);
  ~RocksDbEngine() override;

  Result<std::optional<std::string>> get(Column column, std::string_view key) override;
  Status write(const WriteBatch& batch, bool sync) override;
  Status sync() override;
  Status scan(Column column, std::string_view begin, std::string_view end,
              const ScanVisitor& visitor) override;

 private:
  struct Impl;
  explicit RocksDbEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv
