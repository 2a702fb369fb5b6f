// Assignment: quotas, then placement with minimal movement; see assignment.h.
#include "ring/assignment.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>

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

constexpr uint32_t kUnowned = UINT32_MAX;

Result<std::vector<RingNode>> sorted_table(std::vector<RingNode> nodes) {
  if (nodes.size() > kNodeCountMax)
    return Status(Code::invalid_argument, "more than " + std::to_string(kNodeCountMax) + " nodes");
  for (const RingNode& node : nodes) {
    if (Status status = validate(node); !status.ok())
      return status;
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const RingNode& left, const RingNode& right) { return left.id < right.id; });
  for (size_t index = 1; index < nodes.size(); ++index) {
    if (nodes[index - 1].id == nodes[index].id)
      return Status(Code::invalid_argument, "duplicate node id \"" + nodes[index].id + "\"");
  }
  return nodes;
}

uint32_t ceil_div(uint32_t numerator, uint32_t denominator) {
  return (numerator + denominator - 1) / denominator;
}

struct QuotaInput {
  uint32_t partition_count = 0;
  uint32_t replica_count = 0;
  const std::vector<RingNode>* nodes = nullptr;
  const std::vector<uint32_t>* zone_of_node = nullptr;
  uint32_t zone_count = 0;
  const std::vector<uint32_t>* previous_counts = nullptr;
};

std::vector<uint32_t> compute_quotas(const QuotaInput& in) {
  const auto& nodes = *in.nodes;
  const auto& zone_of_node = *in.zone_of_node;
  uint32_t active_count = 0;
  std::vector<uint64_t> zone_weight(in.zone_count, 0);
  std::vector<uint32_t> zone_previous(in.zone_count, 0);
  uint64_t weight_total = 0;
  for (size_t index = 0; index < nodes.size(); ++index) {
    if (nodes[index].state != NodeState::active)
      continue;
    ++active_count;
    zone_weight[zone_of_node[index]] += nodes[index].capacity;
    zone_previous[zone_of_node[index]] += (*in.previous_counts)[index];
    weight_total += nodes[index].capacity;
  }
  const uint32_t active_zones = static_cast<uint32_t>(
      std::count_if(zone_weight.begin(), zone_weight.end(), [](uint64_t w) { return w > 0; }));
  const uint32_t window_cap = ceil_div(in.partition_count, in.replica_count);
  const uint32_t node_cap = active_count >= in.replica_count ? window_cap : in.partition_count;
  auto node_claims = [&](std::optional<uint32_t> zone) {
    std::vector<QuotaClaim> claims(nodes.size());
    for (size_t index = 0; index < nodes.size(); ++index) {
      const bool counted =
          nodes[index].state == NodeState::active && (!zone || zone_of_node[index] == *zone);
      claims[index] = {counted ? nodes[index].capacity : 0u, node_cap,
                       (*in.previous_counts)[index]};
    }
    return claims;
  };
  bool zone_cap_binds = false;
  if (in.replica_count >= 2 && active_zones >= in.replica_count) {
    for (uint64_t weight : zone_weight)
      zone_cap_binds |= uint64_t{in.partition_count} * weight > uint64_t{window_cap} * weight_total;
  }
  if (!zone_cap_binds)
    return apportion(in.partition_count, node_claims(std::nullopt));
  std::vector<QuotaClaim> zone_claims(in.zone_count);
  for (uint32_t zone = 0; zone < in.zone_count; ++zone)
    zone_claims[zone] = {zone_weight[zone], window_cap, zone_previous[zone]};
  const std::vector<uint32_t> zone_quotas = apportion(in.partition_count, zone_claims);
  std::vector<uint32_t> quotas(nodes.size(), 0);
  for (uint32_t zone = 0; zone < in.zone_count; ++zone) {
    const std::vector<uint32_t> within = apportion(zone_quotas[zone], node_claims(zone));
    for (size_t index = 0; index < nodes.size(); ++index)
      quotas[index] += within[index];
  }
  return quotas;
}

class Placer {
 public:
  // `previous` holds the previous owners (kUnowned where gone): moves are
  // counted against it.
  Placer(uint32_t partition_bits, const std::vector<uint32_t>& zone_of_node, uint32_t zone_count,
         std::vector<uint32_t> quotas, std::vector<uint32_t> owners,
         const std::vector<uint32_t>& previous)
      : partition_bits_(partition_bits),
        partition_count_(uint32_t{1} << partition_bits),
        zone_of_node_(zone_of_node),
        quotas_(std::move(quotas)),
        owners_(std::move(owners)),
        previous_(previous),
        counts_(quotas_.size(), 0),
        takers_(zone_of_node, zone_count) {}

