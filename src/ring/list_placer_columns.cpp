// Placement a of the replica lists (replica_lists.h, step 2a): column by
// column. An entry stays unless its node is gone, leaving, repeats a node (or
// zone) of an earlier column of its list, or is over its column quota; a hole
// is filled from the list's own previous nodes, then by the earliest
// under-quota taker that fits, then by a chain of exchanges with other lists,
// and only then by a zone repeat or an entry above a quota (counted).
#include <bit>
#include <optional>
#include <utility>
#include <vector>

#include "ring/list_placers.h"
#include "ring/placement.h"

namespace ringkv::ring_detail {
namespace {

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

  // A chain of lists, each of which can pass its entry in this column to the
  // previous one, ending at a list that an under-quota node fits; the chain
  // shifts by one (augment_chain, list_placers.h).
  bool augment(uint32_t partition, uint32_t column) {
    if (!charge_index_pass(exchange_budget_, table_.partition_count))
      return false;
    const std::vector<uint32_t> takers =
        chain_takers(table_.nodes.size(), [&](uint32_t node) { return under_quota(node); });
    if (takers.empty())
      return false;
    std::vector<std::vector<ListSlot>> holding(table_.nodes.size());
    for (uint32_t index = 0; index < table_.partition_count; ++index) {
      const uint32_t other = visit(index, column);
      if (at(other, column) != kHole)
        holding[at(other, column)].push_back({other, column});
    }
    return augment_chain(
        {partition, column}, table_.partition_count, takers, std::move(holding), exchange_budget_,
        [&](ListSlot entry) { return before(entry.partition, entry.slot); },
        [&](const Neighborhood& around, uint32_t node) { return fits(around, column, node); },
        [&](ListSlot entry) { return at(entry.partition, entry.slot); },
        [&](ListSlot entry, uint32_t node) { set(entry.partition, entry.slot, node); });
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

std::vector<uint32_t> place_by_columns(const Table& table,
                                       std::vector<std::vector<uint32_t>> quotas,
                                       std::vector<uint32_t> lists,
                                       const std::vector<uint32_t>& previous,
                                       uint32_t previous_width, uint64_t budget,
                                       uint32_t& zone_repeats, uint32_t& over_quota) {
  ListPlacer placer(table, std::move(quotas), std::move(lists), previous, previous_width);
  placer.set_exchange_budget(budget);
  return placer.run(zone_repeats, over_quota);
}

}  // namespace ringkv::ring_detail
