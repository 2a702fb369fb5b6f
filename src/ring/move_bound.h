// A lower bound on the replicas a layout change must move that knows the zone
// rule (ring/replica_lists.h uses it for `moved_lower_bound`).
//
// The simple bound sums, over nodes, what each node's quota exceeds what it
// held: a node short of entries must receive that many. It ignores zones. With
// entries of a list in distinct zones, a node can only take an entry in a list
// without its zone: when a removal frees entries in lists that already hold
// every zone but the removed node's, the other zones' nodes can take their
// extra quota only by exchanges (an entry of zone A moves into the freed
// slot, a node of zone B takes A's old slot), each costing two moves for one
// freed entry. The simple bound counts one.
//
// This bound solves the zone-level problem exactly, as a min-cost flow over
// partitions grouped by the zones their previous entries keep: each zone z
// must fill its quota Q_z (the sum of its nodes' quotas), at most `hi` entries
// per list (1 while n is within the distinct-zone columns), and an entry of
// zone z is kept only in a list that held a surviving node of z, with at most
// K_z kept in all (K_z = the sum over z's nodes of min(quota, held)).
// Maximising kept entries under those rules is a relaxation of the real
// problem (it forgets which node of the zone, and the column order), so
// n·Q − max kept is a valid lower bound, and never below the simple one.
//
// Bounded work: the graph has a vertex per (zone, group of lists), and the
// flow is found by successive shortest paths. When the graph would exceed
// `max_vertices` (many zones, lists of many kinds) or the search
// `max_relaxations` edge relaxations, the simple bound is returned instead:
// the bound only judges a plan, and must not slow planning (which runs on the
// node's core thread) — at 25 zones and 10,000 nodes an unbounded search took
// seconds.
#pragma once

#include <cstdint>
#include <vector>

namespace ringkv {

struct MoveBoundInput {
  uint32_t partition_count = 0;
  uint32_t n = 0;             // entries per list counted (a prefix of the lists)
  uint32_t zone_columns = 0;  // leading columns whose entries are in distinct zones
  uint32_t zone_count = 0;
  std::vector<uint32_t> zone_of_node;  // by node index of the new table
  std::vector<uint32_t> quota;         // by node: entries among the first n it should hold
  std::vector<uint32_t> held;          // by node: entries among the first n it held before
  // Q × n: the previous lists' first n entries renumbered to the new table,
  // UINT32_MAX where the node is gone (or the previous lists were narrower).
  std::vector<uint32_t> previous;
  uint64_t max_vertices = 4096;
  uint64_t max_relaxations = uint64_t{1} << 22;
};

// The zone-aware lower bound on (partition, node) pairs among the first n
// entries that a layout meeting `quota` must add. Equal to the simple bound
// when zones cannot force an exchange (one zone, or every list still holding
// a slot of each short zone).
uint64_t zone_aware_move_bound(const MoveBoundInput& input);

// The simple bound: the sum over nodes of max(0, quota - held).
uint64_t simple_move_bound(const std::vector<uint32_t>& quota, const std::vector<uint32_t>& held);

}  // namespace ringkv