  // REQUIRES: the quotas sum to Q. Moves at most `moved_max` partitions in
  // the repair pass (placement itself moves only what it must).
  std::vector<uint32_t> run(uint32_t replica_count, uint32_t moved_max) {
    set_reach(replica_count);
    for (uint32_t owner : owners_) {
      if (owner != kUnowned)
        ++counts_[owner];
    }
    for (uint32_t node = 0; node < quotas_.size(); ++node)
      takers_.update(node, counts_[node], quotas_[node]);
    const bool all_unowned =
        std::all_of(owners_.begin(), owners_.end(), [](uint32_t o) { return o == kUnowned; });
    if (all_unowned)
      fill_in_ring_order();
    else
      rebalance();
    RINGKV_ASSERT(takers_.empty(), "every partition given a taker");
    repair(moved_max);
    return std::move(owners_);
  }

 private:
  // Whether the owner of `partition` breaks a preference list: with at least n
  // zones, its zone repeats within n - 1 partitions; otherwise its node does.
  // A layout where no partition breaks a list has only regular windows.
  bool breaks_a_list(uint32_t partition) const {
    const uint32_t owner = owners_[partition];
    for (uint32_t distance = 1; distance <= list_reach_; ++distance) {
      for (bool clockwise : {true, false}) {
        const uint32_t position = at_offset(partition, distance, clockwise);
        const uint32_t other = owners_[position];
        if (position == partition)
          continue;
        if (zones_per_list_ ? zone_of_node_[other] == zone_of_node_[owner] : other == owner)
          return true;
      }
    }
    return false;
  }

  // 1 if `partition` owned by `node` counts as moved, else 0.
  uint32_t moved(uint32_t partition, uint32_t node) const {
    return node != previous_[partition] ? 1 : 0;
  }

  // Swaps the owners of partitions that break a list with others, when both
  // then break none: every swap removes at least one conflicting pair and adds
  // none, and keeps every node's count. Swaps that add no move are tried
  // first; the rest only while the plan moves at most `moved_max` partitions.
  // The scan is bounded, so a layout that cannot be fully repaired (too few
  // nodes or zones) costs O(Q) tries, not O(Q^2).
  void repair(uint32_t moved_max) {
    uint32_t moved_now = 0;
    for (uint32_t partition = 0; partition < partition_count_; ++partition)
      moved_now += moved(partition, owners_[partition]);
    uint64_t tries_left = 4 * uint64_t{partition_count_} + 65536;
    for (uint32_t dirty = 0; dirty < partition_count_; ++dirty) {
      for (int pass = 0; pass < 2 && breaks_a_list(dirty); ++pass) {
        for (uint32_t step = 1; step < partition_count_; ++step) {
          if (tries_left-- == 0)
            return;
          const uint32_t other = (dirty + step) % partition_count_;
          const uint32_t node = owners_[dirty];
          const uint32_t other_node = owners_[other];
          if (node == other_node)
            continue;
          const int64_t delta = int64_t{moved(dirty, other_node)} + moved(other, node) -
                                moved(dirty, node) - moved(other, other_node);
          if (pass == 0 ? delta > 0 : int64_t{moved_now} + delta > int64_t{moved_max})
            continue;
          std::swap(owners_[dirty], owners_[other]);
          if (!breaks_a_list(dirty) && !breaks_a_list(other)) {
            moved_now = static_cast<uint32_t>(int64_t{moved_now} + delta);
            break;
          }
          std::swap(owners_[dirty], owners_[other]);
        }
      }
    }
  }

  void set_reach(uint32_t replica_count) {
    uint32_t placed_nodes = 0;
    std::set<uint32_t> zones;
    for (uint32_t node = 0; node < quotas_.size(); ++node) {
      if (quotas_[node] > 0) {
        ++placed_nodes;
        zones.insert(zone_of_node_[node]);
      }
    }
    node_reach_ = std::min(replica_count, placed_nodes) - 1;
    zone_reach_ = std::min<uint32_t>(replica_count, static_cast<uint32_t>(zones.size())) - 1;
    zones_per_list_ = zones.size() >= replica_count;
    list_reach_ = zones_per_list_ ? zone_reach_ : node_reach_;
  }

