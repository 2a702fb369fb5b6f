// Placement b of the replica lists (replica_lists.h, step 2b): sets first,
// then order. SetPlacer chooses which nodes each list holds against the quotas
// for n = width; Orderer then orders each set column by column against the
// column quotas, as many "free" picks (a node that was within the first j + 1
// entries of the list before) as the quotas allow. Only positions change in
// the second phase, so it copies nothing for a store with n = width.
#include <algorithm>
#include <bit>
#include <optional>
#include <utility>
#include <vector>

#include "ring/list_placers.h"
#include "ring/placement.h"

namespace ringkv::ring_detail {
namespace {

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

  // A chain of lists, each passing one member to the list before it, ending
  // at a list an under-quota node fits (augment_chain, list_placers.h).
  bool augment(uint32_t partition) {
    if (!charge_index_pass(budget_, table_.partition_count))
      return false;
    const std::vector<uint32_t> takers = chain_takers(
        table_.nodes.size(), [&](uint32_t node) { return counts_[node] < quota_[node]; });
    if (takers.empty())
      return false;
    std::vector<std::vector<ListSlot>> holding(table_.nodes.size());
    for (uint32_t index = 0; index < table_.partition_count; ++index) {
      const uint32_t list = bit_reversed(index, partition_bits_);
      for (uint32_t slot = 0; slot < table_.width; ++slot) {
        if (at(list, slot) != kHole && list != partition)
          holding[at(list, slot)].push_back({list, slot});
      }
    }
    return augment_chain(
        {partition, hole_of(partition)}, table_.partition_count, takers, std::move(holding),
        budget_, [&](ListSlot entry) { return view(entry.partition, entry.slot); },
        [&](const View& around, uint32_t node) { return fits(around, node); },
        [&](ListSlot entry) { return at(entry.partition, entry.slot); },
        [&](ListSlot entry, uint32_t node) { set(entry.partition, entry.slot, node); });
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
  // up; ending at a list that can take an under-quota member. Bounded. Not
  // augment_chain (list_placers.h): a step here re-picks among its own
  // members, looked at with its pick undone, and the chain may end at the
  // stuck list itself.
  bool augment(uint32_t partition, uint32_t column, bool free_only) {
    if (!charge_index_pass(budget_, table_.partition_count))
      return false;
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

}  // namespace

std::vector<uint32_t> place_by_sets(const Table& table, std::vector<uint32_t> quota,
                                    std::vector<std::vector<uint32_t>> quotas,
                                    std::vector<uint32_t> lists,
                                    const std::vector<uint32_t>& previous, uint32_t previous_width,
                                    uint64_t budget, uint32_t& zone_repeats, uint32_t& over_quota) {
  SetPlacer sets(table, std::move(quota), quotas, std::move(lists), budget);
  const std::vector<uint32_t> chosen = sets.run(zone_repeats, over_quota);
  Orderer orderer(table, std::move(quotas), chosen, previous, previous_width, budget);
  return orderer.run(zone_repeats, over_quota);
}

}  // namespace ringkv::ring_detail
