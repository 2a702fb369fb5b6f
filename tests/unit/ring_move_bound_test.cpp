// The zone-aware lower bound on moved replicas (ring/move_bound.h): never
// above the true minimum (checked against an exhaustive search on small
// tables), and above the simple per-node bound where the zone rule forces
// exchanges.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <limits>
#include <optional>
#include <random>

#include "ring/move_bound.h"

namespace ringkv {
namespace {

constexpr uint32_t kGone = UINT32_MAX;

// The fewest (partition, node) pairs new to the lists of a layout of
// `input.n`-node sets that gives each node exactly its quota, by trying every
// such layout. A set is allowed when it can be ordered with its first
// `zone_columns` entries in distinct zones: it spans at least
// min(zone_columns, n) zones. Empty optional: no layout exists.
std::optional<uint64_t> exhaustive_minimum(const MoveBoundInput& input) {
  const uint32_t nodes = static_cast<uint32_t>(input.quota.size());
  const size_t zones_needed = std::min(input.zone_columns, input.n);
  std::vector<std::vector<uint32_t>> sets;  // every allowed n-set of nodes
  std::vector<uint32_t> current;
  std::function<void(uint32_t)> choose = [&](uint32_t from) {
    if (current.size() == input.n) {
      std::vector<uint32_t> zones;
      for (uint32_t node : current)
        zones.push_back(input.zone_of_node[node]);
      std::sort(zones.begin(), zones.end());
      if (size_t(std::unique(zones.begin(), zones.end()) - zones.begin()) >= zones_needed)
        sets.push_back(current);
      return;
    }
    for (uint32_t node = from; node < nodes; ++node) {
      current.push_back(node);
      choose(node + 1);
      current.pop_back();
    }
  };
  choose(0);
  std::vector<uint32_t> left = input.quota;
  uint64_t best = std::numeric_limits<uint64_t>::max();
  std::function<void(uint32_t, uint64_t)> place = [&](uint32_t partition, uint64_t moved) {
    if (moved >= best)
      return;
    if (partition == input.partition_count) {
      if (std::all_of(left.begin(), left.end(), [](uint32_t count) { return count == 0; }))
        best = moved;
      return;
    }
    const uint32_t* before = input.previous.data() + size_t{partition} * input.n;
    for (const std::vector<uint32_t>& set : sets) {
      if (std::any_of(set.begin(), set.end(), [&](uint32_t node) { return left[node] == 0; }))
        continue;
      uint64_t added = 0;
      for (uint32_t node : set) {
        --left[node];
        added += std::find(before, before + input.n, node) == before + input.n ? 1 : 0;
      }
      place(partition + 1, moved + added);
      for (uint32_t node : set)
        ++left[node];
    }
  };
  place(0, 0);
  if (best == std::numeric_limits<uint64_t>::max())
    return std::nullopt;
  return best;
}

std::vector<uint32_t> held_of(const MoveBoundInput& input) {
  std::vector<uint32_t> held(input.quota.size(), 0);
  for (uint32_t node : input.previous) {
    if (node != kGone)
      ++held[node];
  }
  return held;
}

// Zones a, b, c; nodes a0 a1 | b0 | c0; n = 2, four lists. Before: lists 0
// and 1 held a0 and b0, lists 2 and 3 a1 and c0. a0 is removed; now a1 must
// hold 2 entries, b0 3 and c0 3.
MoveBoundInput removal_across_zones() {
  MoveBoundInput input;
  input.partition_count = 4;
  input.n = 2;
  input.zone_columns = 2;
  input.zone_count = 3;
  input.zone_of_node = {0, 0, 1, 2};  // a0, a1, b0, c0
  input.quota = {0, 2, 3, 3};
  input.previous = {kGone, 2, kGone, 2, 1, 3, 1, 3};
  input.held = held_of(input);
  return input;
}

TEST(MoveBoundTest, ARemovalThatForcesExchangesBetweenZonesCountsThem) {
  const MoveBoundInput input = removal_across_zones();
  // The simple bound counts b0's and c0's one extra entry each: 2. But the
  // lists that lost a0 already hold b0, so b0's third entry must be in list
  // 2 or 3, pushing out a1 or c0, which then moves into a list that lost a0:
  // three new pairs at least (e.g. lists {a1,b0} {b0,c0} {a1,c0} {b0,c0}).
  EXPECT_EQ(simple_move_bound(input.quota, input.held), 2u);
  const auto minimum = exhaustive_minimum(input);
  ASSERT_TRUE(minimum.has_value());
  EXPECT_EQ(*minimum, 3u);
  EXPECT_EQ(zone_aware_move_bound(input), 3u);
}

TEST(MoveBoundTest, PastItsWorkLimitsItIsTheSimpleBound) {
  // The removal above (simple bound 2, zone-aware 3), with limits too small
  // for its graph (6 zone-group vertices) or its search: the simple bound.
  const MoveBoundInput input = removal_across_zones();
  EXPECT_EQ(zone_aware_move_bound(input), 3u);
  MoveBoundInput small_graph = input;
  small_graph.max_vertices = 5;
  EXPECT_EQ(zone_aware_move_bound(small_graph), 2u);
  MoveBoundInput short_search = input;
  short_search.max_relaxations = 10;
  EXPECT_EQ(zone_aware_move_bound(short_search), 2u);
}

TEST(MoveBoundTest, OneZoneIsTheSimpleBound) {
  MoveBoundInput input;
  input.partition_count = 4;
  input.n = 2;
  input.zone_columns = 1;
  input.zone_count = 1;
  input.zone_of_node = {0, 0, 0};
  input.quota = {3, 3, 2};
  input.previous = {0, 1, 0, 1, 0, 1, 0, 1};
  input.held = held_of(input);
  EXPECT_EQ(zone_aware_move_bound(input), simple_move_bound(input.quota, input.held));
  EXPECT_EQ(zone_aware_move_bound(input), 2u);
}

TEST(MoveBoundTest, NeverAboveTheMinimumOnRandomSmallTables) {
  std::mt19937_64 random(20261208);
  int above_simple = 0, checked = 0;
  for (int round = 0; round < 1000; ++round) {
    MoveBoundInput input;
    input.partition_count = 1 + random() % 4;
    input.zone_count = 2 + random() % 3;
    const uint32_t nodes = input.zone_count + random() % 3;
    input.n = 1 + random() % std::min<uint32_t>(3, input.zone_count);
    // The distinct-zone columns: all n, or fewer (the width above the zones).
    input.zone_columns = 1 + random() % (input.n + 1);
    for (uint32_t node = 0; node < nodes; ++node)
      input.zone_of_node.push_back(node < input.zone_count ? node : random() % input.zone_count);
    // Previous lists: n distinct nodes, in distinct zones or not, sometimes
    // narrower than n (the rest kGone); some nodes gone since.
    std::vector<bool> gone(nodes);
    for (uint32_t node = 0; node < nodes; ++node)
      gone[node] = random() % 3 == 0;
    const bool distinct_zones = random() % 2 == 0;
    const uint32_t previous_width = random() % 4 == 0 ? 1 + random() % input.n : input.n;
    for (uint32_t partition = 0; partition < input.partition_count; ++partition) {
      std::vector<uint32_t> order(nodes);
      for (uint32_t node = 0; node < nodes; ++node)
        order[node] = node;
      std::shuffle(order.begin(), order.end(), random);
      std::vector<uint32_t> list;
      for (uint32_t node : order) {
        const bool zone_taken = std::any_of(list.begin(), list.end(), [&](uint32_t other) {
          return input.zone_of_node[other] == input.zone_of_node[node];
        });
        if ((!zone_taken || !distinct_zones) && list.size() < previous_width)
          list.push_back(node);
      }
      list.resize(input.n, kGone);
      for (uint32_t node : list)
        input.previous.push_back(node == kGone || gone[node] ? kGone : node);
    }
    // Quotas: n·Q entries dealt at random to the nodes not gone, at most Q each.
    input.quota.assign(nodes, 0);
    std::vector<uint32_t> alive;
    for (uint32_t node = 0; node < nodes; ++node) {
      if (!gone[node])
        alive.push_back(node);
    }
    if (alive.size() < input.n)
      continue;
    for (uint32_t entry = 0; entry < input.n * input.partition_count;) {
      const uint32_t node = alive[random() % alive.size()];
      if (input.quota[node] < input.partition_count) {
        ++input.quota[node];
        ++entry;
      }
    }
    input.held = held_of(input);
    for (uint32_t node = 0; node < nodes; ++node) {
      if (gone[node])
        input.held[node] = 0;
    }
    const auto minimum = exhaustive_minimum(input);
    if (!minimum)
      continue;  // these quotas fit no layout in distinct zones
    ++checked;
    const uint64_t bound = zone_aware_move_bound(input);
    const uint64_t simple = simple_move_bound(input.quota, input.held);
    EXPECT_LE(bound, *minimum) << "round " << round;
    EXPECT_GE(bound, simple) << "round " << round;
    above_simple += bound > simple ? 1 : 0;
  }
  EXPECT_GT(checked, 300);
  EXPECT_GT(above_simple, 0);  // the zone rule does tighten the bound in some tables
  RecordProperty("above_simple", above_simple);
  RecordProperty("checked", checked);
}

}  // namespace
}  // namespace ringkv
