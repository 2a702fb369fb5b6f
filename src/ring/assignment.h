// Assignment: the next layout, computed from the previous one and a node table.
//
// Every node computes the same layout from the same inputs (docs/ARCHITECTURE.md, "Membership and
// rebalancing"): the node table is sorted by id first, and the algorithm uses only integer
// arithmetic and fixed orders, so the order the table was given in does not
// matter and the result is bit-for-bit reproducible.
//
// The algorithm, in the spirit of Riak's claim with its target_n_val:
//   1. Quotas (ring/quota.h): each active node's share of Q in proportion to
//      its capacity, within one partition, capped at ceil(Q/n) per node (a node
//      can appear once per window of n) and, when there are at least n zones,
//      at ceil(Q/n) per zone (each preference list holds one node per zone, so
//      no zone can carry more than 1/n of the replicas; nodes of a capped zone
//      share its quota). Leaving nodes get 0.
//   2. Placement aims at "regular windows": every n consecutive partitions on
//      distinct nodes, and their first min(n, zones) on distinct zones. Then the
//      preference list of p is the owners of p..p+n-1, and each node's replica
//      load is n × its partition count, so it is balanced too. (With fewer
//      zones than n, zone spreading is best effort: lists take distinct nodes.)
//   3. Minimal movement: a partition keeps its owner unless the owner is gone,
//      leaving, or over quota. Only partitions of over-quota (or gone) owners
//      move, each straight to an under-quota node, so the moves equal the lower
//      bound (sum of max(0, quota - previous count)) unless the window rules
//      leave no clean spot. Takers are chosen earliest-deadline-first
//      ((2·count + 1) / (2·quota), smallest first), which spreads each node's
//      partitions evenly around the ring; positions are visited in bit-reversed
//      order so a new node's partitions are spread too. A move is tried first
//      where it keeps node and zone windows clean, then node windows only, and
//      only then anywhere.
//   4. A new cluster (or one whose owners are all gone) is filled in ring order
//      with the same earliest-deadline rule.
//   5. Repair: a partition whose owner repeats a node (or, with at least n
//      zones, a zone) within n - 1 positions breaks preference lists; it is
//      swapped with another partition when both then break none. Swaps keep
//      every count, so quotas hold; a change may spend at most half the lower
//      bound again on them, so moves stay within 1.5 × the bound and an
//      unchanged table moves nothing. The scan is bounded (O(Q) tries).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "ring/balance.h"
#include "ring/layout.h"

namespace ringkv {

struct AssignmentPlan {
  Layout layout = Layout::empty(kPartitionBitsDefault);
  // Partitions whose owner id differs from the previous layout's (all Q for a
  // new cluster).
  uint32_t moved_partitions = 0;
  // Sum over the new nodes of max(0, quota - partitions held before): no
  // assignment that meets the quotas can move fewer.
  uint32_t moved_lower_bound = 0;
  std::vector<uint32_t> quotas;  // by node index of the new layout
  LayoutBalance balance;         // measured for the plan's replica count
  // The largest relative difference between a node's replica entries and
  // width × its quota, the load it would carry if every preference list were
  // the n partitions starting at its own: what placement adds to the error
  // of the quotas themselves (whole partitions, zone caps).
  double max_replica_quota_error = 0;
};

// Computes the layout that follows `previous` for the node table `nodes`
// (any order; ids unique) and `replica_count` = n. Q is the previous layout's
// (use Layout::empty(bits) for a new cluster); the version is previous + 1.
// Fails with invalid_argument for an invalid or duplicate node (named), no
// active node, or n outside 1..kReplicationMax.
Result<AssignmentPlan> plan_assignment(const Layout& previous, std::vector<RingNode> nodes,
                                       uint32_t replica_count);

// A change to a node table: nodes to add or to replace (same id: new
// capacity, zone or state), and ids to remove outright.
struct NodeTableChange {
  std::vector<RingNode> upsert;
  std::vector<std::string> remove;
};

// `nodes` with `change` applied, sorted by id. Fails with not_found when a
// removed id is not in the table and invalid_argument when an id is both
// upserted and removed or upserted twice.
Result<std::vector<RingNode>> apply_change(const std::vector<RingNode>& nodes,
                                           const NodeTableChange& change);

}  // namespace ringkv
