// NodeContext (node_context.h): the services the node core's components
// share. See node_context.h.
#include "cluster/node_context.h"

#include <algorithm>
#include <utility>

#include <fmt/format.h>

#include "common/check.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

// How long a write refused for load waits before it is issued again: about
// one group commit, so the queue has drained a group meanwhile.
constexpr uint64_t kWriteRetryMs = 20;

}  // namespace

NodeContext::NodeContext(NodeCoreOptions options, Engine& reads, StoreCatalog catalog)
    : options_(std::move(options)),
      reads_(reads),
      catalog_(std::move(catalog)),
      merkle_(reads),
      random_(options_.seed),
      single_use_random_(options_.seed ^ 0x5ced1e5acee5f00dULL) {
  fresh_directory_ = options_.fresh_directory;
}

Status NodeContext::admit_inbound(const NodeId& from, uint64_t bytes) {
  uint64_t& held = inbound_bytes_[from];
  if (held != 0 && held + bytes > options_.inbound_bytes_per_source_max) {
    ++stats_.inbound_refused;
    return Status(Code::overloaded,
                  fmt::format("{} bytes of replication from {} are still being written here; "
                              "retry shortly",
                              held, from));
  }
  held += bytes;
  return Status::Ok();
}

void NodeContext::release_inbound(const NodeId& from, uint64_t bytes) {
  auto found = inbound_bytes_.find(from);
  if (found == inbound_bytes_.end())
    return;
  found->second -= std::min(found->second, bytes);
  if (found->second == 0)
    inbound_bytes_.erase(found);
}

uint64_t NodeContext::approx_bytes(std::string_view key, const SiblingSet& set) {
  uint64_t bytes = key.size();
  for (const auto& entry : set.entries()) {
    bytes += 16;
    for (const Version& version : entry.versions)
      bytes += version.value.size() + 10;
  }
  return bytes;
}

std::vector<NodeId> NodeContext::replicas_of(const StoreEntry& store, std::string_view key) {
  std::vector<NodeId> out;
  if (!layout_)
    return out;
  for (uint32_t index : table_for(store.config.n).nodes_for_key(key))
    out.push_back(layout_->nodes()[index].id);
  return out;
}

void NodeContext::send(const NodeId& to, PeerMessage message) {
  if (is_self(to)) {
    // Never through the network: the real transport drops frames addressed
    // to their sender, so a copy meant for this node would silently vanish
    // (a coordinator that is itself a new replica during a move).
    loopback_.push_back(std::move(message));
    return;
  }
  effects_.push_back(SendEffect{to, std::move(message)});
}

uint64_t NodeContext::issue_write(WriteBatch batch, bool durable, Continuation done,
                                  bool background) {
  const uint64_t id = ++last_write_;
  writes_.emplace(id, PendingWrite{std::move(done), now_ms_, background});
  effects_.push_back(WriteEffect{id, std::move(batch), durable});
  return id;
}

void NodeContext::issue_write_until_taken(WriteBatch batch, bool durable, Continuation done) {
  WriteBatch copy = batch;
  issue_write(
      std::move(batch), durable,
      [this, copy = std::move(copy), durable, done = std::move(done)](Status status) mutable {
        if (status.code() != Code::overloaded) {
          done(std::move(status));
          return;
        }
        retry_writes_.push_back(
            {now_ms_ + kWriteRetryMs, std::move(copy), durable, std::move(done)});
      });
}

void NodeContext::fence(const Status& status) {
  if (fence_.ok()) {
    fence_ = Status(Code::unavailable, "this node's storage failed a write (" + status.message() +
                                           "); it refuses writes until it is restarted");
  }
}

Status NodeContext::key_wait_room(const std::string& data_key) const {
  return key_locks_.room(data_key);
}

void NodeContext::with_key(const std::string& data_key, std::function<void()> work) {
  if (key_locks_.run_or_queue(data_key, std::move(work)))
    ++stats_.keys_waiting;
}

void NodeContext::release_key(const std::string& data_key) {
  key_locks_.release(data_key);
}

Result<SiblingSet> NodeContext::read_local(const StoreEntry& store, std::string_view key,
                                           std::string* raw) {
  encode_data_key(store.id, key, key_buffer_);
  auto bytes = reads_.get(Column::data, key_buffer_);
  if (!bytes.ok())
    return bytes.status();
  if (!bytes.value())
    return SiblingSet();
  auto set = decode_record(*bytes.value());
  if (raw != nullptr)
    *raw = std::move(*bytes.value());
  return set;
}

