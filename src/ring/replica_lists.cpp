// Replica lists: the planner (see replica_lists.h). Renumbers the previous
// lists to the new table, apportions the quotas by column and the lower bound
// of the moves, runs the two placements (list_placers.h:
// list_placer_columns.cpp and list_placer_sets.cpp) and keeps the better;
// measures a plan's balance.
#include "ring/replica_lists.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "common/check.h"
#include "common/store_config.h"
#include "ring/list_placers.h"
#include "ring/move_bound.h"
#include "ring/placement.h"
#include "ring/quota.h"

namespace ringkv {
namespace {

using ring_detail::is_active;
using ring_detail::kHole;
using ring_detail::place_by_columns;
using ring_detail::place_by_sets;
using ring_detail::Table;
using ring_detail::zone_numbers;

// quotas[j][node]; `previous[j][node]` (what the node held in column j)
// breaks ties so that an unchanged table keeps its quotas.
std::vector<std::vector<uint32_t>> column_quotas(
    const Table& table, const std::vector<std::vector<uint32_t>>& previous) {
  const size_t node_count = table.nodes.size();
  std::vector<uint32_t> room(node_count, 0);
  for (size_t node = 0; node < node_count; ++node)
    room[node] = is_active(table.nodes[node]) ? table.partition_count : 0;
  std::vector<uint32_t> zone_room(table.zone_count, table.partition_count);
  std::vector<std::vector<uint32_t>> members(table.zone_count);
  for (uint32_t node = 0; node < node_count; ++node)
    members[table.zone_of_node[node]].push_back(node);
  std::vector<std::vector<uint32_t>> out;
  for (uint32_t column = 0; column < table.width; ++column) {
    auto node_claims = [&] {
      std::vector<QuotaClaim> claims(node_count);
      for (size_t node = 0; node < node_count; ++node) {
        claims[node] = {room[node] > 0 ? table.nodes[node].capacity : 0u, room[node],
                        previous[column][node]};
      }
      return claims;
    };
    std::vector<uint32_t> quotas(node_count, 0);
    if (column < table.zone_columns) {
      std::vector<QuotaClaim> zone_claims(table.zone_count);
      for (size_t node = 0; node < node_count; ++node) {
        QuotaClaim& claim = zone_claims[table.zone_of_node[node]];
        claim.weight += room[node] > 0 ? table.nodes[node].capacity : 0;
        claim.previous += previous[column][node];
      }
      for (uint32_t zone = 0; zone < table.zone_count; ++zone)
        zone_claims[zone].cap = zone_room[zone];
      const std::vector<uint32_t> zone_quotas = apportion(table.partition_count, zone_claims);
      // Each zone among its own members (in node order, so the tie-breaks
      // are those of one apportionment over every node): O(N) per column.
      for (uint32_t zone = 0; zone < table.zone_count; ++zone) {
        std::vector<QuotaClaim> claims;
        claims.reserve(members[zone].size());
        for (uint32_t node : members[zone]) {
          claims.push_back({room[node] > 0 ? table.nodes[node].capacity : 0u, room[node],
                            previous[column][node]});
        }
        const std::vector<uint32_t> within = apportion(zone_quotas[zone], claims);
        for (size_t index = 0; index < within.size(); ++index)
          quotas[members[zone][index]] += within[index];
        zone_room[zone] -= zone_quotas[zone];
      }
    } else {
      quotas = apportion(table.partition_count, node_claims());
    }
    uint64_t sum = 0;
    for (size_t node = 0; node < node_count; ++node) {
      room[node] -= quotas[node];
      sum += quotas[node];
    }
    RINGKV_ASSERT(sum == table.partition_count, "a column's quotas fill every list");
    out.push_back(std::move(quotas));
  }
  return out;
}

// Per n = width down to 1 (largest first), the (partition, node) pairs among
// the first n entries of `entries` that were not among the first n of
// `previous`.
std::vector<uint64_t> moves(const std::vector<uint32_t>& entries,
                            const std::vector<uint32_t>& previous, uint32_t width,
                            uint32_t previous_width) {
  std::vector<uint64_t> out(width, 0);
  const size_t partition_count = entries.size() / width;
  for (size_t partition = 0; partition < partition_count; ++partition) {
    const uint32_t* now = entries.data() + partition * width;
    const uint32_t* before = previous.data() + partition * previous_width;
    for (uint32_t prefix = 1; prefix <= width; ++prefix) {
      const uint32_t old_prefix = std::min(prefix, previous_width);
      for (uint32_t index = 0; index < prefix; ++index) {
        const bool was_there =
            std::find(before, before + old_prefix, now[index]) != before + old_prefix;
        out[width - prefix] += was_there ? 0 : 1;
      }
    }
  }
  return out;
}

// The lower bound of the moves among the first `prefix` entries (ring/move_bound.h).
uint64_t lower_bound_for_prefix(const Table& table, uint32_t prefix,
                                const std::vector<uint32_t>& quota,
                                const std::vector<uint32_t>& held,
                                const std::vector<uint32_t>& previous, uint32_t previous_width) {
  if (table.zone_count < 2)
    return simple_move_bound(quota, held);
  MoveBoundInput input;
  input.partition_count = table.partition_count;
  input.n = prefix;
  input.zone_columns = table.zone_columns;
  input.zone_count = table.zone_count;
  input.zone_of_node = table.zone_of_node;
  input.quota = quota;
  input.held = held;
  input.previous.assign(size_t{table.partition_count} * prefix, kHole);
  for (uint32_t partition = 0; partition < table.partition_count; ++partition) {
    for (uint32_t column = 0; column < std::min(prefix, previous_width); ++column)
      input.previous[size_t{partition} * prefix + column] =
          previous[size_t{partition} * previous_width + column];
  }
  return zone_aware_move_bound(input);
}

}  // namespace

ReplicaListPlan plan_replica_lists(uint32_t partition_bits, uint32_t width,
                                   const std::vector<RingNode>& nodes,
                                   const std::vector<RingNode>& previous_nodes,
                                   const std::vector<uint32_t>& previous_entries,
                                   uint32_t previous_width) {
  RINGKV_ASSERT(width >= 1 && width <= kReplicationMax, "width within 1..kReplicationMax");
  const uint32_t partition_count = uint32_t{1} << partition_bits;
  RINGKV_ASSERT(previous_entries.size() == size_t{partition_count} * previous_width,
                "previous entries are Q x previous width");
  uint32_t zone_count = 0;
  const std::vector<uint32_t> zone_of_node = zone_numbers(nodes, zone_count);
  std::vector<bool> active_zone(zone_count, false);
  uint32_t active_nodes = 0;
  for (size_t node = 0; node < nodes.size(); ++node) {
    if (is_active(nodes[node])) {
      ++active_nodes;
      active_zone[zone_of_node[node]] = true;
    }
  }
  RINGKV_ASSERT(active_nodes > 0, "at least one active node");
  const uint32_t active_zones =
      static_cast<uint32_t>(std::count(active_zone.begin(), active_zone.end(), true));
  ReplicaListPlan plan;
  plan.width = std::min(width, active_nodes);
  Table table{nodes,           zone_of_node, zone_count,
              partition_count, plan.width,   std::min(plan.width, active_zones)};

  // The previous lists, renumbered to the new table (a hole where a node is gone).
  std::vector<uint32_t> renumbered(previous_nodes.size(), kHole);
  for (size_t old = 0; old < previous_nodes.size(); ++old) {
    const auto found =
        std::lower_bound(nodes.begin(), nodes.end(), previous_nodes[old].id,
                         [](const RingNode& node, const std::string& id) { return node.id < id; });
    if (found != nodes.end() && found->id == previous_nodes[old].id)
      renumbered[old] = static_cast<uint32_t>(found - nodes.begin());
  }
  std::vector<uint32_t> previous(previous_entries.size(), kHole);
  for (size_t index = 0; index < previous_entries.size(); ++index)
    previous[index] = renumbered[previous_entries[index]];
  std::vector<std::vector<uint32_t>> previous_counts(plan.width,
                                                     std::vector<uint32_t>(nodes.size(), 0));
  std::vector<uint32_t> lists(size_t{partition_count} * plan.width, kHole);
  for (uint32_t partition = 0; partition < partition_count; ++partition) {
    for (uint32_t column = 0; column < std::min(plan.width, previous_width); ++column) {
      const uint32_t node = previous[size_t{partition} * previous_width + column];
      lists[size_t{partition} * plan.width + column] = node;
      if (node != kHole)
        ++previous_counts[column][node];
    }
  }

  std::vector<std::vector<uint32_t>> quotas = column_quotas(table, previous_counts);
  plan.prefix_quotas.assign(plan.width, std::vector<uint32_t>(nodes.size(), 0));
  for (uint32_t column = 0; column < plan.width; ++column) {
    for (size_t node = 0; node < nodes.size(); ++node)
      plan.prefix_quotas[column][node] =
          (column > 0 ? plan.prefix_quotas[column - 1][node] : 0) + quotas[column][node];
  }
  // The lower bound of the moves, per n.
  plan.moved_lower_bound.assign(plan.width, 0);
  std::vector<std::vector<uint32_t>> held(plan.width, std::vector<uint32_t>(nodes.size(), 0));
  for (uint32_t partition = 0; partition < partition_count; ++partition) {
    const uint32_t* before = previous.data() + size_t{partition} * previous_width;
    for (uint32_t prefix = 1; prefix <= plan.width; ++prefix) {
      for (uint32_t index = 0; index < std::min(prefix, previous_width); ++index) {
        if (before[index] != kHole)
          ++held[prefix - 1][before[index]];
      }
    }
  }
  for (uint32_t prefix = 1; prefix <= plan.width; ++prefix) {
    plan.moved_lower_bound[prefix - 1] = lower_bound_for_prefix(
        table, prefix, plan.prefix_quotas[prefix - 1], held[prefix - 1], previous, previous_width);
  }

  // Two placements, the better kept (see replica_lists.h): column by column,
  // and — unless that one already met every rule and moved the lower bound
  // for every n (a new cluster, a change where zones outnumber the width) —
  // sets first then their order.
  const uint64_t budget = 16 * uint64_t{partition_count} + (uint64_t{1} << 22);
  const std::vector<uint32_t> kept_lists = lists;
  plan.entries = place_by_columns(table, quotas, std::move(lists), previous, previous_width, budget,
                                  plan.zone_repeats, plan.over_quota);
  std::vector<uint64_t> moved = moves(plan.entries, previous, plan.width, previous_width);
  plan.moved.assign(moved.rbegin(), moved.rend());
  if (plan.zone_repeats + plan.over_quota == 0 && plan.moved == plan.moved_lower_bound)
    return plan;
  uint32_t set_zone_repeats = 0, set_over_quota = 0;
  std::vector<uint32_t> two_phase =
      place_by_sets(table, plan.prefix_quotas[plan.width - 1], std::move(quotas), kept_lists,
                    previous, previous_width, budget, set_zone_repeats, set_over_quota);
  const std::vector<uint64_t> by_sets = moves(two_phase, previous, plan.width, previous_width);
  // Fewer rules missed first, then fewer moves summed over every n (each n's
  // lower bound is the same for both), then fewer for the larger n.
  const auto total = [](const std::vector<uint64_t>& counts) {
    uint64_t sum = 0;
    for (uint64_t count : counts)
      sum += count;
    return sum;
  };
  const auto key_sets = std::make_tuple(set_zone_repeats + set_over_quota, total(by_sets), by_sets);
  const auto key_columns =
      std::make_tuple(plan.zone_repeats + plan.over_quota, total(moved), moved);
  if (key_sets < key_columns) {
    plan.entries = std::move(two_phase);
    plan.zone_repeats = set_zone_repeats;
    plan.over_quota = set_over_quota;
    plan.moved.assign(by_sets.rbegin(), by_sets.rend());
  }
  return plan;
}

ListBalance measure_list_balance(const std::vector<RingNode>& nodes, uint32_t partition_count,
                                 const ReplicaListPlan& plan) {
  ListBalance out;
  const uint32_t width = plan.width;
  out.entries.assign(width, std::vector<uint32_t>(nodes.size(), 0));
  for (uint32_t partition = 0; partition < partition_count; ++partition) {
    for (uint32_t column = 0; column < width; ++column)
      ++out.entries[column][plan.entries[size_t{partition} * width + column]];
  }
  for (uint32_t column = 1; column < width; ++column) {
    for (size_t node = 0; node < nodes.size(); ++node)
      out.entries[column][node] += out.entries[column - 1][node];
  }
  uint64_t capacity_total = 0;
  for (const RingNode& node : nodes)
    capacity_total += is_active(node) ? node.capacity : 0;
  out.max_capacity_error.assign(width, 0);
  out.max_quota_error.assign(width, 0);
  for (uint32_t prefix = 1; prefix <= width; ++prefix) {
    const double total = double(partition_count) * prefix;
    for (size_t node = 0; node < nodes.size(); ++node) {
      if (!is_active(nodes[node]))
        continue;
      const double held = out.entries[prefix - 1][node];
      const double wanted = total * double(nodes[node].capacity) / double(capacity_total);
      const double quota = plan.prefix_quotas[prefix - 1][node];
      out.max_capacity_error[prefix - 1] =
          std::max(out.max_capacity_error[prefix - 1], std::abs(held - wanted) / wanted);
      if (quota > 0)
        out.max_quota_error[prefix - 1] =
            std::max(out.max_quota_error[prefix - 1], std::abs(held - quota) / quota);
    }
  }
  return out;
}

}  // namespace ringkv
