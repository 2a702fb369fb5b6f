// The node core's counts and views for status: records and bytes per store,
// the partitions this node replicates, and the rebalancing view that
// GET /v1/cluster shows (transfers, what a finished change still leaves
// here, under-replicated partitions, every node's progress). See
// node_core.h.

#include <algorithm>
#include <set>

#include "cluster/node_core.h"
#include "storage/data_key.h"

namespace ringkv {

// ---- counts and views ----

void NodeCore::load_counts() {
  if (counts_loaded_)
    return;
  counts_loaded_ = true;
  data_keys_ = 0;
  data_bytes_ = 0;
  (void)reads_.scan(Column::data, "", "", [&](std::string_view key, std::string_view value) {
    ++data_keys_;
    data_bytes_ += key.size() + value.size();
    return true;
  });
}

NodeCore::Counts NodeCore::store_counts(const StoreEntry& store) {
  Counts out;
  const KeyRange range = store_range(store.id);
  (void)reads_.scan(Column::data, range.begin, range.end,
                    [&](std::string_view key, std::string_view value) {
                      ++out.keys;
                      out.bytes += key.size() + value.size();
                      return true;
                    });
  return out;
}

uint64_t NodeCore::replicated_partitions() {
  uint64_t count = 0;
  if (!layout_)
    return 0;
  for (const StoreEntry* store : catalog_.list()) {
    for (uint32_t partition = 0; partition < layout_->partition_count(); ++partition)
      count += replicates(*store, partition, false) ? 1 : 0;
  }
  return count;
}

NodeCore::RebalanceView NodeCore::rebalance_view(uint64_t now_ms) {
  RebalanceView view;
  if (!layout_)
    return view;
  view.layout_version = layout_->version();
  view.target_version = target_ ? target_->version() : 0;
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
  load_counts();
  // The source's size is not known here: partitions are about equal, so a
  // partition this node replicates is the estimate for each one left.
  const uint64_t partitions = replicated_partitions();
  view.bytes_left = unstreamed * (partitions == 0 ? 0 : data_bytes_ / partitions);
  for (const StoreEntry* store : catalog_.list()) {
    const PreferenceTable& table = table_for(store->config.n);
    for (uint32_t partition = 0; partition < layout_->partition_count(); ++partition) {
      if (!replicates(*store, partition, false) &&
          !(target_ && replicates(*store, partition, true)) && has_data(*store, partition))
        ++view.drops_pending;
      for (uint32_t index : table.nodes(partition)) {
        if (is_down(layout_->nodes()[index].id, now_ms)) {
          view.under_replicated.push_back({store->name, partition});
          break;
        }
      }
    }
  }
  for (const auto& [target, totals] : hints_) {
    if (!is_self(target) && (!is_member(target) || role_of(target) == MemberRole::removed))
      view.hints_for_leavers += totals.count;
  }
  const uint64_t ready = expected_ready();
  std::set<NodeId> ids(member_ids_.begin(), member_ids_.end());
  for (const RingNode& node : layout_->nodes())
    ids.insert(node.id);
  for (const NodeId& id : ids) {
    NodeView node;
    node.id = id;
    if (is_self(id)) {
      node.partitions = partitions;
      node.keys = data_keys_;
      node.bytes = data_bytes_;
      node.ready = target_ && (receivers_.count(id) == 0 || ready_ == ready);
      node.moves_total = transfers_.size();
      node.moves_done = view.done;
      node.moved_bytes = moved_bytes_;
    } else if (auto heard = heartbeats_.find(id); heard != heartbeats_.end()) {
      node.partitions = heard->second.partitions;
      node.keys = heard->second.keys;
      node.bytes = heard->second.bytes;
      node.ready = target_ && (receivers_.count(id) == 0 || heard->second.ready == ready);
      if (target_ && heard->second.target == target_digest_) {
        node.moves_total = heard->second.moves_total;
        node.moves_done = heard->second.moves_done;
        node.moved_bytes = heard->second.moved_bytes;
      }
    }
    view.nodes.push_back(std::move(node));
  }
  return view;
}

}  // namespace ringkv