void NodeContext::merge_locally(const StoreEntry& store, std::string key, SiblingSet set,
                                Continuation done, bool force_sync, bool anti_entropy) {
  std::string data_key = encode_data_key(store.id, key);
  if (Status room = key_wait_room(data_key); !room.ok()) {
    done(room);
    return;
  }
  with_key(data_key, [this, store = &store, data_key, key = std::move(key), set = std::move(set),
                      done = std::move(done), force_sync, anti_entropy]() mutable {
    if (!fence_.ok()) {
      release_key(data_key);
      done(fence_);
      return;
    }
    std::string old_record;
    auto local = read_local(*store, key, &old_record);
    if (!local.ok()) {
      release_key(data_key);
      done(local.status());
      return;
    }
    SiblingSet merged = SiblingSet::merged(*local, set);
    if (merged == *local) {
      // Nothing new. A sync store's copy is durable already (every write of
      // it was, and the key lock waits for them). A periodic store's copy
      // may not be, and a caller that asked for durability (a handover or
      // stream source that will delete its copy, a hint's delivery) must
      // not hear "ok" before it is: one fsync, group-committed.
      if (force_sync && store->config.durability != Durability::sync) {
        issue_write({}, /*durable=*/true, [this, data_key, done = std::move(done)](Status status) {
          release_key(data_key);
          done(status);
        });
        return;
      }
      release_key(data_key);
      done(Status::Ok());
      return;
    }
    ++stats_.replica_writes;
    if (anti_entropy)
      ++stats_.ae_keys_repaired;
    std::string record = encode_record(merged);
    data_write_issued(*store, key, data_key, old_record, &record);
    WriteBatch batch;
    batch.push_back({Column::data, data_key, std::move(record)});
    issue_write(std::move(batch), force_sync || store->config.durability == Durability::sync,
                [this, store, data_key, done = std::move(done)](Status status) {
                  data_write_done(*store, data_key, status.ok());
                  release_key(data_key);
                  done(status);
                });
  });
}

struct NodeContext::ChunkMerge {
  struct Item {
    AeEntry entry;
    std::string old_record;  // the local record before the merge (empty: none)
    bool written = false;
  };
  const StoreEntry* store = nullptr;
  std::map<std::string, Item, std::less<>> items;  // by data key: lock and scan order
  WriteBatch extra;
  ChunkDone done;
  size_t locks_waited = 0;  // keys not yet held

  void release(NodeContext& context) {
    for (const auto& [data_key, item] : items)
      context.release_key(data_key);
  }
};

void NodeContext::merge_chunk_locally(const StoreEntry& store, std::vector<AeEntry> entries,
                                      WriteBatch extra, ChunkDone done) {
  auto chunk = std::make_shared<ChunkMerge>();
  chunk->store = &store;
  chunk->extra = std::move(extra);
  chunk->done = std::move(done);
  for (AeEntry& entry : entries) {
    auto [found, fresh] =
        chunk->items.try_emplace(encode_data_key(store.id, entry.key), ChunkMerge::Item{});
    if (fresh)
      found->second.entry = std::move(entry);
    else
      found->second.entry.set = SiblingSet::merged(found->second.entry.set, entry.set);
  }
  for (const auto& [data_key, item] : chunk->items) {
    if (Status room = key_wait_room(data_key); !room.ok()) {
      chunk->done(room, 0);
      return;
    }
  }
  // Every key is held before anything is read. Two chunks never share a
  // key (each is one partition's range, one transfer at a time), and every
  // other holder takes one key, so taking many in key order cannot deadlock.
  chunk->locks_waited = chunk->items.size() + 1;
  for (const auto& [data_key, item] : chunk->items) {
    with_key(data_key, [this, chunk] {
      if (--chunk->locks_waited == 0)
        write_chunk(chunk);
    });
  }
  if (--chunk->locks_waited == 0)
    write_chunk(chunk);
}

void NodeContext::write_chunk(const std::shared_ptr<ChunkMerge>& chunk) {
  if (!fence_.ok()) {
    chunk->release(*this);
    chunk->done(fence_, 0);
    return;
  }
  auto& items = chunk->items;
  if (!items.empty()) {
    std::string end = items.rbegin()->first;
    end.push_back('\0');
    const Status scanned =
        reads_.scan(Column::data, items.begin()->first, end,
                    [&](std::string_view data_key, std::string_view record) {
                      if (auto found = items.find(data_key); found != items.end())
                        found->second.old_record.assign(record);
                      return true;
                    });
    if (!scanned.ok()) {
      chunk->release(*this);
      chunk->done(scanned, 0);
      return;
    }
  }
  WriteBatch batch;
  uint64_t changed = 0;
  for (auto& [data_key, item] : items) {
    SiblingSet local;
    if (!item.old_record.empty()) {
      auto decoded = decode_record(item.old_record);
      if (!decoded.ok()) {
        chunk->release(*this);
        chunk->done(decoded.status(), 0);
        return;
      }
      local = std::move(*decoded);
    }
    SiblingSet merged = SiblingSet::merged(local, item.entry.set);
    if (merged == local)
      continue;
    ++stats_.replica_writes;
    ++changed;
    std::string record = encode_record(merged);
    data_write_issued(*chunk->store, item.entry.key, data_key, item.old_record, &record);
    item.written = true;
    batch.push_back({Column::data, data_key, std::move(record)});
  }
  for (WriteOp& op : chunk->extra)
    batch.push_back(std::move(op));
  if (batch.empty() && chunk->store->config.durability == Durability::sync) {
    // Nothing new, and a sync store's copies are durable already.
    chunk->release(*this);
    chunk->done(Status::Ok(), 0);
    return;
  }
  // Durable whatever the store: the source may delete its copy once told.
  issue_write(
      std::move(batch), /*durable=*/true,
      [this, chunk, changed](Status status) {
        for (const auto& [data_key, item] : chunk->items) {
          if (item.written)
            data_write_done(*chunk->store, data_key, status.ok());
        }
        chunk->release(*this);
        chunk->done(status, status.ok() ? changed : 0);
      },
      /*background=*/true);
}