  uint32_t at_offset(uint32_t partition, uint32_t distance, bool clockwise) const {
    const uint32_t step = distance % partition_count_;
    return clockwise ? (partition + step) % partition_count_
                     : (partition + partition_count_ - step) % partition_count_;
  }

  Neighborhood neighborhood(uint32_t partition) const {
    Neighborhood out;
    const uint32_t reach = std::max(node_reach_, zone_reach_);
    for (uint32_t distance = 1; distance <= reach; ++distance) {
      for (bool clockwise : {true, false}) {
        const uint32_t position = at_offset(partition, distance, clockwise);
        const uint32_t owner = owners_[position];
        if (position == partition || owner == kUnowned)
          continue;
        if (distance <= node_reach_)
          out.nodes.push_back(owner);
        if (distance <= zone_reach_)
          out.zones.push_back(zone_of_node_[owner]);
      }
    }
    return out;
  }

  bool is_clean(uint32_t partition) const {
    const uint32_t owner = owners_[partition];
    const Neighborhood around = neighborhood(partition);
    return !around.has_node(owner) && !around.has_zone(zone_of_node_[owner]);
  }

  // Gives `partition` to the best taker allowed at `tier` or a stricter one.
  bool give(uint32_t partition, Tier tier_max) {
    const Neighborhood around = neighborhood(partition);
    for (Tier tier : {Tier::clean, Tier::node_distinct, Tier::anywhere}) {
      if (tier > tier_max)
        break;
      if (const auto taker = takers_.best(around, tier)) {
        set_owner(partition, *taker);
        return true;
      }
    }
    return false;
  }

  void set_owner(uint32_t partition, uint32_t node) {
    const uint32_t previous = owners_[partition];
    owners_[partition] = node;
    if (previous != kUnowned) {
      --counts_[previous];
      takers_.update(previous, counts_[previous], quotas_[previous]);
    }
    ++counts_[node];
    takers_.update(node, counts_[node], quotas_[node]);
  }

  void fill_in_ring_order() {
    for (uint32_t partition = 0; partition < partition_count_; ++partition) {
      const bool given = give(partition, Tier::anywhere);
      RINGKV_ASSERT(given, "a node could take the partition");
      (void)given;
    }
  }

  bool must_or_may_move(uint32_t partition, bool dirty_only) const {
    const uint32_t owner = owners_[partition];
    if (owner == kUnowned)
      return true;
    if (counts_[owner] <= quotas_[owner])
      return false;
    return !dirty_only || !is_clean(partition);
  }

  // Fills unowned partitions and moves surplus ones, strictest tier first;
  // within a tier, surplus partitions that already break a window go first.
  void rebalance() {
    for (Tier tier : {Tier::clean, Tier::node_distinct, Tier::anywhere}) {
      for (bool dirty_only : {true, false}) {
        for (uint32_t index = 0; index < partition_count_ && !takers_.empty(); ++index) {
          const uint32_t partition = bit_reversed(index, partition_bits_);
          if (must_or_may_move(partition, dirty_only))
            give(partition, tier);
        }
      }
    }
  }

  uint32_t partition_bits_;
  uint32_t partition_count_;
  const std::vector<uint32_t>& zone_of_node_;
  std::vector<uint32_t> quotas_;
  std::vector<uint32_t> owners_;
  const std::vector<uint32_t>& previous_;
  std::vector<uint32_t> counts_;
  TakerQueue takers_;
  uint32_t node_reach_ = 0;
  uint32_t zone_reach_ = 0;
  bool zones_per_list_ = false;  // at least n zones: lists take one node per zone
  uint32_t list_reach_ = 0;      // the reach within which a repeat breaks a list
};

// The previous owners, renumbered to the new table; kUnowned where the owner
// is gone.
std::vector<uint32_t> carried_owners(const Layout& previous, const Layout& new_table) {
  std::vector<uint32_t> out(previous.partition_count(), kUnowned);
  if (previous.is_empty())
    return out;
  std::vector<uint32_t> renumbered(previous.nodes().size(), kUnowned);
  for (size_t index = 0; index < previous.nodes().size(); ++index) {
    if (const auto found = new_table.node_index(previous.nodes()[index].id))
      renumbered[index] = *found;
  }
  for (uint32_t partition = 0; partition < out.size(); ++partition)
    out[partition] = renumbered[previous.owner(partition)];
  return out;
}

}  // namespace

