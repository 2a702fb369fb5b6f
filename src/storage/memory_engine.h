// MemoryEngine: an in-memory Engine that models a disk with a volatile cache.
//
// Every write is visible at once; only synced writes are durable. crash()
// forgets everything not yet synced, as a power failure would (a kill -9 keeps
// the page cache and so cannot test this). Faults can be injected: failing
// syncs (fsync errors) and failing writes (a full disk). This is LevelDB's
// fault-injection Env idea, passed in through the constructor, not a global hook.
//
// Thread safety: all methods may be called from any thread (one mutex).
#pragma once

#include <map>
#include <mutex>

#include "storage/engine.h"

namespace ringkv {

class MemoryEngine final : public Engine {
 public:
  Result<std::optional<std::string>> get(Column column, std::string_view key) override;
  Status write(const WriteBatch& batch, bool sync) override;
  Status sync() override;
  Status scan(Column column, std::string_view begin, std::string_view end,
              const ScanVisitor& visitor) override;

  // What get() would return after a crash() now (for checkers).
  std::optional<std::string> get_durable(Column column, std::string_view key) const;
  // Visits every durable (key, value) of `column` in order (for checkers).
  void scan_durable(Column column, const ScanVisitor& visitor) const;
  // Power failure: every write since the last successful sync is lost.
  void crash();
  // A new, empty disk: everything is gone, durable or not.
  void wipe();
  // While set, sync() and write(sync=true) fail with io_error and make nothing durable.
  void set_fail_syncs(bool fail);
  // While set, write() fails with io_error before applying anything (disk full).
  void set_fail_writes(bool fail);
  // While set, scan() fails with io_error after visiting nothing (an unreadable range).
  void set_fail_scans(bool fail);
  size_t unsynced_batch_count() const;
  size_t sync_count() const;

 private:
  using Table = std::map<std::string, std::string, std::less<>>;
  static void apply(const WriteBatch& batch, Table (&tables)[kColumnCount]);
  // REQUIRES: mutex_ held. Makes every unsynced batch durable (or fails as injected).
  Status sync_locked();

  mutable std::mutex mutex_;
  Table visible_[kColumnCount];
  Table durable_[kColumnCount];
  std::vector<WriteBatch> unsynced_;
  bool fail_syncs_ = false;
  bool fail_writes_ = false;
  bool fail_scans_ = false;
  size_t sync_count_ = 0;
};

}  // namespace ringkv
