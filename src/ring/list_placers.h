// The two placements of the replica lists (replica_lists.h, step 2) and what
// they share with the planner that runs them (replica_lists.cpp). Internal to
// src/ring, not part of the public API: include replica_lists.h instead.
//
//   - place_by_columns (list_placer_columns.cpp): column by column, holes
//     refilled from the list's own previous nodes, then by under-quota takers,
//     then by chains of exchanges with other lists.
//   - place_by_sets (list_placer_sets.cpp): which nodes each list holds, then
//     the order of each set column by column.
//
// Both read the previous lists renumbered to the new table (kHole where a
// node is gone) and the column quotas of the planner; both count, never hide,
// the lists that repeat a zone and the entries placed above a quota.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "common/check.h"
#include "ring/layout.h"
#include "ring/placement.h"
#include "ring/replica_lists.h"

namespace ringkv::ring_detail {

inline constexpr uint32_t kHole = kReplicaListHole;

struct Table {
  const std::vector<RingNode>& nodes;
  const std::vector<uint32_t>& zone_of_node;
  uint32_t zone_count = 0;
  uint32_t partition_count = 0;
  uint32_t width = 0;
  uint32_t zone_columns = 0;  // columns whose entries are in distinct zones
};

inline bool is_active(const RingNode& node) {
  return node.state == NodeState::active;
}

// The last resort of a placement: the active node outside `around` with the
// smallest (count + 1) / (quota + 1), so one with a share first. There is one,
// as the width is at most the active nodes.
inline uint32_t least_loaded_outside(const Table& table, const Neighborhood& around,
                                     const std::vector<uint32_t>& counts,
                                     const std::vector<uint32_t>& quotas) {
  std::optional<uint32_t> best;
  for (uint32_t node = 0; node < table.nodes.size(); ++node) {
    if (!is_active(table.nodes[node]) || around.has_node(node))
      continue;
    if (!best || uint64_t{counts[node] + 1} * (quotas[*best] + 1) <
                     uint64_t{counts[*best] + 1} * (quotas[node] + 1))
      best = node;
  }
  RINGKV_ASSERT(best.has_value(), "the width is at most the active nodes");
  return *best;
}

// Chains of exchanges (ListPlacer and SetPlacer): a list that no under-quota
// node fits takes an entry from another list, which refills itself the same
// way, and so on to a list that one fits. Orderer's chains of re-picks
// (list_placer_sets.cpp) share only the budget's rule.

// Indexing the lists costs a pass over them: charged to the budget, so
// that all the stuck lists of a plan cost at most the budget. False when the
// budget cannot pay for it.
inline bool charge_index_pass(uint64_t& budget, uint32_t partition_count) {
  if (budget < partition_count)
    return false;
  budget -= partition_count;
  return true;
}

// Where a chain may end: up to 16 under-quota nodes, lowest index first.
template <typename UnderQuota>
std::vector<uint32_t> chain_takers(size_t node_count, UnderQuota under_quota) {
  std::vector<uint32_t> takers;
  for (uint32_t node = 0; node < node_count && takers.size() < 16; ++node) {
    if (under_quota(node))
      takers.push_back(node);
  }
  return takers;
}

// One entry of a list: ListPlacer's entry in the column it places, or one of
// the slots of a SetPlacer's set.
struct ListSlot {
  uint32_t partition;
  uint32_t slot;
};

struct ChainStep {
  ListSlot entry;   // the entry it passes on (the first step: the hole)
  uint32_t parent;  // index into the steps
};

// The last step's list takes `taker`; every list before it on the chain
// takes the entry the list after it gives up. `at` and `set` read and write
// an entry.
template <typename At, typename Set>
void shift_chain(const std::vector<ChainStep>& steps, size_t last, uint32_t taker, At at, Set set) {
  uint32_t incoming = taker;
  for (size_t index = last;; index = steps[index].parent) {
    const ListSlot entry = steps[index].entry;
    const uint32_t outgoing = at(entry);
    set(entry, incoming);
    if (index == 0)
      break;
    incoming = outgoing;
  }
}

// A breadth-first search from `hole` (a stuck list's empty entry) for a chain
// of lists, each of which can pass one of its entries to the list before it,
// ending at a list that one of `takers` fits; the chain then shifts by one
// (shift_chain). `holding[node]`: the entries that hold `node`, in visiting
// order; `around(entry)`: what a node taking the entry must avoid, and
// `fits(around, node)` whether it does. Bounded: the lists visited count
// against `budget`, shared by the whole plan.
template <typename Around, typename Fits, typename At, typename Set>
bool augment_chain(ListSlot hole, uint32_t partition_count, const std::vector<uint32_t>& takers,
                   std::vector<std::vector<ListSlot>> holding, uint64_t& budget, Around around,
                   Fits fits, At at, Set set) {
  std::vector<bool> visited(partition_count, false);
  std::vector<ChainStep> steps{{hole, 0}};
  visited[hole.partition] = true;
  for (size_t next = 0; next < steps.size(); ++next) {
    const auto nearby = around(steps[next].entry);
    if (next > 0) {
      for (uint32_t taker : takers) {
        if (fits(nearby, taker)) {
          shift_chain(steps, next, taker, at, set);
          return true;
        }
      }
    }
    for (uint32_t node = 0; node < holding.size(); ++node) {
      if (holding[node].empty() || !fits(nearby, node))
        continue;
      for (const ListSlot& entry : holding[node]) {
        if (visited[entry.partition])
          continue;
        if (budget == 0)
          return false;
        --budget;
        visited[entry.partition] = true;
        steps.push_back({entry, static_cast<uint32_t>(next)});
      }
      holding[node].clear();
    }
  }
  return false;
}

// Placement a (ListPlacer): `lists` holds the previous lists (renumbered,
// `previous`) cut or padded with holes to the table's width; `quotas[j][node]`
// are the column quotas. `budget` bounds the chains of exchanges in all.
std::vector<uint32_t> place_by_columns(const Table& table,
                                       std::vector<std::vector<uint32_t>> quotas,
                                       std::vector<uint32_t> lists,
                                       const std::vector<uint32_t>& previous,
                                       uint32_t previous_width, uint64_t budget,
                                       uint32_t& zone_repeats, uint32_t& over_quota);

// Placement b: the sets against `quota` (each node's quota for n = width;
// SetPlacer), then their order against the column quotas `quotas` (Orderer);
// `lists` and `previous` as for place_by_columns. `budget` bounds each
// phase's chains.
std::vector<uint32_t> place_by_sets(const Table& table, std::vector<uint32_t> quota,
                                    std::vector<std::vector<uint32_t>> quotas,
                                    std::vector<uint32_t> lists,
                                    const std::vector<uint32_t>& previous, uint32_t previous_width,
                                    uint64_t budget, uint32_t& zone_repeats, uint32_t& over_quota);

}  // namespace ringkv::ring_detail
