// Replica lists: quotas by column, then placement column by column; see
// replica_lists.h.
#include "ring/replica_lists.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <optional>
#include <tuple>

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

// The last resort of a placement: the active node outside `around` with the
// smallest (count + 1) / (quota + 1), so one with a share first. There is one,
// as the width is at most the active nodes.
uint32_t least_loaded_outside(const Table& table, const Neighborhood& around,
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
    set(partition, column, least_loaded_outside(table_, around, counts_, column_quota_));
    ++over_quota_;
  }

  // A breadth-first search for a chain of lists, each of which can pass its
  // entry in this column to the previous one, ending at a list that an
  // under-quota node fits; the chain shifts by one. Bounded: the lists visited
  // count against a budget shared by the whole plan.
  bool augment(uint32_t partition, uint32_t column) {
    // Indexing the lists costs a pass over them: charged to the budget, so
    // that all the stuck lists of a plan cost at most the budget.
    if (exchange_budget_ < table_.partition_count)
      return false;
    exchange_budget_ -= table_.partition_count;
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

// Phase 1 of the two-phase plan: which nodes each list holds (its set),
// against each node's quota for n = width. A list's slots are unordered here.
class SetPlacer {
 public:
  // `sets` holds the previous lists, so a slot is the column its node had:
  // `column_quotas` tells which columns a node should give up entries of.
  SetPlacer(const Table& table, std::vector<uint32_t> quota,
            const std::vector<std::vector<uint32_t>>& column_quotas, std::vector<uint32_t> sets,
            uint64_t budget)
      : table_(table),
        column_quotas_(column_quotas),
        partition_bits_(static_cast<uint32_t>(std::countr_zero(table.partition_count))),
        quota_(std::move(quota)),
        sets_(std::move(sets)),
        counts_(table.nodes.size(), 0),
        takers_(table.zone_of_node, table.zone_count),
        budget_(budget) {}

  std::vector<uint32_t> run(uint32_t& zone_repeats, uint32_t& over_quota) {
    // Holes: a node without a share (gone, leaving) or one the list repeats.
    for (uint32_t partition = 0; partition < table_.partition_count; ++partition) {
      for (uint32_t slot = 0; slot < table_.width; ++slot) {
        uint32_t& node = at(partition, slot);
        if (node == kHole)
          continue;
        bool repeated = false;
        for (uint32_t before = 0; before < slot; ++before)
          repeated = repeated || at(partition, before) == node;
        if (quota_[node] == 0 || repeated)
          node = kHole;
        else
          ++counts_[node];
      }
    }
    shed();
    for (uint32_t node = 0; node < table_.nodes.size(); ++node)
      takers_.update(node, counts_[node], quota_[node]);
    std::vector<uint32_t> stuck;
    for (uint32_t index = 0; index < table_.partition_count; ++index) {
      const uint32_t partition = bit_reversed(index, partition_bits_);
      if (!fill(partition))
        stuck.push_back(partition);
    }
    for (uint32_t partition : stuck) {
      while (!fill(partition)) {
        if (!augment(partition))
          force(partition);
      }
    }
    zone_repeats = zone_repeats_;
    over_quota = over_quota_;
    return std::move(sets_);
  }

 private:
  // A list seen from one of its slots: the other members, their distinct
  // zones, its holes (this slot included) and how many of them must bring a
  // zone the list lacks for it to span min(width, zones) zones.
  struct View {
    Neighborhood members;
    uint32_t holes = 0;
    uint32_t zones_needed = 0;
  };

  uint32_t& at(uint32_t partition, uint32_t slot) {
    return sets_[size_t{partition} * table_.width + slot];
  }
  uint32_t at(uint32_t partition, uint32_t slot) const {
    return sets_[size_t{partition} * table_.width + slot];
  }

  View view(uint32_t partition, uint32_t vacated) const {
    View out;
    for (uint32_t slot = 0; slot < table_.width; ++slot) {
      const uint32_t node = at(partition, slot);
      if (slot == vacated || node == kHole) {
        ++out.holes;
        continue;
      }
      out.members.nodes.push_back(node);
      if (!out.members.has_zone(table_.zone_of_node[node]))
        out.members.zones.push_back(table_.zone_of_node[node]);
    }
    const auto zones = static_cast<uint32_t>(out.members.zones.size());
    out.zones_needed = table_.zone_columns > zones ? table_.zone_columns - zones : 0;
    return out;
  }

  bool fits(const View& view, uint32_t node) const {
    if (view.members.has_node(node))
      return false;
    return !view.members.has_zone(table_.zone_of_node[node]) || view.holes > view.zones_needed;
  }

  uint32_t hole_of(uint32_t partition) const {
    for (uint32_t slot = 0; slot < table_.width; ++slot) {
      if (at(partition, slot) == kHole)
        return slot;
    }
    return kHole;
  }

  void set(uint32_t partition, uint32_t slot, uint32_t node) {
    const uint32_t old = at(partition, slot);
    if (old != kHole) {
      --counts_[old];
      takers_.update(old, counts_[old], quota_[old]);
    }
    at(partition, slot) = node;
    if (node != kHole) {
      ++counts_[node];
      takers_.update(node, counts_[node], quota_[node]);
    }
  }

  // Over-quota nodes give up their surplus. Which entries: first those of a
  // column where the node holds more than its quota (so the lists keep their
  // first entries where those stay), then any; in each, first where an
  // under-quota node could take the place. Bit-reversed order spreads it.
  void shed() {
    const size_t node_count = table_.nodes.size();
    std::vector<uint32_t> surplus(node_count, 0);
    bool any = false;
    for (uint32_t node = 0; node < node_count; ++node) {
      surplus[node] = counts_[node] > quota_[node] ? counts_[node] - quota_[node] : 0;
      any = any || surplus[node] > 0;
    }
    if (!any)
      return;
    std::vector<std::vector<uint32_t>> column_surplus(table_.width,
                                                      std::vector<uint32_t>(node_count, 0));
    for (uint32_t partition = 0; partition < table_.partition_count; ++partition) {
      for (uint32_t slot = 0; slot < table_.width; ++slot) {
        if (at(partition, slot) != kHole)
          ++column_surplus[slot][at(partition, slot)];
      }
    }
    for (uint32_t column = 0; column < table_.width; ++column) {
      for (uint32_t node = 0; node < node_count; ++node) {
        const uint32_t held = column_surplus[column][node];
        const uint32_t quota = column_quotas_[column][node];
        column_surplus[column][node] = held > quota ? held - quota : 0;
      }
    }
    // Under-quota nodes and what they still need: a slot shed because one of
    // them could take it reserves one of its entries, so the holes shed for
    // replacement do not outnumber the replacements.
    std::vector<uint32_t> replacements;
    std::vector<uint32_t> deficit(node_count, 0);
    for (uint32_t node = 0; node < node_count; ++node) {
      if (counts_[node] < quota_[node]) {
        replacements.push_back(node);
        deficit[node] = quota_[node] - counts_[node];
      }
    }
    for (int pass = 0; pass < 4; ++pass) {
      const bool surplus_columns_only = pass < 2;
      const bool replaceable_only = pass % 2 == 0;
      for (uint32_t index = 0; index < table_.partition_count; ++index) {
        const uint32_t partition = bit_reversed(index, partition_bits_);
        for (uint32_t slot = 0; slot < table_.width; ++slot) {
          const uint32_t node = at(partition, slot);
          if (node == kHole || surplus[node] == 0)
            continue;
          if (surplus_columns_only && column_surplus[slot][node] == 0)
            continue;
          if (replaceable_only) {
            // One hole per list here: the replacements may all be one node.
            const View around = view(partition, slot);
            if (around.holes > 1)
              continue;
            const auto replacement = std::find_if(
                replacements.begin(), replacements.end(),
                [&](uint32_t other) { return deficit[other] > 0 && fits(around, other); });
            if (replacement == replacements.end())
              continue;
            --deficit[*replacement];
          }
          at(partition, slot) = kHole;
          --counts_[node];
          --surplus[node];
          if (column_surplus[slot][node] > 0)
            --column_surplus[slot][node];
        }
      }
    }
  }

  // Fills the list's holes with the best under-quota takers that fit: one
  // of a zone the list lacks first. False if a hole is left.
  bool fill(uint32_t partition) {
    for (uint32_t slot = hole_of(partition); slot != kHole; slot = hole_of(partition)) {
      const View around = view(partition, slot);
      std::optional<uint32_t> taker = takers_.best(around.members, Tier::clean);
      if (!taker && around.holes > around.zones_needed)
        taker = takers_.best(around.members, Tier::node_distinct);
      if (!taker)
        return false;
      set(partition, slot, *taker);
    }
    return true;
  }

  struct Step {
    uint32_t partition;
    uint32_t slot;    // the slot it passes on
    uint32_t parent;  // index into the steps
  };

  // A breadth-first search for a chain of lists, each passing one member to
  // the list before it, ending at a list an under-quota node fits; bounded by
  // a budget of lists visited, shared by the whole plan.
  bool augment(uint32_t partition) {
    // Indexing the lists costs a pass over them: charged to the budget, so
    // that all the stuck lists of a plan cost at most the budget.
    if (budget_ < table_.partition_count)
      return false;
    budget_ -= table_.partition_count;
    std::vector<uint32_t> takers;
    for (uint32_t node = 0; node < table_.nodes.size() && takers.size() < 16; ++node) {
      if (counts_[node] < quota_[node])
        takers.push_back(node);
    }
    if (takers.empty())
      return false;
    std::vector<std::vector<std::pair<uint32_t, uint32_t>>> holding(table_.nodes.size());
    for (uint32_t index = 0; index < table_.partition_count; ++index) {
      const uint32_t list = bit_reversed(index, partition_bits_);
      for (uint32_t slot = 0; slot < table_.width; ++slot) {
        if (at(list, slot) != kHole && list != partition)
          holding[at(list, slot)].push_back({list, slot});
      }
    }
    std::vector<bool> visited(table_.partition_count, false);
    std::vector<Step> steps{{partition, hole_of(partition), 0}};
    visited[partition] = true;
    for (size_t next = 0; next < steps.size(); ++next) {
      const Step step = steps[next];
      const View around = view(step.partition, step.slot);
      if (next > 0) {
        for (uint32_t taker : takers) {
          if (fits(around, taker)) {
            shift(steps, next, taker);
            return true;
          }
        }
      }
      for (uint32_t node = 0; node < table_.nodes.size(); ++node) {
        if (holding[node].empty() || !fits(around, node))
          continue;
        for (const auto& [list, slot] : holding[node]) {
          if (visited[list])
            continue;
          if (budget_ == 0)
            return false;
          --budget_;
          visited[list] = true;
          steps.push_back({list, slot, static_cast<uint32_t>(next)});
        }
        holding[node].clear();
      }
    }
    return false;
  }

  // The last step's list takes `taker`; every list before it on the chain
  // takes the member the list after it gives up.
  void shift(const std::vector<Step>& steps, size_t last, uint32_t taker) {
    uint32_t incoming = taker;
    for (size_t index = last;; index = steps[index].parent) {
      const Step& step = steps[index];
      const uint32_t outgoing = at(step.partition, step.slot);
      set(step.partition, step.slot, incoming);
      if (index == 0)
        break;
      incoming = outgoing;
    }
  }

  // Nothing fits a hole: repeat a zone (an under-quota node of a zone the
  // list has) or, failing that, exceed a quota. Counted, never silent.
  void force(uint32_t partition) {
    const uint32_t slot = hole_of(partition);
    const View around = view(partition, slot);
    if (const auto taker = takers_.best(around.members, Tier::node_distinct)) {
      set(partition, slot, *taker);
      ++zone_repeats_;
      return;
    }
    set(partition, slot, least_loaded_outside(table_, around.members, counts_, quota_));
    ++over_quota_;
  }

  const Table& table_;
  const std::vector<std::vector<uint32_t>>& column_quotas_;
  uint32_t partition_bits_;
  std::vector<uint32_t> quota_;
  std::vector<uint32_t> sets_;
  std::vector<uint32_t> counts_;
  TakerQueue takers_;
  uint64_t budget_;
  uint32_t zone_repeats_ = 0;
  uint32_t over_quota_ = 0;
};

// Phase 2: the order of each list's set, column by column against the column
// quotas (so every n up to the width is balanced), keeping a node where it
// was where it can. Only positions change here: nothing is copied for a
// store with n = width.
class Orderer {
 public:
  Orderer(const Table& table, std::vector<std::vector<uint32_t>> quotas,
          const std::vector<uint32_t>& sets, const std::vector<uint32_t>& previous,
          uint32_t previous_width, uint64_t budget)
      : table_(table),
        partition_bits_(static_cast<uint32_t>(std::countr_zero(table.partition_count))),
        quotas_(std::move(quotas)),
        sets_(sets),
        previous_(previous),
        previous_width_(previous_width),
        out_(sets.size(), kHole),
        used_(table.partition_count, 0),
        budget_(budget) {}

  std::vector<uint32_t> run(uint32_t& zone_repeats, uint32_t& over_quota) {
    for (uint32_t column = 0; column < table_.width; ++column)
      order_column(column);
    zone_repeats += zone_repeats_;
    over_quota += over_quota_;
    return std::move(out_);
  }

 private:
  uint32_t member(uint32_t partition, uint32_t slot) const {
    return sets_[size_t{partition} * table_.width + slot];
  }
  uint32_t& placed(uint32_t partition, uint32_t column) {
    return out_[size_t{partition} * table_.width + column];
  }
  bool is_used(uint32_t partition, uint32_t slot) const { return (used_[partition] >> slot) & 1u; }

  // Whether the member in `slot` may take `column`: within the first
  // zone_columns, its zone is new to the list and the members left still
  // bring enough new zones for the columns after it.
  bool zone_ok(uint32_t partition, uint32_t column, uint32_t slot) const {
    if (column >= table_.zone_columns)
      return true;
    std::vector<uint32_t> zones;
    for (uint32_t before = 0; before < column; ++before)
      zones.push_back(table_.zone_of_node[out_[size_t{partition} * table_.width + before]]);
    const uint32_t zone = table_.zone_of_node[member(partition, slot)];
    if (std::find(zones.begin(), zones.end(), zone) != zones.end())
      return false;
    zones.push_back(zone);
    uint32_t fresh = 0;
    for (uint32_t other = 0; other < table_.width; ++other) {
      if (other == slot || is_used(partition, other))
        continue;
      const uint32_t other_zone = table_.zone_of_node[member(partition, other)];
      if (std::find(zones.begin(), zones.end(), other_zone) == zones.end()) {
        zones.push_back(other_zone);
        ++fresh;
      }
    }
    return fresh + column + 1 >= table_.zone_columns;
  }

  void pick(uint32_t partition, uint32_t column, uint32_t slot) {
    used_[partition] |= 1u << slot;
    placed(partition, column) = member(partition, slot);
    picked_slot_[partition] = slot;
    ++counts_[member(partition, slot)];
  }
  void unpick(uint32_t partition, uint32_t column) {
    const uint32_t slot = picked_slot_[partition];
    used_[partition] &= ~(1u << slot);
    --counts_[placed(partition, column)];
    placed(partition, column) = kHole;
    picked_slot_[partition] = kHole;
  }

  bool under_quota(uint32_t node) const { return counts_[node] < quota_[node]; }

  // Whether `node` was among the first `prefix` entries of the list before.
  bool was_within(uint32_t partition, uint32_t prefix, uint32_t node) const {
    for (uint32_t column = 0; column < std::min(prefix, previous_width_); ++column) {
      if (previous_[size_t{partition} * previous_width_ + column] == node)
        return true;
    }
    return false;
  }

  // A pick is free when its node was among the first column + 1 entries of
  // the list before: then a store with n = column + 1 copies nothing for it.
  // First as many free picks as the quotas allow (greedy, then chains of
  // re-picks), then the rest.
  void order_column(uint32_t column) {
    quota_ = quotas_[column];
    counts_.assign(table_.nodes.size(), 0);
    picked_slot_.assign(table_.partition_count, kHole);
    // Hungry nodes have a larger quota than the lists where they are free:
    // they need lists where they are not. Lists with a hungry member take
    // their free picks last, so that the quotas the free picks run out of
    // leave exactly those lists to the hungry.
    std::vector<uint32_t> supply(table_.nodes.size(), 0);
    for (uint32_t partition = 0; partition < table_.partition_count; ++partition) {
      for (uint32_t slot = 0; slot < table_.width; ++slot) {
        if (candidate(partition, column, slot, true))
          ++supply[member(partition, slot)];
      }
    }
    std::vector<uint32_t> order[2];
    for (uint32_t index = 0; index < table_.partition_count; ++index) {
      const uint32_t partition = bit_reversed(index, partition_bits_);
      bool hungry = false;
      for (uint32_t slot = 0; slot < table_.width && !hungry; ++slot) {
        const uint32_t node = member(partition, slot);
        hungry = candidate(partition, column, slot, false) && quota_[node] > supply[node];
      }
      order[hungry ? 1 : 0].push_back(partition);
    }
    order[0].insert(order[0].end(), order[1].begin(), order[1].end());
    for (bool free_only : {true, false}) {
      std::vector<uint32_t> stuck;
      for (uint32_t partition : order[0]) {
        if (picked_slot_[partition] != kHole)
          continue;
        const uint32_t slot = best_slot(partition, column, free_only);
        if (slot != kHole)
          pick(partition, column, slot);
        else if (!free_only || has_candidate(partition, column, free_only))
          stuck.push_back(partition);
      }
      for (uint32_t partition : stuck) {
        if (!augment(partition, column, free_only) && !free_only)
          force(partition, column);
      }
    }
  }

  bool candidate(uint32_t partition, uint32_t column, uint32_t slot, bool free_only) const {
    return !is_used(partition, slot) && zone_ok(partition, column, slot) &&
           (!free_only || was_within(partition, column + 1, member(partition, slot)));
  }

  bool has_candidate(uint32_t partition, uint32_t column, bool free_only) const {
    for (uint32_t slot = 0; slot < table_.width; ++slot) {
      if (candidate(partition, column, slot, free_only))
        return true;
    }
    return false;
  }

  // The member to place, under quota: the one that was in this column, then
  // the one furthest behind its quota (earliest deadline).
  uint32_t best_slot(uint32_t partition, uint32_t column, bool free_only) const {
    const uint32_t old =
        column < previous_width_ ? previous_[size_t{partition} * previous_width_ + column] : kHole;
    uint32_t best = kHole;
    for (uint32_t slot = 0; slot < table_.width; ++slot) {
      const uint32_t node = member(partition, slot);
      if (!candidate(partition, column, slot, free_only) || !under_quota(node))
        continue;
      if (node == old)
        return slot;
      if (best != kHole) {
        const uint32_t other = member(partition, best);
        if (uint64_t{2 * counts_[node] + 1} * (2 * uint64_t{quota_[other]}) >=
            uint64_t{2 * counts_[other] + 1} * (2 * uint64_t{quota_[node]}))
          continue;
      }
      best = slot;
    }
    return best;
  }

  struct Step {
    uint32_t partition;
    uint32_t slot;    // the member this list takes
    uint32_t parent;  // index into the steps
  };

  // A chain of lists, each giving up its pick in this column to take
  // another of its members, so the list before it can take the node it gave
  // up; ending at a list that can take an under-quota member. Bounded.
  bool augment(uint32_t partition, uint32_t column, bool free_only) {
    // Indexing the lists costs a pass over them: charged to the budget, so
    // that all the stuck lists of a plan cost at most the budget.
    if (budget_ < table_.partition_count)
      return false;
    budget_ -= table_.partition_count;
    std::vector<std::vector<uint32_t>> picked_by(table_.nodes.size());
    for (uint32_t list = 0; list < table_.partition_count; ++list) {
      if (picked_slot_[list] != kHole)
        picked_by[placed(list, column)].push_back(list);
    }
    std::vector<bool> visited(table_.partition_count, false);
    std::vector<Step> steps{{partition, kHole, 0}};
    visited[partition] = true;
    for (size_t next = 0; next < steps.size(); ++next) {
      const uint32_t list = steps[next].partition;
      // A list on the chain gives up its pick: look at its members as if free.
      const uint32_t own = picked_slot_[list];
      if (own != kHole)
        unpick(list, column);
      uint32_t found = kHole;
      for (uint32_t slot = 0; slot < table_.width && found == kHole; ++slot) {
        if (slot != own && candidate(list, column, slot, free_only) &&
            under_quota(member(list, slot)))
          found = slot;
      }
      std::vector<uint32_t> candidates;
      if (found == kHole) {
        for (uint32_t slot = 0; slot < table_.width; ++slot) {
          if (slot != own && candidate(list, column, slot, free_only))
            candidates.push_back(slot);
        }
      }
      if (own != kHole)
        pick(list, column, own);
      if (found != kHole) {
        apply(steps, next, found, column);
        return true;
      }
      for (uint32_t slot : candidates) {
        for (uint32_t other : picked_by[member(list, slot)]) {
          if (visited[other])
            continue;
          if (budget_ == 0)
            return false;
          --budget_;
          visited[other] = true;
          steps.push_back({other, slot, static_cast<uint32_t>(next)});
        }
        picked_by[member(list, slot)].clear();
      }
    }
    return false;
  }

  // The last list on the chain takes `slot`; every list before it takes
  // the member (by node) the list after it gave up.
  void apply(const std::vector<Step>& steps, size_t last, uint32_t slot, uint32_t column) {
    uint32_t take = slot;
    for (size_t index = last;; index = steps[index].parent) {
      const uint32_t list = steps[index].partition;
      if (picked_slot_[list] != kHole)
        unpick(list, column);
      pick(list, column, take);
      if (index == 0)
        break;
      take = steps[index].slot;
    }
  }

  // Nothing fits: a member that keeps the zones (over quota), or any member.
  void force(uint32_t partition, uint32_t column) {
    for (uint32_t slot = 0; slot < table_.width; ++slot) {
      if (!is_used(partition, slot) && zone_ok(partition, column, slot)) {
        pick(partition, column, slot);
        ++over_quota_;
        return;
      }
    }
    for (uint32_t slot = 0; slot < table_.width; ++slot) {
      if (!is_used(partition, slot)) {
        pick(partition, column, slot);
        ++zone_repeats_;
        return;
      }
    }
  }

  const Table& table_;
  uint32_t partition_bits_;
  std::vector<std::vector<uint32_t>> quotas_;
  const std::vector<uint32_t>& sets_;
  const std::vector<uint32_t>& previous_;
  uint32_t previous_width_;
  std::vector<uint32_t> out_;
  std::vector<uint32_t> used_;  // per list, a bit per slot of its set already placed
  std::vector<uint32_t> quota_;
  std::vector<uint32_t> counts_;
  std::vector<uint32_t> picked_slot_;  // per list, the slot placed in this column
  uint64_t budget_;
  uint32_t zone_repeats_ = 0;
  uint32_t over_quota_ = 0;
};

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
    for (size_t node = 0; node < nodes.size(); ++node) {
      const uint32_t quota = plan.prefix_quotas[prefix - 1][node];
      const uint32_t before = held[prefix - 1][node];
      plan.moved_lower_bound[prefix - 1] += quota > before ? quota - before : 0;
    }
  }

  // Two placements, the better kept (see replica_lists.h): column by column,
  // and — unless that one already met every rule and moved the lower bound
  // for every n (a new cluster, a change where zones outnumber the width) —
  // sets first then their order.
  const uint64_t budget = 16 * uint64_t{partition_count} + (uint64_t{1} << 22);
  const std::vector<uint32_t> kept_lists = lists;
  ListPlacer placer(table, quotas, std::move(lists), previous, previous_width);
  placer.set_exchange_budget(budget);
  plan.entries = placer.run(plan.zone_repeats, plan.over_quota);
  std::vector<uint64_t> moved = moves(plan.entries, previous, plan.width, previous_width);
  plan.moved.assign(moved.rbegin(), moved.rend());
  if (plan.zone_repeats + plan.over_quota == 0 && plan.moved == plan.moved_lower_bound)
    return plan;
  uint32_t set_zone_repeats = 0, set_over_quota = 0;
  SetPlacer sets(table, plan.prefix_quotas[plan.width - 1], quotas, kept_lists, budget);
  const std::vector<uint32_t> chosen = sets.run(set_zone_repeats, set_over_quota);
  Orderer orderer(table, std::move(quotas), chosen, previous, previous_width, budget);
  std::vector<uint32_t> two_phase = orderer.run(set_zone_repeats, set_over_quota);
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