const PreferenceTable& NodeContext::table_for(uint32_t n) {
  auto table = tables_.find(n);
  if (table == tables_.end())
    table = tables_.emplace(n, PreferenceTable::build(*layout_, n)).first;
  return table->second;
}

MerkleTree& NodeContext::tree_for(const StoreEntry& store, uint32_t partition) {
  return merkle_.get(store.id, partition, layout_->partition_bits());
}

void NodeContext::data_write_issued(const StoreEntry& store, std::string_view key,
                                    const std::string& data_key, std::string_view old_record,
                                    const std::string* new_record) {
  merkle_.write_issued(store.id, key, data_key, old_record, new_record, partition_bits());
  if (counted(data_key)) {  // the node's own counts (heartbeats, GET /v1/cluster)
    if (!old_record.empty()) {
      data_keys_ -= std::min<uint64_t>(data_keys_, 1);
      data_bytes_ -= std::min<uint64_t>(data_bytes_, data_key.size() + old_record.size());
    }
    if (new_record != nullptr) {
      ++data_keys_;
      data_bytes_ += data_key.size() + new_record->size();
    }
  }
}

void NodeContext::data_write_done(const StoreEntry& store, const std::string& data_key, bool ok) {
  merkle_.write_done(store.id, data_key, ok, partition_bits());
}

std::optional<uint32_t> NodeContext::partition_bits() const {
  if (!layout_)
    return std::nullopt;
  return layout_->partition_bits();
}

void NodeContext::retry_refused_writes(uint64_t now_ms) {
  if (!retry_writes_.empty()) {
    std::vector<RetryWrite> due;
    for (auto it = retry_writes_.begin(); it != retry_writes_.end();) {
      if (it->due_ms <= now_ms) {
        due.push_back(std::move(*it));
        it = retry_writes_.erase(it);
      } else {
        ++it;
      }
    }
    for (RetryWrite& retry : due)
      issue_write_until_taken(std::move(retry.batch), retry.durable, std::move(retry.done));
  }
}

bool NodeContext::fold_agreement(const NodeId& from, const std::vector<bool>& answers,
                                 std::vector<NodeId>& waiting, std::vector<bool>& agreed) {
  auto found = std::find(waiting.begin(), waiting.end(), from);
  if (found == waiting.end())
    return false;  // not asked, or a duplicate
  waiting.erase(found);
  for (size_t index = 0; index < agreed.size(); ++index)
    agreed[index] = agreed[index] && index < answers.size() && answers[index];
  return true;
}

const StoreEntry* NodeContext::next_swept_partition(size_t& store_cursor,
                                                    uint32_t& partition_cursor,
                                                    uint32_t& partition) {
  const std::vector<const StoreEntry*> stores = catalog_.list();
  if (stores.empty())
    return nullptr;
  const uint32_t partitions = layout_->partition_count();
  const StoreEntry* store = stores[store_cursor % stores.size()];
  partition = partition_cursor % partitions;
  if (++partition_cursor >= partitions) {
    partition_cursor = 0;
    ++store_cursor;
  }
  const auto list = table_for(store->config.n).nodes(partition);
  if (list.empty() || !is_self(layout_->nodes()[list[0]].id))
    return nullptr;  // the first replica of the partition sweeps it
  return store;
}

void NodeContext::count_step() {
  if (counts_complete_)
    return;
  uint64_t keys = 0, bytes = 0;
  std::string last;
  bool more = false;
  Status scanned = reads_.scan(Column::data, count_cursor_, "",
                               [&](std::string_view key, std::string_view value) {
                                 if (keys == kCountRowsPerStep) {
                                   more = true;
                                   return false;
                                 }
                                 ++keys;
                                 bytes += key.size() + value.size();
                                 last.assign(key);
                                 return true;
                               });
  if (!scanned.ok())
    return;  // counted again from the same cursor at the next tick
  data_keys_ += keys;
  data_bytes_ += bytes;
  if (!more) {
    counts_complete_ = true;
    return;
  }
  count_cursor_ = std::move(last);
  count_cursor_.push_back('\0');  // the first key after it
}

uint64_t NodeContext::fenced_version(const StoreEntry& store) const {
  return store.config.quorum == QuorumMode::strict && layout_ ? layout_->version() : 0;
}

uint64_t NodeContext::fenced_target(const StoreEntry& store) const {
  return store.config.quorum == QuorumMode::strict ? target_digest_ : 0;
}

}  // namespace ringkv