Result<AssignmentPlan> plan_assignment(const Layout& previous, std::vector<RingNode> nodes,
                                       uint32_t replica_count) {
  if (replica_count < 1 || replica_count > kReplicationMax)
    return Status(Code::invalid_argument, "n must be 1.." + std::to_string(kReplicationMax) +
                                              ", not " + std::to_string(replica_count));
  auto sorted = sorted_table(std::move(nodes));
  if (!sorted.ok())
    return sorted.status();
  if (std::none_of(sorted->begin(), sorted->end(),
                   [](const RingNode& node) { return node.state == NodeState::active; }))
    return Status(Code::invalid_argument, "a layout needs at least one active node");
  const uint32_t partition_bits = previous.partition_bits();
  const uint32_t partition_count = previous.partition_count();
  // The table alone (all partitions on node 0) only serves id lookups here.
  auto table = Layout::create(partition_bits, previous.version() + 1, *sorted,
                              std::vector<uint32_t>(partition_count, 0));
  RINGKV_ASSERT(table.ok(), "a preference table for a valid layout");
  std::vector<uint32_t> owners = carried_owners(previous, *table);
  std::vector<uint32_t> previous_counts(sorted->size(), 0);
  for (uint32_t owner : owners) {
    if (owner != kUnowned)
      ++previous_counts[owner];
  }
  uint32_t zone_count = 0;
  const std::vector<uint32_t> zone_of_node = zone_numbers(*sorted, zone_count);
  std::vector<uint32_t> quotas = compute_quotas(
      {partition_count, replica_count, &*sorted, &zone_of_node, zone_count, &previous_counts});
  for (uint32_t& owner : owners) {
    if (owner != kUnowned && quotas[owner] == 0)
      owner = kUnowned;  // leaving: everything it holds must move
  }
  AssignmentPlan plan;
  plan.quotas = quotas;
  for (size_t index = 0; index < quotas.size(); ++index)
    plan.moved_lower_bound +=
        quotas[index] > previous_counts[index] ? quotas[index] - previous_counts[index] : 0;
  const std::vector<uint32_t> carried = carried_owners(previous, *table);
  // A new cluster moves everything anyway; a change may move half again the
  // lower bound to repair preference lists (nothing when nothing changed).
  const uint32_t moved_max =
      previous.is_empty() ? partition_count : plan.moved_lower_bound + plan.moved_lower_bound / 2;
  Placer placer(partition_bits, zone_of_node, zone_count, std::move(quotas), owners, carried);
  std::vector<uint32_t> placed = placer.run(replica_count, moved_max);
  for (uint32_t partition = 0; partition < partition_count; ++partition)
    plan.moved_partitions += placed[partition] != carried[partition] ? 1 : 0;
  auto layout =
      Layout::create(partition_bits, previous.version() + 1, std::move(*sorted), std::move(placed));
  RINGKV_ASSERT(layout.ok(), "a valid planned layout");
  plan.layout = std::move(*layout);
  plan.balance = measure_balance(plan.layout, replica_count);
  uint64_t entries = 0;
  for (const NodeBalance& node : plan.balance.nodes)
    entries += node.replica_partitions;
  const uint64_t width = entries / partition_count;
  for (size_t index = 0; index < plan.quotas.size(); ++index) {
    if (plan.quotas[index] == 0)
      continue;
    const double wanted = double(width) * plan.quotas[index];
    plan.max_replica_quota_error =
        std::max(plan.max_replica_quota_error,
                 std::abs(double(plan.balance.nodes[index].replica_partitions) - wanted) / wanted);
  }
  return plan;
}

Result<std::vector<RingNode>> apply_change(const std::vector<RingNode>& nodes,
                                           const NodeTableChange& change) {
  std::map<std::string, RingNode> table;
  for (const RingNode& node : nodes)
    table[node.id] = node;
  std::set<std::string> touched;
  for (const std::string& id : change.remove) {
    if (table.erase(id) == 0)
      return Status(Code::not_found, "cannot remove unknown node \"" + id + "\"");
    touched.insert(id);
  }
  for (const RingNode& node : change.upsert) {
    if (!touched.insert(node.id).second)
      return Status(Code::invalid_argument,
                    "node \"" + node.id + "\" is changed twice in one change");
    table[node.id] = node;
  }
  std::vector<RingNode> out;
  out.reserve(table.size());
  for (auto& [id, node] : table)
    out.push_back(std::move(node));
  return out;
}

}  // namespace ringkv
