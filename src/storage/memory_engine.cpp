#include "storage/memory_engine.h"

namespace ringkv {

void MemoryEngine::apply(const WriteBatch& batch, Table (&tables)[kColumnCount]) {
  for (const WriteOp& op : batch) {
    Table& table = tables[static_cast<size_t>(op.column)];
    if (op.erase && !op.value.empty()) {
      if (op.key < op.value)
        table.erase(table.lower_bound(op.key), table.lower_bound(op.value));
    } else if (op.erase) {
      table.erase(op.key);
    } else {
      table.insert_or_assign(op.key, op.value);
    }
  }
}

Result<std::optional<std::string>> MemoryEngine::get(Column column, std::string_view key) {
  std::lock_guard lock(mutex_);
  const Table& table = visible_[static_cast<size_t>(column)];
  const auto found = table.find(key);
  if (found == table.end())
    return std::optional<std::string>();
  return std::optional<std::string>(found->second);
}

std::optional<std::string> MemoryEngine::get_durable(Column column, std::string_view key) const {
  std::lock_guard lock(mutex_);
  const Table& table = durable_[static_cast<size_t>(column)];
  const auto found = table.find(key);
  if (found == table.end())
    return std::nullopt;
  return found->second;
}

void MemoryEngine::scan_durable(Column column, const ScanVisitor& visitor) const {
  std::lock_guard lock(mutex_);
  for (const auto& [key, value] : durable_[static_cast<size_t>(column)]) {
    if (!visitor(key, value))
      return;
  }
}

Status MemoryEngine::write(const WriteBatch& batch, bool sync) {
  std::lock_guard lock(mutex_);
  if (fail_writes_)
    return {Code::io_error, "injected write failure (disk full)"};
  apply(batch, visible_);
  unsynced_.push_back(batch);
  return sync ? sync_locked() : Status::Ok();
}

Status MemoryEngine::sync() {
  std::lock_guard lock(mutex_);
  return sync_locked();
}

Status MemoryEngine::sync_locked() {
  if (fail_syncs_)
    return {Code::io_error, "injected fsync failure"};
  for (const WriteBatch& pending : unsynced_)
    apply(pending, durable_);
  unsynced_.clear();
  ++sync_count_;
  return Status::Ok();
}

Status MemoryEngine::scan(Column column, std::string_view begin, std::string_view end,
                          const ScanVisitor& visitor) {
  std::lock_guard lock(mutex_);
  if (fail_scans_)
    return {Code::io_error, "injected read failure"};
  const Table& table = visible_[static_cast<size_t>(column)];
  for (auto it = table.lower_bound(begin); it != table.end(); ++it) {
    if (!end.empty() && it->first >= end)
      break;
    if (!visitor(it->first, it->second))
      break;
  }
  return Status::Ok();
}

void MemoryEngine::crash() {
  std::lock_guard lock(mutex_);
  for (size_t column = 0; column < kColumnCount; ++column)
    visible_[column] = durable_[column];
  unsynced_.clear();
}

void MemoryEngine::wipe() {
  std::lock_guard lock(mutex_);
  for (size_t column = 0; column < kColumnCount; ++column) {
    visible_[column].clear();
    durable_[column].clear();
  }
  unsynced_.clear();
}

void MemoryEngine::set_fail_syncs(bool fail) {
  std::lock_guard lock(mutex_);
  fail_syncs_ = fail;
}

void MemoryEngine::set_fail_scans(bool fail) {
  std::lock_guard lock(mutex_);
  fail_scans_ = fail;
}

void MemoryEngine::set_fail_writes(bool fail) {
  std::lock_guard lock(mutex_);
  fail_writes_ = fail;
}

size_t MemoryEngine::unsynced_batch_count() const {
  std::lock_guard lock(mutex_);
  return unsynced_.size();
}

size_t MemoryEngine::sync_count() const {
  std::lock_guard lock(mutex_);
  return sync_count_;
}

}  // namespace ringkv
