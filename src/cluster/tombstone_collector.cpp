// TombstoneCollector (tombstone_collector.h): tombstone collection (docs/ARCHITECTURE.md:
// tombstones are collected only when every primary replica holds them and a grace period has
// passed, so deleted data cannot come back).
//
// Every tombstone_sweep_interval_ms, the first replica of the next partition
// (round robin over stores and partitions) scans it for records made only of
// tombstones, each older than tombstone_grace_ms. It asks every member, not
// only the replicas, whether it agrees: a member agrees to a key when its own
// copy is absent or exactly that record, and it holds no hint for the key (a
// hint could carry an older live version back). Nothing is collected while a
// member is believed down — it might hold such a hint. Keys every member
// agreed to are reaped: each member deletes its copy only if it is still
// that record. A lost reap leaves a tombstone somewhere, which anti-entropy
// copies back and a later sweep collects; that is safe, only slower.
//
// Forgetting a key forgets the counters its writers used; a client may still
// hold a context naming them, and a late message may bring back part of the
// record. So while collection is on, a coordinator whose actor holds no live
// value of the key numbers its version from a floor above anything it used
// before (its clock in ms x 1024; write_rules.h), and a
// node with collection off never agrees to a reap. The simulator found the
// dot reuse this prevents.
// See tombstone_collector.h.
#include "cluster/tombstone_collector.h"

#include <algorithm>

#include "cluster/node_core.h"
#include "cluster/node_core_errors.h"
#include "common/md5.h"
#include "storage/data_key.h"
#include "storage/hint_codec.h"
#include "storage/record_codec.h"

namespace ringkv {

bool TombstoneCollector::agrees_to_reap(const std::string& store_name, std::string_view key,
                                        uint64_t hash) {
  if (!core_.data_settled())
    return false;
  if (core_.handoff_.may_hold_hint(store_name, key))
    return false;  // a hint may hold an older version
  const StoreEntry* store = core_.catalog_.find(store_name);
  if (store == nullptr)
    return true;  // never held anything of this store
  std::string raw;
  auto set = core_.read_local(*store, key, &raw);
  if (!set.ok())
    return false;
  return raw.empty() || merkle_entry_hash(key, raw) == hash;
}

void TombstoneCollector::reap_locally(const StoreEntry& store, const std::string& key,
                                      uint64_t hash) {
  std::string data_key = encode_data_key(store.id, key);
  core_.with_key(data_key, [this, store = &store, key, hash, data_key]() {
    std::string raw;
    auto set = core_.read_local(*store, key, &raw);
    if (!core_.fence_.ok() || !set.ok() || raw.empty() || merkle_entry_hash(key, raw) != hash ||
        !set->all_tombstones()) {
      core_.release_key(data_key);  // changed since the check (or gone): keep what is there
      return;
    }
    core_.data_write_issued(*store, key, data_key, raw, nullptr);
    WriteBatch batch;
    batch.push_back({Column::data, data_key, {}, /*erase=*/true});
    core_.issue_write(std::move(batch), store->config.durability == Durability::sync,
                      [this, store, data_key](Status status) {
                        core_.data_write_done(*store, data_key, status.ok());
                        if (status.ok())
                          ++core_.stats_.tombstones_collected;
                        core_.release_key(data_key);
                      });
  });
}

void TombstoneCollector::tick(uint64_t now_ms) {
  if (core_.options_.tombstone_sweep_interval_ms == 0 || !core_.layout_ || now_ms < next_sweep_ms_)
    return;
  next_sweep_ms_ = now_ms + core_.options_.tombstone_sweep_interval_ms;
  core_errors::forget_expired(checks_, now_ms);
  if (!checks_.empty() || !core_.fence_.ok() || core_.target_ ||
      core_.rebalancer_.handing_over_any())
    return;
  if (core_.any_other_down(now_ms))
    return;  // it might hold a hint for any key
  const std::vector<NodeId>& others = core_.others_;
  uint32_t partition = 0;
  const StoreEntry* store = core_.next_swept_partition(store_cursor_, partition_cursor_, partition);
  if (store == nullptr)
    return;
  PendingReap pending;
  pending.store = store;
  const KeyRange range = partition_range(store->id, partition, core_.layout_->partition_bits());
  (void)core_.reads_.scan(
      Column::data, range.begin, range.end,
      [&](std::string_view data_key, std::string_view record) {
        auto decoded = decode_data_key(data_key);
        auto set = decode_record(record);
        if (!decoded || !set.ok() || !set->all_tombstones())
          return true;
        for (const Sibling& sibling : set->siblings()) {
          if (sibling.version->timestamp_ms + core_.options_.tombstone_grace_ms > now_ms)
            return true;  // within the grace period
        }
        pending.hashes.push_back(merkle_entry_hash(decoded->key, record));
        pending.keys.push_back(std::move(decoded->key));
        return pending.keys.size() < core_.options_.tombstone_batch_max;
      });
  for (size_t index = 0; index < pending.keys.size(); ++index) {
    pending.agreed.push_back(
        agrees_to_reap(store->name, pending.keys[index], pending.hashes[index]));
  }
  if (std::none_of(pending.agreed.begin(), pending.agreed.end(), [](bool b) { return b; }))
    return;
  core_.stats_.tombstone_checks += pending.keys.size();
  if (others.empty()) {
    for (size_t index = 0; index < pending.keys.size(); ++index) {
      if (pending.agreed[index])
        reap_locally(*store, pending.keys[index], pending.hashes[index]);
    }
    return;
  }
  const uint64_t op = core_.next_op();
  pending.waiting = others;
  pending.deadline = now_ms + core_.options_.request_timeout_ms;
  for (const NodeId& other : others)
    core_.send(other, TombstoneCheck{op, core_.spec_of(*store), pending.keys, pending.hashes});
  checks_.emplace(op, std::move(pending));
}

void TombstoneCollector::on_check(const NodeId& from, const TombstoneCheck& message) {
  TombstoneCheckReply out;
  out.op = message.op;
  for (size_t index = 0; index < message.keys.size(); ++index)
    out.agreed.push_back(
        agrees_to_reap(message.store.name, message.keys[index], message.hashes[index]));
  core_.send(from, std::move(out));
}

void TombstoneCollector::on_check_reply(const NodeId& from, const TombstoneCheckReply& message) {
  auto found = checks_.find(message.op);
  if (found == checks_.end())
    return;
  PendingReap& pending = found->second;
  if (!core_.fold_agreement(from, message.agreed, pending.waiting, pending.agreed) ||
      !pending.waiting.empty())
    return;
  TombstoneReap reap{core_.spec_of(*pending.store), {}, {}};
  for (size_t index = 0; index < pending.keys.size(); ++index) {
    if (!pending.agreed[index])
      continue;
    reap.keys.push_back(pending.keys[index]);
    reap.hashes.push_back(pending.hashes[index]);
    reap_locally(*pending.store, pending.keys[index], pending.hashes[index]);
  }
  if (!reap.keys.empty()) {
    for (const NodeId& other : core_.others_)
      core_.send(other, reap);
  }
  checks_.erase(found);
}

void TombstoneCollector::on_reap(const TombstoneReap& message) {
  const StoreEntry* store = core_.catalog_.find(message.store.name);
  if (store == nullptr || store->config != message.store.config)
    return;
  for (size_t index = 0; index < message.keys.size(); ++index)
    reap_locally(*store, message.keys[index], message.hashes[index]);
}

}  // namespace ringkv
