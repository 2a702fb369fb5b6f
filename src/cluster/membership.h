// Membership: the cluster state this node holds — members with their roles,
// the layout, the target data moves to — and every change to it: forming a
// cluster, admitting a member, merging a peer's state, an operator's change,
// the flip a rebalance ends with (membership.cpp; cluster_state.h has the
// merge rules).
//
// It is the only writer of the cluster view in the NodeContext (layout_,
// target_, members_, member_ids_, others_, the digests); the other
// components read it there. A state is persisted before it is adopted, so a
// restart never runs under a state it had not written.
//
// Invariants:
//   1. An adopted state is the merge of what this node held and what it
//      received: member versions and the layout version only grow.
//   2. A state is adopted only after its write completed (persist_and_adopt);
//      a failed write leaves the old state in place.
//   3. member_ids_ and others_ always match members_ and the layouts
//      (refresh()).
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/effects.h"
#include "cluster/messages.h"
#include "common/status.h"
#include "ring/layout.h"
#include "storage/store_catalog.h"

namespace ringkv {

class NodeCore;

class Membership {
 public:
  explicit Membership(NodeCore& core) : core_(core) {}
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;

  // The layout alone (NodeCore::set_layout: the simulator and tests).
  void set_layout(Layout layout);
  // NodeCore::adopt_cluster, form_cluster and change_cluster.
  void adopt(ClusterState state);
  void form(uint64_t now_ms, Member self, uint32_t partition_bits,
            std::optional<ApiToken> first_token);
  void change(uint64_t now_ms, RequestId request, const ClusterChange& change, bool dry_run);
  void on_join_request(const NodeId& from, JoinRequest message);
  // Merges a peer's state into ours (a join reply, a cluster update; a
  // delta as messages.h ClusterUpdate describes: a layout delta for another
  // base than ours, or giving another layout than it names, drops the update
  // and is counted in layout_deltas_refused).
  void merge_received(ClusterUpdate update);
  // An operator's token change: persisted, adopted and broadcast like any
  // state change; answered with a ClusterChangeDone. Refused: an id that
  // exists already, revoking an unknown or revoked token, and revoking the
  // last live admin token (nobody could administer the cluster again).
  void change_tokens(uint64_t now_ms, RequestId request, const TokenChange& change);
  // Writes `state`, then adopts it; `then` hears the write's outcome.
  void persist_and_adopt(ClusterState state, std::function<void(Status)> then);
  // Sends this node's whole state to every other member.
  void broadcast();
  // This node's whole state as a ClusterUpdate (it has a layout).
  ClusterUpdate update_message();
  // The same for `peer`, as the changes since the state and layout it last
  // gossiped (Gossiper::digests_of) when this node still holds those (the
  // current ones or the kKept before them) and that is smaller.
  ClusterUpdate update_message(const NodeId& peer);
  // digest64 of the current encoded layout (0: none).
  uint64_t layout_digest() const { return layout_digest_; }
  // States and layouts kept, besides the current ones, to send deltas from.
  static constexpr size_t kKept = 2;
  // Recomputes member_ids_ and others_ after the members or the layout changed.
  void refresh();

  ClusterState cluster_state() const;
  MemberRole role_of(const NodeId& node) const;
  // A removed member that has been down (believed down without a break) for
  // prune_delay_ms: it was removed dead, and no move waits for it any longer.
  // A removed node that is merely unreachable for a while (a congested or
  // partitioned network) is not gone: what it holds may be the only copy of
  // acknowledged writes, so its partitions wait for it to come back.
  bool gone(const NodeId& node, uint64_t now_ms) const;
  // A digest of the store names and configs this node knows (gossiped).
  uint64_t stores_digest() const;
  // The answer for a request naming a store this node does not have:
  // not_found once a peer agreed on the store names, else unavailable.
  Status store_missing(std::string_view name, uint64_t now_ms) const;

 private:
  // Merges `state` into ours and adopts the result when it differs.
  void merge_state(ClusterState state);
  // Applies an operator's change to `state` (member roles, capacities,
  // zones, under a new member version), or says why it is refused.
  Status apply_change(const ClusterChange& change, ClusterState& state) const;
  // A removed node that neither the layout nor the target names any more
  // may still hold data and hints it is handing over (see .cpp).
  bool may_still_hand_over(const NodeId& id) const;

  // Before the layout becomes `next`: keeps the current one (with its
  // digest) among the earlier ones, and encodes `next` (membership_updates.cpp).
  void keep_layout_before(const Layout& next);
  // Before a state is adopted: keeps the current members under the current
  // state digest (membership_updates.cpp).
  void keep_members_before();

  NodeCore& core_;
  std::string layout_bytes_;    // encode_layout(*core_.layout_)
  uint64_t layout_digest_ = 0;  // digest64(layout_bytes_)
  // The layouts before the current one (newest first), with their digests.
  std::vector<std::pair<uint64_t, Layout>> earlier_layouts_;
  // The members of the states before the current one (newest first), with
  // the states' digests.
  std::vector<std::pair<uint64_t, std::vector<Member>>> earlier_members_;
  // Deltas to the current layout, by their base's digest (built once per
  // base: every peer on one base gets the same).
  std::map<uint64_t, std::string> deltas_;
};

}  // namespace ringkv
