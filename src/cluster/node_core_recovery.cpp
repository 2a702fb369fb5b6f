// Recovery of a node whose data directory was lost ("safe rejoin").
//
// A node that starts from an empty directory under the id of a member the
// layout already places data on has lost that data (a new disk, a wiped
// directory). Its new actor keeps its dots apart from the old ones
// (NodeIdentity), but its copies are empty: counted toward a read quorum it
// would answer "not found" for acknowledged keys, and with a second such
// node, half of them did. So until it has been refilled it is *recovering*:
//
//   - it answers replica reads with `unavailable` (the coordinator counts
//     another replica instead) and does not count its own copy when it
//     coordinates a get;
//   - it stores writes as usual: a write it acknowledges is durable on it,
//     and a quorum that counts it still meets every read quorum, because
//     reads are served by the other n - 1 replicas only (w - 1 + r > n - 1);
//   - it takes each (store, partition) it replicates in turn and runs
//     Merkle anti-entropy rounds with every other replica of it that is up
//     until their roots agree (the rounds merge, never overwrite); for a
//     strict store with at least n - w + 1 of them, which include a holder
//     of every acknowledged write (it waits for replicas to come back);
//   - when every one agreed, it serves reads again. The state is persisted
//     (meta "node/recovering"), so a crash during recovery resumes it.
//
// A partition whose other replicas are all down waits for them (an n = 1
// partition has nobody to recover from and is skipped: its data is gone).
// See node_core.h.
#include <algorithm>

#include "cluster/node_core.h"

namespace ringkv {
namespace {

constexpr std::string_view kRecoveringKey = "node/recovering";

}  // namespace

void NodeCore::load_recovery() {
  auto flag = reads_.get(Column::meta, kRecoveringKey);
  recovering_ = flag.ok() && flag.value().has_value();
  recovery_checked_ = recovering_;
}

NodeCore::RecoveryView NodeCore::recovery_view() const {
  RecoveryView out;
  out.recovering = recovering_;
  out.partitions_done = recovery_.index;
  out.partitions_total = recovery_.items.size();
  return out;
}

void NodeCore::maybe_start_recovery() {
  if (recovery_checked_ || !peer_state_seen_ || !layout_)
    return;
  recovery_checked_ = true;
  // A new member is placed by a move, which streams its data to it; only a
  // member the layout already counts on has lost something.
  // (A joiner can be listed in the layout before any partition is its own:
  // what counts is a partition the committed layout gives it.)
  if (!fresh_directory_ || !layout_self_ || layout_->partition_counts()[*layout_self_] == 0)
    return;
  recovering_ = true;
  recovery_ = Recovery{};
  ++stats_.recoveries_started;
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kRecoveringKey), "1"});
  issue_write(std::move(batch), /*durable=*/true, [](Status) {});
}

void NodeCore::recovery_tick(uint64_t now_ms) {
  if (!recovering_ || !layout_)
    return;
  if (recovery_.layout_version != layout_->version() || recovery_.stores != catalog_.list().size())
    plan_recovery();
  if (recovery_.op != 0) {
    if (recovery_.deadline > now_ms)
      return;
    anti_entropy_.forget(recovery_.op);  // the round was lost: ask again
    recovery_.op = 0;
  }
  while (recovery_.index < recovery_.items.size()) {
    const auto [store, partition] = recovery_.items[recovery_.index];
    std::optional<NodeId> next;
    size_t reachable = 0;
    for (uint32_t index : table_for(store->config.n).nodes(partition)) {
      const NodeId& id = layout_->nodes()[index].id;
      if (is_self(id) || (role_of(id) == MemberRole::removed && is_down(id, now_ms)))
        continue;
      ++reachable;
      if (!next && !is_down(id, now_ms) &&
          std::find(recovery_.compared.begin(), recovery_.compared.end(), id) ==
              recovery_.compared.end())
        next = id;
    }
    if (!next) {
      // Agreed with every other replica that is up. A strict store's write
      // is on w replicas, perhaps w - 1 besides this one: any n - w + 1 of
      // the others include one of those. Fewer: wait for one to come back.
      if (recovery_.compared.size() < replicas_to_compare(store->config, reachable))
        return;
      ++recovery_.index;
      recovery_.compared.clear();
      continue;
    }
    const NodeId peer = *next;
    recovery_.peer = peer;
    recovery_.op = next_op();
    recovery_.deadline = now_ms + options_.request_timeout_ms;
    anti_entropy_.start_round(recovery_.op, *store, partition, peer, recovery_.deadline,
                              AePurpose::recovery);
    return;
  }
  finish_recovery(now_ms);
}

void NodeCore::plan_recovery() {
  // Every (store, partition) this node replicates now. A layout change
  // restarts the sweep; merges already made stay.
  recovery_ = Recovery{};
  recovery_.layout_version = layout_->version();
  recovery_.stores = catalog_.list().size();
  for (const StoreEntry* store : catalog_.list()) {
    for (uint32_t partition = 0; partition < layout_->partition_count(); ++partition) {
      if (rebalancer_.replicates(*store, partition, /*in_target=*/false))
        recovery_.items.emplace_back(store, partition);
    }
  }
}

void NodeCore::finish_recovery(uint64_t now_ms) {
  // Every partition agreed with every replica that was up. Done once this
  // node also knows every store its peers know (a wiped node learns them by
  // gossip; a store it has not heard of yet was not refilled).
  bool heard_any = false;
  for (const NodeId& other : others_) {
    if (is_down(other, now_ms))
      continue;
    auto heard = peer_stores_digest_.find(other);
    if (heard == peer_stores_digest_.end() || heard->second != stores_digest())
      return;
    heard_any = true;
  }
  if (!heard_any)
    return;
  recovering_ = false;
  ++stats_.recoveries_done;
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kRecoveringKey), "", /*erase=*/true});
  issue_write(std::move(batch), /*durable=*/true, [](Status) {});
}

void NodeCore::recovery_compared(uint64_t op, bool in_sync) {
  if (op != recovery_.op)
    return;
  recovery_.op = 0;
  if (in_sync)
    recovery_.compared.push_back(recovery_.peer);
  // Not in sync: the round merged what differed; another round with the
  // same replica follows (at once, not at the next tick).
  recovery_tick(now_ms_);
}

}  // namespace ringkv
