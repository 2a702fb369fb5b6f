// Recovery (recovery.h): the refill of a node whose data directory was lost
// ("safe rejoin").
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
#include "cluster/recovery.h"

#include <algorithm>

#include "cluster/node_core.h"

namespace ringkv {
namespace {

constexpr std::string_view kRecoveringKey = "node/recovering";

}  // namespace

void Recovery::load() {
  auto flag = core_.reads_.get(Column::meta, kRecoveringKey);
  active_ = flag.ok() && flag.value().has_value();
  checked_ = active_;
}

core_views::RecoveryView Recovery::view() const {
  core_views::RecoveryView out;
  out.recovering = active_;
  out.partitions_done = plan_.index;
  out.partitions_total = plan_.items.size();
  return out;
}

void Recovery::maybe_start() {
  if (checked_ || !core_.peer_state_seen_ || !core_.layout_)
    return;
  checked_ = true;
  // A new member is placed by a move, which streams its data to it; only a
  // member the layout already counts on has lost something.
  // (A joiner can be listed in the layout before any partition is its own:
  // what counts is a partition the committed layout gives it.)
  if (!core_.fresh_directory_ || !core_.layout_self_ ||
      core_.layout_->list_counts()[*core_.layout_self_] == 0)
    return;
  active_ = true;
  plan_ = Plan{};
  ++core_.stats_.recoveries_started;
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kRecoveringKey), "1"});
  core_.issue_write(std::move(batch), /*durable=*/true, [](Status) {});
}

void Recovery::tick(uint64_t now_ms) {
  if (!active_ || !core_.layout_)
    return;
  if (plan_.layout_version != core_.layout_->version() ||
      plan_.stores != core_.catalog_.list().size())
    plan();
  if (plan_.op != 0) {
    if (plan_.deadline > now_ms)
      return;
    core_.anti_entropy_.forget(plan_.op);  // the round was lost: ask again
    plan_.op = 0;
  }
  while (plan_.index < plan_.items.size()) {
    const auto [store, partition] = plan_.items[plan_.index];
    std::optional<NodeId> next;
    size_t reachable = 0;
    for (uint32_t index : core_.table_for(store->config.n).nodes(partition)) {
      const NodeId& id = core_.layout_->nodes()[index].id;
      if (core_.is_self(id) ||
          (core_.membership_.role_of(id) == MemberRole::removed && core_.is_down(id, now_ms)))
        continue;
      ++reachable;
      if (!next && !core_.is_down(id, now_ms) &&
          std::find(plan_.compared.begin(), plan_.compared.end(), id) == plan_.compared.end())
        next = id;
    }
    if (!next) {
      // Agreed with every other replica that is up. A strict store's write
      // is on w replicas, perhaps w - 1 besides this one: any n - w + 1 of
      // the others include one of those. Fewer: wait for one to come back.
      if (plan_.compared.size() < replicas_to_compare(store->config, reachable))
        return;
      ++plan_.index;
      plan_.compared.clear();
      continue;
    }
    const NodeId peer = *next;
    plan_.peer = peer;
    plan_.op = core_.next_op();
    plan_.deadline = now_ms + core_.options_.request_timeout_ms;
    core_.anti_entropy_.start_round(plan_.op, *store, partition, peer, plan_.deadline,
                                    core_ops::AePurpose::recovery);
    return;
  }
  finish(now_ms);
}

void Recovery::plan() {
  // Every (store, partition) this node replicates now. A layout change
  // restarts the sweep; merges already made stay.
  plan_ = Plan{};
  plan_.layout_version = core_.layout_->version();
  plan_.stores = core_.catalog_.list().size();
  for (const StoreEntry* store : core_.catalog_.list()) {
    for (uint32_t partition = 0; partition < core_.layout_->partition_count(); ++partition) {
      if (core_.rebalancer_.replicates(*store, partition, /*in_target=*/false))
        plan_.items.emplace_back(store, partition);
    }
  }
}

void Recovery::finish(uint64_t now_ms) {
  // Every partition agreed with every replica that was up. Done once this
  // node also knows every store its peers know (a wiped node learns them by
  // gossip; a store it has not heard of yet was not refilled).
  bool heard_any = false;
  for (const NodeId& other : core_.others_) {
    if (core_.is_down(other, now_ms))
      continue;
    if (!core_.gossiper_.agrees_on_stores(other))
      return;
    heard_any = true;
  }
  if (!heard_any)
    return;
  active_ = false;
  ++core_.stats_.recoveries_done;
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kRecoveringKey), "", /*erase=*/true});
  core_.issue_write(std::move(batch), /*durable=*/true, [](Status) {});
}

void Recovery::compared(uint64_t op, bool in_sync) {
  if (op != plan_.op)
    return;
  plan_.op = 0;
  if (in_sync)
    plan_.compared.push_back(plan_.peer);
  // Not in sync: the round merged what differed; another round with the
  // same replica follows (at once, not at the next tick).
  tick(core_.now_ms_);
}

}  // namespace ringkv
