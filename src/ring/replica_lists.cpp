// Replica lists: quotas by column, then placement column by column; see
// replica_lists.h.
#include "ring/replica_lists.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <optional>

#include "common/check.h"
#include "common/store_config.h"
#include "ring/placement.h"
#include "ring/quota.h"

namespace ringkv {
namespace {

using ring_detail::bit_reversed;
using ring_detail::Neighborhood;
using ring_detail::TakerQueue;
using ring_detail::Tier;
using ring_detail::zone_numbers;

constexpr uint32_t kHole = kReplicaListHole;

struct Table {
  const std::vector<RingNode>& nodes;
  const std::vector<uint32_t>& zone_of_node;
  uint32_t zone_count = 0;
  uint32_t partition_count = 0;
  uint32_t width = 0;
  uint32_t zone_columns = 0;  // columns whose entries are in distinct zones
};

bool is_active(const RingNode& node) {
  return node.state == NodeState::active;
}

// quotas[j][node]; `previous[j][node]` (what the node held in column j)
// breaks ties so that an unchanged table keeps its quotas.
std::vector<std::vector<uint32_t>> column_quotas(
    const Table& table, const std::vector<std::vector<uint32_t>>& previous) {
  const size_t node_count = table.nodes.size();
  std::vector<uint32_t> room(node_count, 0);
  for (size_t node = 0; node < node_count; ++node)
    room[node] = is_active(table.nodes[node]) ? table.partition_count : 0;
  std::vector<uint32_t> zone_room(table.zone_count, table.partition_count);
  std::vector<std::vector<uint32_t>> out;
  for (uint32_t column = 0; column < table.width; ++column) {
    auto node_claims = [&](std::optional<uint32_t> zone) {
      std::vector<QuotaClaim> claims(node_count);
      for (size_t node = 0; node < node_count; ++node) {
        const bool counted = room[node] > 0 && (!zone || table.zone_of_node[node] == *zone);
        claims[node] = {counted ? table.nodes[node].capacity : 0u, room[node],
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
      for (uint32_t zone = 0; zone < table.zone_count; ++zone) {
        const std::vector<uint32_t> within = apportion(zone_quotas[zone], node_claims(zone));
        for (size_t node = 0; node < node_count; ++node)
          quotas[node] += within[node];
        zone_room[zone] -= zone_quotas[zone];
      }
    } else {
      quotas = apportion(table.partition_count, node_claims(std::nullopt));
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

class ListPlacer {
 public:
  ListPlacer(const Table& table, std::vector<std::vector<uint32_t>> quotas,
             std::vector<uint32_t> lists, const std::vector<uint32_t>& previous,
             uint32_t previous_width)
      : table_(table),
        partition_bits_(static_cast<uint32_t>(std::countr_zero(table.partition_count))),
        quotas_(std::move(quotas)),
        lists_(std::move(lists)),
        previous_(previous),
        previous_width_(previous_width) {}

  std::vector<uint32_t> run(uint32_t& zone_repeats, uint32_t& over_quota) {
    for (uint32_t column = 0; column < table_.width; ++column)
      place_column(column);
    zone_repeats = zone_repeats_;
    over_quota = over_quota_;
    return std::move(lists_);
  }

 private:
  uint32_t& at(uint32_t partition, uint32_t column) {
    return lists_[size_t{partition} * table_.width + column];
  }
  uint32_t at(uint32_t partition, uint32_t column) const {
    return lists_[size_t{partition} * table_.width + column];
  }

  // The order in which a column's lists are visited: bit-reversed (spread
  // around the ring), scrambled differently per column by an odd multiplier
  // (a bijection modulo Q) so that the columns' choices do not line up, which
  // would put the same nodes together in many lists.
  uint32_t visit(uint32_t index, uint32_t column) const {
    const uint32_t multiplier = 2 * (0x9e3779b9u * (column + 1) >> 8) + 1;
    return (bit_reversed(index, partition_bits_) * multiplier) & (table_.partition_count - 1);
  }

  // The nodes and zones of the entries before `column` in the list.
  Neighborhood before(uint32_t partition, uint32_t column) const {
    Neighborhood out;
    for (uint32_t earlier = 0; earlier < column; ++earlier) {
      const uint32_t node = at(partition, earlier);
      out.nodes.push_back(node);
      out.zones.push_back(table_.zone_of_node[node]);
    }
    return out;
  }

  bool fits(const Neighborhood& around, uint32_t column, uint32_t node) const {
    if (around.has_node(node))
      return false;
    return column >= table_.zone_columns || !around.has_zone(table_.zone_of_node[node]);
  }

  bool under_quota(uint32_t node) const { return counts_[node] < column_quota_[node]; }

  void set(uint32_t partition, uint32_t column, uint32_t node) {
    const uint32_t old = at(partition, column);
    if (old != kHole) {
      --counts_[old];
      takers_->update(old, counts_[old], column_quota_[old]);
    }
    at(partition, column) = node;
    if (node != kHole) {
      ++counts_[node];
      takers_->update(node, counts_[node], column_quota_[node]);
    }
  }

  void place_column(uint32_t column) {
    column_quota_ = quotas_[column];
    counts_.assign(table_.nodes.size(), 0);
    takers_.emplace(table_.zone_of_node, table_.zone_count);
    // Holes: a node without a share of this column (gone, leaving), or one
    // that repeats a node or zone of an earlier entry of its list.
    for (uint32_t partition = 0; partition < table_.partition_count; ++partition) {
      uint32_t& node = at(partition, column);
      if (node == kHole)
        continue;
      if (column_quota_[node] == 0 || !fits(before(partition, column), column, node))
        node = kHole;
      else
        ++counts_[node];
    }
    shed(column);
    for (uint32_t node = 0; node < table_.nodes.size(); ++node)
      takers_->update(node, counts_[node], column_quota_[node]);
    std::vector<uint32_t> stuck;
    for (uint32_t index = 0; index < table_.partition_count; ++index) {
      const uint32_t partition = visit(index, column);
      if (at(partition, column) == kHole && !fill(partition, column))
        stuck.push_back(partition);
    }
    for (uint32_t partition : stuck)
      fill_stuck(partition, column);
  }

  // Over-quota nodes give up their surplus, choosing which entries so that
  // the holes are easy to fill: first entries whose list has a later entry
  // that could take the place (a swap of positions), then entries an
  // under-quota node could replace without clashing with any other entry of
  // the list, then without clashing with an earlier one, then the rest; each
  // pass in bit-reversed order, which spreads what a node gives up.
  void shed(uint32_t column) {
    std::vector<uint32_t> surplus(table_.nodes.size(), 0);
    bool any = false;
    for (uint32_t node = 0; node < table_.nodes.size(); ++node) {
      surplus[node] = counts_[node] > column_quota_[node] ? counts_[node] - column_quota_[node] : 0;
      any = any || surplus[node] > 0;
    }
    if (!any)
      return;
    // A few under-quota nodes per zone: enough to find one outside any list.
    std::vector<std::vector<uint32_t>> replacements(table_.zone_count);
    for (uint32_t node = 0; node < table_.nodes.size(); ++node) {
      auto& zone = replacements[table_.zone_of_node[node]];
      if (under_quota(node) && zone.size() <= table_.width)
        zone.push_back(node);
    }
    for (int pass = 0; pass < 4; ++pass) {
      for (uint32_t index = 0; index < table_.partition_count; ++index) {
        const uint32_t partition = visit(index, column);
        const uint32_t node = at(partition, column);
        if (node == kHole || surplus[node] == 0)
          continue;
        if ((pass == 0 && !has_swap_partner(partition, column)) ||
            (pass == 1 && !replaceable(partition, column, replacements, true)) ||
            (pass == 2 && !replaceable(partition, column, replacements, false)))
          continue;
        at(partition, column) = kHole;
        --counts_[node];
        --surplus[node];
      }
    }
  }

  bool has_swap_partner(uint32_t partition, uint32_t column) const {
    const Neighborhood around = before(partition, column);
    for (uint32_t later = column + 1; later < table_.width; ++later) {
      const uint32_t node = at(partition, later);
      if (node != kHole && under_quota(node) && fits(around, column, node))
        return true;
    }
    return false;
  }

  // Whether one of `replacements` fits the list in place of its entry in
  // `column`: against the earlier entries, or against every other entry.
  bool replaceable(uint32_t partition, uint32_t column,
                   const std::vector<std::vector<uint32_t>>& replacements, bool whole_list) const {
    const Neighborhood around = whole_list ? others(partition, column) : before(partition, column);
    for (uint32_t zone = 0; zone < table_.zone_count; ++zone) {
      for (uint32_t node : replacements[zone]) {
        if (fits(around, column, node))
          return true;
      }
    }
    return false;
  }

  // Every entry of the list but the one in `column` (and holes); zones only
  // of the columns whose zones must differ.
  Neighborhood others(uint32_t partition, uint32_t column) const {
    Neighborhood out;
    for (uint32_t other = 0; other < table_.width; ++other) {
      const uint32_t node = at(partition, other);
      if (other == column || node == kHole)
        continue;
      out.nodes.push_back(node);
      if (other < table_.zone_columns)
        out.zones.push_back(table_.zone_of_node[node]);
    }
    return out;
  }

  // The list's previous nodes first (no copy for larger n), then the best
  // under-quota taker.
  bool fill(uint32_t partition, uint32_t column) {
    const Neighborhood around = before(partition, column);
    if (previous_width_ > 0) {
      for (uint32_t old = 0; old < previous_width_; ++old) {
        const uint32_t node = previous_[size_t{partition} * previous_width_ + old];
        if (node != kHole && under_quota(node) && fits(around, column, node)) {
          set(partition, column, node);
          return true;
        }
      }
    }
    // A taker that clashes with no later entry either, so that nothing
    // further has to move; else one that fits the earlier entries.
    const Tier tier = column < table_.zone_columns ? Tier::clean : Tier::node_distinct;
    for (const Neighborhood& avoid : {others(partition, column), around}) {
      if (const auto taker = takers_->best(avoid, tier)) {
        set(partition, column, *taker);
        return true;
      }
    }
    return false;
  }

  // No under-quota node fits the list: shift a chain of other lists' entries
  // (augment); failing that, repeat a zone; failing that, exceed a quota.
  void fill_stuck(uint32_t partition, uint32_t column) {
    if (at(partition, column) != kHole || fill(partition, column))
      return;
    if (augment(partition, column))
      return;
    const Neighborhood around = before(partition, column);
    if (column < table_.zone_columns) {
      if (const auto taker = takers_->best(around, Tier::node_distinct)) {
        set(partition, column, *taker);
        ++zone_repeats_;
        return;
      }
    }
    // The active node outside the list with the smallest (count + 1) /
    // (quota + 1): one with a share of this column first. There is one, as
    // the width is at most the active nodes.
    std::optional<uint32_t> best;
    for (uint32_t node = 0; node < table_.nodes.size(); ++node) {
      if (!is_active(table_.nodes[node]) || around.has_node(node))
        continue;
      if (!best || uint64_t{counts_[node] + 1} * (column_quota_[*best] + 1) <
                       uint64_t{counts_[*best] + 1} * (column_quota_[node] + 1))
        best = node;
    }
    RINGKV_ASSERT(best.has_value(), "the width is at most the active nodes");
    set(partition, column, *best);
    ++over_quota_;
  }

  // A breadth-first search for a chain of lists, each of which can pass its
  // entry in this column to the previous one, ending at a list that an
  // under-quota node fits; the chain shifts by one. Bounded: the lists visited
  // count against a budget shared by the whole plan.
  bool augment(uint32_t partition, uint32_t column) {
    std::vector<uint32_t> takers;
    for (uint32_t node = 0; node < table_.nodes.size() && takers.size() < 16; ++node) {
      if (under_quota(node))
        takers.push_back(node);
    }
    if (takers.empty())
      return false;
    std::vector<std::vector<uint32_t>> holding(table_.nodes.size());
    for (uint32_t index = 0; index < table_.partition_count; ++index) {
      const uint32_t other = visit(index, column);
      if (at(other, column) != kHole)
        holding[at(other, column)].push_back(other);
    }
    std::vector<uint32_t> parent(table_.partition_count, kHole);
    std::vector<uint32_t> queue{partition};
    parent[partition] = partition;
    for (size_t next = 0; next < queue.size(); ++next) {
      const uint32_t list = queue[next];
      const Neighborhood around = before(list, column);
      for (uint32_t taker : takers) {
        if (list != partition && fits(around, column, taker)) {
          shift(partition, list, taker, column, parent);
          return true;
        }
      }
      for (uint32_t node = 0; node < table_.nodes.size(); ++node) {
        if (holding[node].empty() || !fits(around, column, node))
          continue;
        for (uint32_t other : holding[node]) {
          if (parent[other] != kHole)
            continue;
          if (exchange_budget_ == 0)
            return false;
          --exchange_budget_;
          parent[other] = list;
          queue.push_back(other);
        }
        holding[node].clear();
      }
    }
    return false;
  }

  // `last` takes `taker`; every list on the chain up to `first` takes the
  // entry of the list after it.
  void shift(uint32_t first, uint32_t last, uint32_t taker, uint32_t column,
             const std::vector<uint32_t>& parent) {
    uint32_t incoming = taker;
    for (uint32_t list = last;; list = parent[list]) {
      const uint32_t outgoing = at(list, column);
      set(list, column, incoming);
      if (list == first)
        break;
      incoming = outgoing;
    }
  }

  const Table& table_;
  uint32_t partition_bits_;
  std::vector<std::vector<uint32_t>> quotas_;
  std::vector<uint32_t> lists_;
  const std::vector<uint32_t>& previous_;
  uint32_t previous_width_;
  std::vector<uint32_t> column_quota_;
  std::vector<uint32_t> counts_;
  std::optional<TakerQueue> takers_;
  uint64_t exchange_budget_ = 0;
  uint32_t zone_repeats_ = 0;
  uint32_t over_quota_ = 0;

 public:
  void set_exchange_budget(uint64_t budget) { exchange_budget_ = budget; }
};

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
  ListPlacer placer(table, std::move(quotas), std::move(lists), previous, previous_width);
  placer.set_exchange_budget(16 * uint64_t{partition_count} + (uint64_t{1} << 22));
  plan.entries = placer.run(plan.zone_repeats, plan.over_quota);

  // Moves and their lower bound, per n.
  plan.moved.assign(plan.width, 0);
  plan.moved_lower_bound.assign(plan.width, 0);
  std::vector<std::vector<uint32_t>> held(plan.width, std::vector<uint32_t>(nodes.size(), 0));
  for (uint32_t partition = 0; partition < partition_count; ++partition) {
    const uint32_t* now = plan.entries.data() + size_t{partition} * plan.width;
    const uint32_t* before = previous.data() + size_t{partition} * previous_width;
    for (uint32_t prefix = 1; prefix <= plan.width; ++prefix) {
      const uint32_t old_prefix = std::min(prefix, previous_width);
      for (uint32_t index = 0; index < prefix; ++index) {
        const bool was_there =
            std::find(before, before + old_prefix, now[index]) != before + old_prefix;
        plan.moved[prefix - 1] += was_there ? 0 : 1;
      }
      for (uint32_t index = 0; index < old_prefix; ++index) {
        if (before[index] != kHole)
          ++held[prefix - 1][before[index]];
      }
    }
  }
  for (uint32_t prefix = 1; prefix <= plan.width; ++prefix) {
    for (size_t node = 0; node < nodes.size(); ++node) {
      const uint32_t quota = plan.prefix_quotas[prefix - 1][node];
      const uint32_t before = held[prefix - 1][node];
      plan.moved_lower_bound[prefix - 1] += quota > before ? quota - before : 0;
    }
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
