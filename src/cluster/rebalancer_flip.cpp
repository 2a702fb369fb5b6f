// Rebalancer (rebalancer.h), steps 3 and 4 (rebalancer.cpp has the whole
// story): a receiver's copy is verified against current replicas by Merkle
// comparison, and once every receiver is ready the target becomes the layout
// (the flip).
#include <algorithm>

#include "cluster/node_core.h"

namespace ringkv {

std::optional<NodeId> Rebalancer::next_to_verify(const Transfer& transfer, uint64_t now_ms) {
  for (uint32_t index : core_.table_for(transfer.store->config.n).nodes(transfer.partition)) {
    const NodeId& id = core_.layout_->nodes()[index].id;
    if (!core_.is_self(id) && !core_.is_down(id, now_ms) &&
        std::find(transfer.verified.begin(), transfer.verified.end(), id) ==
            transfer.verified.end())
      return id;
  }
  return std::nullopt;
}

size_t Rebalancer::verifications_needed(const Transfer& transfer, uint64_t now_ms) {
  // A strict store's write acknowledged before every node knew the target
  // may be on w current replicas alone; any n - w + 1 of them include one of
  // those, so a copy compared with that many holds every such write (and the
  // joint quorum covers the writes after). A sloppy store's move does not
  // wait for a replica that is down: what it holds comes back by hinted
  // handoff and by the drop's handover once it returns. A removed node that
  // is gone (down for prune_delay_ms) is not waited for: it was removed
  // dead. One that is down for less may be unreachable only for a while and
  // hold writes acknowledged on w replicas: it still counts.
  // A node that stays in a shrinking list counts itself.
  size_t reachable = 0;
  for (uint32_t index : core_.table_for(transfer.store->config.n).nodes(transfer.partition)) {
    const NodeId& id = core_.layout_->nodes()[index].id;
    if (!core_.membership_.gone(id, now_ms))
      ++reachable;
  }
  return replicas_to_compare(transfer.store->config, reachable) - (transfer.stays ? 1 : 0);
}

void Rebalancer::transfer_compared(const PendingAe& pending, uint64_t op, bool in_sync) {
  auto it = transfers_.find({pending.store->id, pending.partition});
  if (it == transfers_.end() || it->second.op != op ||
      it->second.phase != Transfer::Phase::verifying)
    return;
  Transfer& transfer = it->second;
  if (in_sync) {
    // In sync with this replica; on to the next (run_transfers finishes it).
    if (std::find(transfer.verified.begin(), transfer.verified.end(), pending.peer) ==
        transfer.verified.end())
      transfer.verified.push_back(pending.peer);
    transfer.phase = Transfer::Phase::pending;
    transfer.next_at = core_.now_ms_;
    run_transfers(core_.now_ms_);
  } else {
    transfer.phase = Transfer::Phase::pending;  // synced some: compare again
    transfer.next_at = core_.now_ms_ + core_.options_.rebalance_interval_ms;
  }
}

bool Rebalancer::knows_target(const NodeId& id) const {
  if (core_.is_self(id))
    return true;
  const Heartbeat* heard = core_.gossiper_.heartbeat_of(id);
  return heard != nullptr && heard->target == core_.target_digest_;
}

bool Rebalancer::all_know_target(uint64_t now_ms) const {
  // Every node that stays must know the target, down or not: from then on
  // every coordinator writes to both replica sets (a strict store waits for
  // both), so what the copies were verified against cannot miss a write. A
  // removed node blocks nothing while down (a dead node's removal), but
  // while up it still coordinates: it must know too.
  for (const Layout* layout : {&*core_.layout_, &*core_.target_}) {
    for (const RingNode& node : layout->nodes()) {
      const bool removed = core_.membership_.role_of(node.id) == MemberRole::removed;
      if (!knows_target(node.id) && !(removed && core_.is_down(node.id, now_ms)))
        return false;
    }
  }
  return true;
}

void Rebalancer::maybe_flip(uint64_t now_ms) {
  if (flipping_ || core_.members_.empty() || !all_know_target(now_ms))
    return;
  // Its receipts cover only the stores it knows: one that has not learned
  // every store a peer has (a node that just started, say) would flip
  // before the new replicas of the others hold their data.
  for (const NodeId& other : core_.others_) {
    if (!core_.is_down(other, now_ms) && !core_.gossiper_.agrees_on_stores(other))
      return;
  }
  const uint64_t ready = expected_ready();
  if (ready_ != ready && receivers_.count(core_.options_.self) != 0)
    return;
  for (const NodeId& receiver : receivers_) {
    if (core_.is_self(receiver))
      continue;
    const Heartbeat* heard = core_.gossiper_.heartbeat_of(receiver);
    if (heard == nullptr || heard->ready != ready)
      return;  // it does not hold its copies yet
  }
  ClusterState next = core_.membership_.cluster_state();
  next.layout = *core_.target_;
  flipping_ = true;
  ++core_.stats_.layout_flips;
  core_.membership_.persist_and_adopt(std::move(next), [this](Status status) {
    flipping_ = false;
    if (status.ok())
      core_.membership_.broadcast();
  });
}

}  // namespace ringkv
