// Replica lists: every partition's preference list written out, planned so that
// every prefix of the lists is balanced by capacity.
//
// A layout of replica lists gives each of the Q partitions an ordered list of
// `width` distinct nodes; a store with n replicas uses the first n entries.
// Unlike the ring walk over partition owners of layout format 1
// (ring/ring_walk.h), where a list is
// whatever owners follow a partition, the lists here are chosen one entry at a
// time, so a change moves only the entries it must and every node's share
// stays proportional to its capacity for every n at once:
//
//   1. Quotas by column. Column j (the (j+1)-th entry of every list) is Q
//      entries shared among active nodes in proportion to capacity
//      (largest-remainder apportionment, ring/quota.h), each node capped at
//      the lists it is not yet in (a node appears once per list). While
//      j < min(width, zones), entries of a list are in distinct zones, so a
//      zone is capped at the lists it is not yet in too: zones are apportioned
//      first, then nodes within their zone. The sum of columns 0..k-1 is a
//      node's quota for a store with n = k: within k entries of its exact
//      capacity share, except where a node or zone is capped (a node can hold
//      at most Q entries of n·Q, a zone too when there are at least n zones).
//   2. Two placements from the previous lists, the better kept (fewer rules
//      missed, then fewer replicas moved summed over every n):
//      a. Column by column: an entry stays unless its node is gone, leaving,
//         repeats a node (or zone) of an earlier column of its list, or is
//         over its quota; only those become holes. A hole is filled first
//         from the list's own previous nodes (a swap of positions copies no
//         data for stores with larger n), then by the under-quota node
//         earliest by deadline (ring/placement.h) that fits the list. A hole
//         where no under-quota node fits is fixed by a breadth-first chain of
//         exchanges with other lists; only when that fails too does a list
//         repeat a zone, or a node exceed its quota (counted, never silent).
//         Exact where the zones outnumber the width.
//      b. Sets first: which nodes each list holds, against the quotas for
//         n = width (a node over quota gives up entries of the columns where
//         it is over first, each reserving an under-quota replacement that
//         fits), then each set's order column by column, as many "free"
//         picks (a node that was within the first j + 1 entries of the list
//         before) as the column quotas allow, chains of re-picks when a list
//         is stuck. Exact for n = width where zones and width are equal.
//   3. Moves per n are counted against the previous lists, and so is the
//      lower bound: the sum over nodes of what their quota for that n exceeds
//      what they held among the first n entries before, raised where the zone
//      rule forces exchanges (ring/move_bound.h).
//
// Known limits:
//   - A node or zone with more than 1/n of the capacity must be in every
//     list; the earlier columns can then leave lists that cannot take what
//     the last column needs. The plan counts zone repeats or entries above a
//     quota instead of failing. Rarely (about one random table in 4,000)
//     this happens without a cap too.
//   - With the width above the zone count, a join moves 1.5x the lower bound
//     for n = 3 (four zones, width 5): the nesting forces zone swaps between
//     columns. Random change sequences in the property tests reach ~1.6x.
//   - On random tables of about 4 partitions per node a change's lower bound
//     is a handful of entries and chains of exchanges weigh a lot: 1.1-1.3x
//     on average, up to ~4x (bench/ring_stats.cpp).
//
// Deterministic: integer quotas, fixed visiting orders (bit-reversed partition
// order), ties broken by node index; planning a table again from its own
// result keeps every entry when that result met every rule (a plan with zone
// repeats or entries above a quota may change again: the property tests
// check stability only for plans that report none).
#pragma once

#include <cstdint>
#include <vector>

#include "ring/layout.h"

namespace ringkv {

inline constexpr uint32_t kReplicaListHole = UINT32_MAX;

struct ReplicaListPlan {
  uint32_t width = 0;
  std::vector<uint32_t> entries;  // Q × width node indexes, partition-major
  // [k - 1][node]: the entries the node should hold among the first k of all
  // lists, i.e. its quota for a store with n = k.
  std::vector<std::vector<uint32_t>> prefix_quotas;
  // [k - 1]: (partition, node) pairs among the first k entries that were not
  // there before: the replicas a store with n = k copies.
  std::vector<uint64_t> moved;
  // [k - 1]: at least the sum over nodes of max(0, quota - held before among
  // the first k entries), more where the zone rule forces exchanges
  // (ring/move_bound.h): no plan that meets the quotas moves fewer.
  std::vector<uint64_t> moved_lower_bound;
  // Lists whose first min(width, zones) entries repeat a zone, and entries
  // placed beyond a node's quota because nothing else fitted: 0 unless the
  // table leaves no other way.
  uint32_t zone_repeats = 0;
  uint32_t over_quota = 0;
};

// Plans the lists for `nodes` (sorted by id, valid, at least one active) from
// the previous plan: `previous_nodes` (its table) and `previous_entries`
// (Q × previous_width of its node indexes; empty for a new cluster). The width
// is min(width, active nodes). REQUIRES: 1 <= width <= kReplicationMax.
ReplicaListPlan plan_replica_lists(uint32_t partition_bits, uint32_t width,
                                   const std::vector<RingNode>& nodes,
                                   const std::vector<RingNode>& previous_nodes,
                                   const std::vector<uint32_t>& previous_entries,
                                   uint32_t previous_width);

struct ListBalance {
  // [k - 1][node]: entries among the first k of all lists.
  std::vector<std::vector<uint32_t>> entries;
  // [k - 1]: the largest relative difference between an active node's share
  // of the first k entries of all lists and its capacity share.
  std::vector<double> max_capacity_error;
  // [k - 1]: the same against its quota (what placement adds to the quotas).
  std::vector<double> max_quota_error;
};

ListBalance measure_list_balance(const std::vector<RingNode>& nodes, uint32_t partition_count,
                                 const ReplicaListPlan& plan);

}  // namespace ringkv
