// Assignment: the next layout, computed from the previous one and a node table.
//
// Every node computes the same layout from the same inputs (docs/ARCHITECTURE.md, "Membership and
// rebalancing"): the node table is sorted by id first, and the planner uses only integer
// arithmetic and fixed orders, so the order the table was given in does not
// matter and the result is bit-for-bit reproducible.
//
// The layout's lists are planned by ring/replica_lists.h, `replica_count`
// (the width) entries per partition: each column apportioned by capacity
// (zones first while entries must be in distinct zones), every entry still
// within its node's quota kept, only the holes refilled. So every n up to the
// width is balanced, and a change moves close to the lower bound (exactly it
// where the zones outnumber the width).
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
  // Replicas among the first n = width entries of the lists ((partition,
  // node) pairs) that the previous layout did not have: what a store with
  // n = width copies (all Q·width for a new cluster).
  uint64_t moved_replicas = 0;
  // The sum over nodes of max(0, quota - replicas held before): no layout
  // that meets the quotas moves fewer.
  uint64_t moved_lower_bound = 0;
  // [n - 1]: the same two for a store with n = 1..width.
  std::vector<uint64_t> moved_by_n;
  std::vector<uint64_t> moved_lower_bound_by_n;
  // By node index of the new layout: its quota of entries among the first
  // width entries of all lists.
  std::vector<uint32_t> quotas;
  LayoutBalance balance;  // measured for the plan's width
  // The largest relative difference between a node's entries and its quota:
  // what placement adds to the error of the quotas themselves (whole
  // entries, node and zone caps). 0 unless the planner could not meet a quota.
  double max_replica_quota_error = 0;
  // Lists repeating a zone, entries above a quota: 0 unless the table leaves
  // no other way (replica_lists.h).
  uint32_t zone_repeats = 0;
  uint32_t over_quota = 0;
};

// Computes the layout that follows `previous` for the node table `nodes`
// (any order; ids unique) with lists `replica_count` wide (clamped to the
// active nodes). Q is the previous layout's
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
