#include "storage/rocksdb_engine.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <vector>

namespace ringkv {
namespace {

constexpr const char* kColumnNames[kColumnCount] = {"data", "meta", "hints"};

Status from_rocksdb(const rocksdb::Status& status, std::string_view what) {
  if (status.ok())
    return Status::Ok();
  const Code code = status.IsCorruption() ? Code::corruption : Code::io_error;
  return {code, std::string(what) + ": " + status.ToString()};
}

rocksdb::ColumnFamilyOptions data_options() {
  rocksdb::ColumnFamilyOptions options;
  // Point reads dominate: a bloom filter spares disk reads for absent keys.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // Every write reads its key first (to merge versions), and a new key is
  // absent: a bloom filter over the memtable's keys answers that without a
  // skiplist search (~140 key comparisons at a few thousand keys). Callgrind,
  // blind PUTs of new keys: 66.9k / 66.1k -> 57.7k / 61.1k instructions; a GET
  // of a present key pays the hash: 18.83k -> 19.01k (docs/BENCHMARKS.md).
  options.memtable_prefix_bloom_size_ratio = 0.02;
  options.memtable_whole_key_filtering = true;
  return options;
}

}  // namespace

struct RocksDbEngine::Impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;  // owned by db; destroyed before it

  rocksdb::ColumnFamilyHandle* handle(Column column) {
    return handles[static_cast<size_t>(column) + 1];  // [0] is RocksDB's "default"
  }
  ~Impl() {
    for (auto* handle : handles) {
      if (db)
        db->DestroyColumnFamilyHandle(handle);
    }
    if (db)
      db->Close().PermitUncheckedError();
  }
};

Result<std::unique_ptr<RocksDbEngine>> RocksDbEngine::open(const std::string& directory) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.max_background_jobs = 2;
  // Compactions run niced: they are background work and may wait for a core
  // while clients are served, which keeps client latency flat while a
  // partition move or a bulk load makes them busy. Flushes keep the normal
  // priority: writes stall when memtables wait for them. (Process-wide: the
  // default Env's pool is shared by every open database.)
  rocksdb::Env::Default()
      ->LowerThreadPoolCPUPriority(rocksdb::Env::Priority::LOW, rocksdb::CpuPriority::kLow)
      .PermitUncheckedError();
  std::vector<rocksdb::ColumnFamilyDescriptor> families;
  families.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  families.emplace_back(kColumnNames[0], data_options());
  families.emplace_back(kColumnNames[1], rocksdb::ColumnFamilyOptions());
  families.emplace_back(kColumnNames[2], rocksdb::ColumnFamilyOptions());
  auto impl = std::make_unique<Impl>();
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status status =
      rocksdb::DB::Open(options, directory, families, &impl->handles, &raw);
  if (!status.ok()) {
    return Status(Code::io_error,
                  "cannot open RocksDB in '" + directory + "': " + status.ToString());
  }
  impl->db.reset(raw);
  return std::unique_ptr<RocksDbEngine>(new RocksDbEngine(std::move(impl)));
}

RocksDbEngine::RocksDbEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
RocksDbEngine::~RocksDbEngine() = default;

Result<std::optional<std::string>> RocksDbEngine::get(Column column, std::string_view key) {
  std::string value;
  const rocksdb::Status status = impl_->db->Get(rocksdb::ReadOptions(), impl_->handle(column),
                                                rocksdb::Slice(key.data(), key.size()), &value);
  if (status.IsNotFound())
    return std::optional<std::string>();
  if (!status.ok())
    return from_rocksdb(status, "read failed");
  return std::optional<std::string>(std::move(value));
}

Status RocksDbEngine::write(const WriteBatch& batch, bool sync) {
  rocksdb::WriteBatch rocks_batch;
  for (const WriteOp& op : batch) {
    const rocksdb::Slice key(op.key.data(), op.key.size());
    rocksdb::Status status =
        op.erase && !op.value.empty()
            ? rocks_batch.DeleteRange(impl_->handle(op.column), key,
                                      rocksdb::Slice(op.value.data(), op.value.size()))
        : op.erase ? rocks_batch.Delete(impl_->handle(op.column), key)
                   : rocks_batch.Put(impl_->handle(op.column), key,
                                     rocksdb::Slice(op.value.data(), op.value.size()));
    if (!status.ok())
      return from_rocksdb(status, "building write batch failed");
  }
  rocksdb::WriteOptions options;
  options.sync = sync;
  return from_rocksdb(impl_->db->Write(options, &rocks_batch),
                      sync ? "durable write failed" : "write failed");
}

Status RocksDbEngine::sync() {
  return from_rocksdb(impl_->db->SyncWAL(), "WAL sync failed");
}

Status RocksDbEngine::scan(Column column, std::string_view begin, std::string_view end,
                           const ScanVisitor& visitor) {
  rocksdb::ReadOptions options;
  rocksdb::Slice upper(end.data(), end.size());
  if (!end.empty())
    options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options, impl_->handle(column)));
  for (it->Seek(rocksdb::Slice(begin.data(), begin.size())); it->Valid(); it->Next()) {
    const rocksdb::Slice key = it->key();
    const rocksdb::Slice value = it->value();
    if (!visitor(std::string_view(key.data(), key.size()),
                 std::string_view(value.data(), value.size()))) {
      break;
    }
  }
  return from_rocksdb(it->status(), "scan failed");
}

}  // namespace ringkv
