// Rebalancer (rebalancer.h): the rebalancing view that GET /v1/cluster shows
// (transfers, what a finished change still leaves here, under-replicated
// partitions, every node's progress).
#include <algorithm>
#include <set>

#include "cluster/node_core.h"

namespace ringkv {

core_views::RebalanceView Rebalancer::view(uint64_t now_ms) {
  RebalanceView view;
  if (!core_.layout_)
    return view;
  view.layout_version = core_.layout_->version();
  view.target_version = core_.target_ ? core_.target_->version() : 0;
  view.rate_bytes_per_sec = transfer_rate();
  view.rate_ceiling_bytes_per_sec = core_.options_.transfer_bytes_per_sec;
  uint64_t unstreamed = 0;
  for (const auto& [key, transfer] : transfers_) {
    switch (transfer.phase) {
      case Transfer::Phase::pending:
        ++view.pending;
        break;
      case Transfer::Phase::done:
        ++view.done;
        break;
      default:
        ++view.active;
    }
    if (transfer.phase != Transfer::Phase::done && !transfer.streamed)
      ++unstreamed;
  }
  // The source's size is not known here: partitions are about equal, so a
  // partition this node replicates is the estimate for each one left.
  const uint64_t partitions = core_.replicated_partitions();
  view.bytes_left = unstreamed * (partitions == 0 ? 0 : core_.data_bytes_ / partitions);
  for (const StoreEntry* store : core_.catalog_.list()) {
    const PreferenceTable& table = core_.table_for(store->config.n);
    for (uint32_t partition = 0; partition < core_.layout_->partition_count(); ++partition) {
      if (!replicates(*store, partition, false) &&
          !(core_.target_ && replicates(*store, partition, true)) && has_data(*store, partition))
        ++view.drops_pending;
      for (uint32_t index : table.nodes(partition)) {
        if (core_.is_down(core_.layout_->nodes()[index].id, now_ms)) {
          view.under_replicated.push_back({store->name, partition});
          break;
        }
      }
    }
  }
  for (const auto& [target, totals] : core_.handoff_.totals()) {
    if (!core_.is_self(target) &&
        (!core_.is_member(target) || core_.membership_.role_of(target) == MemberRole::removed))
      view.hints_for_leavers += totals.count;
  }
  const uint64_t ready = expected_ready();
  std::set<NodeId> ids(core_.member_ids_.begin(), core_.member_ids_.end());
  for (const RingNode& node : core_.layout_->nodes())
    ids.insert(node.id);
  for (const NodeId& id : ids) {
    NodeView node;
    node.id = id;
    if (core_.is_self(id)) {
      node.partitions = partitions;
      node.keys = core_.data_keys_;
      node.bytes = core_.data_bytes_;
      node.ready = core_.target_ && (receivers_.count(id) == 0 || ready_ == ready);
      node.moves_total = transfers_.size();
      node.moves_done = view.done;
      node.moved_bytes = moved_bytes_;
    } else if (const Heartbeat* heard = core_.gossiper_.heartbeat_of(id)) {
      node.partitions = heard->partitions;
      node.keys = heard->keys;
      node.bytes = heard->bytes;
      node.ready = core_.target_ && (receivers_.count(id) == 0 || heard->ready == ready);
      if (core_.target_ && heard->target == core_.target_digest_) {
        node.moves_total = heard->moves_total;
        node.moves_done = heard->moves_done;
        node.moved_bytes = heard->moved_bytes;
      }
    }
    view.nodes.push_back(std::move(node));
  }
  return view;
}

}  // namespace ringkv
