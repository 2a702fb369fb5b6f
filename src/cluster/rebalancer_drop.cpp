// Rebalancer (rebalancer.h): the drop of what moved away (step 5 of rebalancer.cpp):
// a node holding data of a (store, partition) it replicates neither in the
// layout nor in the target waits drop_grace_ms after the layout changed,
// refuses new writes to it, hands it over once more to every current
// replica (Merkle rounds whose sync the owner answers only once merged
// durably, resending only leaves the owner has not merged) and deletes the
// partition with one range delete.

#include <algorithm>

#include "cluster/node_core.h"
#include "common/md5.h"
#include "storage/data_key.h"

namespace ringkv {
namespace {

// (store, partition)s the drop sweep looks at per tick.
constexpr uint32_t kDropChecksPerTick = 16;

}  // namespace

// ---- dropping what moved away ----

bool Rebalancer::has_data(const StoreEntry& store, uint32_t partition) {
  const KeyRange range = partition_range(store.id, partition, core_.layout_->partition_bits());
  bool any = false;
  (void)core_.reads_.scan(Column::data, range.begin, range.end,
                          [&](std::string_view, std::string_view) {
                            any = true;
                            return false;
                          });
  return any;
}

bool Rebalancer::wanted_here(const StoreEntry& store, uint32_t partition) {
  return replicates(store, partition, false) ||
         (core_.target_ && replicates(store, partition, true));
}

bool Rebalancer::handing_over(const StoreEntry& store, std::string_view key) const {
  return handover_ && handover_->store == &store && core_.layout_ &&
         partition_of(md5(key), core_.layout_->partition_bits()) == handover_->partition;
}

void Rebalancer::drop_tick(uint64_t now_ms) {
  if (handover_ && handover_->deadline != UINT64_MAX &&
      handover_->layout_version != core_.layout_->version()) {
    // The owners changed since this handover began (a flip, a dead node's
    // removal): plan it again from the current layout instead of asking an
    // owner that may be gone for good (a handover to a removed node retried
    // forever, and the partition was never dropped).
    core_.anti_entropy_.forget(handover_->op);
    handover_.reset();
  }
  if (handover_ && handover_->deadline != UINT64_MAX &&
      wanted_here(*handover_->store, handover_->partition)) {
    // A new target gives the partition back to this node: keep it.
    core_.anti_entropy_.forget(handover_->op);
    handover_.reset();
  }
  if (handover_) {
    if (handover_->deadline <= now_ms)
      handover_step(now_ms, /*owner_done=*/false);  // try that owner again
    return;
  }
  if (now_ms < core_.layout_since_ms_ + core_.options_.drop_grace_ms)
    return;
  const std::vector<const StoreEntry*> stores = core_.catalog_.list();
  if (stores.empty())
    return;
  const uint32_t partitions = core_.layout_->partition_count();
  for (uint32_t tries = 0; tries < kDropChecksPerTick; ++tries) {
    const StoreEntry* store = stores[drop_store_cursor_ % stores.size()];
    const uint32_t partition = drop_partition_cursor_ % partitions;
    if (++drop_partition_cursor_ >= partitions) {
      drop_partition_cursor_ = 0;
      ++drop_store_cursor_;
    }
    if (wanted_here(*store, partition))
      continue;
    if (!has_data(*store, partition))
      continue;
    Handover handover;
    handover.store = store;
    handover.partition = partition;
    handover.layout_version = core_.layout_->version();
    for (uint32_t index : core_.table_for(store->config.n).nodes(partition)) {
      const NodeId& id = core_.layout_->nodes()[index].id;
      if (core_.is_down(id, now_ms))
        return;  // an owner is down: it could not take the handover; later
      handover.owners.push_back(id);
    }
    if (handover.owners.empty())
      return;
    handover_ = std::move(handover);
    handover_step(now_ms, /*owner_done=*/false);
    return;
  }
}

void Rebalancer::handover_step(uint64_t now_ms, bool owner_done) {
  Handover& handover = *handover_;
  if (owner_done) {
    handover.owners.erase(handover.owners.begin());
    handover.synced.clear();  // the next owner has merged none of it
  }
  handover.sending.clear();
  if (!handover.owners.empty()) {
    const NodeId& owner = handover.owners.front();
    if (core_.is_down(owner, now_ms)) {
      handover_.reset();  // try again when every owner is up
      return;
    }
    const MerkleTree& tree = core_.tree_for(*handover.store, handover.partition);
    if (core_.merkle_.unreadable(tree)) {
      handover_.reset();  // this node cannot read what it would hand over: later
      return;
    }
    handover.op = core_.next_op();
    handover.deadline = now_ms + core_.options_.request_timeout_ms;
    core_.anti_entropy_.start_round(handover.op, *handover.store, handover.partition, owner,
                                    handover.deadline, AePurpose::handover);
    return;
  }
  // Every owner holds what we hold: one range delete. Writes to the
  // partition are refused until it completes (handing_over).
  const StoreEntry& store = *handover.store;
  const uint32_t partition = handover.partition;
  if (wanted_here(store, partition)) {
    handover_.reset();  // a target that came meanwhile gives it back: keep it
    return;
  }
  const KeyRange range = partition_range(store.id, partition, core_.layout_->partition_bits());
  WriteBatch batch;
  uint64_t keys = 0, bytes = 0;
  (void)core_.reads_.scan(Column::data, range.begin, range.end,
                          [&](std::string_view data_key, std::string_view record) {
                            if (core_.counted(data_key)) {  // what the counts hold
                              ++keys;
                              bytes += data_key.size() + record.size();
                            }
                            if (range.end.empty())
                              batch.push_back({Column::data, std::string(data_key), "", true});
                            return true;
                          });
  if (!range.end.empty())
    batch.push_back({Column::data, range.begin, range.end, /*erase=*/true});
  // The actor stays: this node numbers a dot for a key only while it
  // replicates the key in its own layout, and it becomes a replica again
  // only through a flip after it streamed and verified the partition, which
  // brings back each key's record with this actor's entry (a DVV set keeps an
  // actor's counter even when all its versions are superseded). Taking a new
  // actor per dropped partition grew every hot key's clock by one entry per
  // drop (hundreds per join) until puts were refused.
  handover.deadline = UINT64_MAX;
  core_.issue_write(std::move(batch), /*durable=*/true,
                    [this, store = &store, partition, keys, bytes](Status status) {
                      if (status.ok()) {
                        // A target that came while the delete was on its way may
                        // have streamed into the partition: that copy is gone.
                        restart_transfer(store->id, partition);
                        core_.merkle_.forget(store->id, partition);
                        ++core_.stats_.partitions_dropped;
                        core_.data_keys_ -= std::min(core_.data_keys_, keys);
                        core_.data_bytes_ -= std::min(core_.data_bytes_, bytes);
                      }
                      handover_.reset();
                    });
}

void Rebalancer::handover_compared(const PendingAe& pending, uint64_t op, bool complete) {
  if (!handover_ || handover_->op != op || handover_->store != pending.store ||
      handover_->partition != pending.partition)
    return;
  // The round ended with the owner's durable merge of the leaves it sent.
  for (const auto& [leaf, hash] : handover_->sending)
    handover_->synced[leaf] = hash;
  if (complete)
    handover_step(core_.now_ms_, /*owner_done=*/true);
  else
    handover_step(core_.now_ms_, /*owner_done=*/false);  // more leaves differ: another round
}

}  // namespace ringkv
