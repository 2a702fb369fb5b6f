// Unit tests of replica lists (ring/replica_lists.h) on the clusters the ring
// issue names: four zones of capacities 1, 2 and 4 with five capacity-2 joins,
// and a capacity-2 node among capacity-1 nodes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "ring/replica_lists.h"

namespace ringkv {
namespace {

constexpr uint32_t kBits = 10;  // Q = 1024
constexpr uint32_t kQ = uint32_t{1} << kBits;

std::vector<RingNode> sorted(std::vector<RingNode> nodes) {
  std::sort(nodes.begin(), nodes.end(),
            [](const RingNode& left, const RingNode& right) { return left.id < right.id; });
  return nodes;
}

std::vector<RingNode> four_zones() {
  std::vector<RingNode> nodes;
  for (int zone = 0; zone < 4; ++zone) {
    for (uint32_t capacity : {1u, 2u, 4u})
      nodes.push_back({"node-" + std::to_string(zone) + "-" + std::to_string(capacity), capacity,
                       "zone-" + std::to_string(zone), NodeState::active});
  }
  return sorted(nodes);
}

TEST(ReplicaListsTest, FourZonesStayWithinFivePercentThroughFiveJoinsMovingTheMinimum) {
  std::vector<RingNode> nodes = four_zones();
  ReplicaListPlan plan = plan_replica_lists(kBits, 3, nodes, {}, {}, 0);
  ListBalance balance = measure_list_balance(nodes, kQ, plan);
  for (uint32_t n = 1; n <= 3; ++n)
    EXPECT_LE(balance.max_capacity_error[n - 1], 0.02) << "new cluster, n = " << n;
  for (int join = 0; join < 5; ++join) {
    std::vector<RingNode> next = nodes;
    next.push_back({"joiner-" + std::to_string(join), 2, "zone-" + std::to_string(join % 4),
                    NodeState::active});
    next = sorted(next);
    ReplicaListPlan next_plan = plan_replica_lists(kBits, 3, next, nodes, plan.entries, plan.width);
    balance = measure_list_balance(next, kQ, next_plan);
    EXPECT_EQ(next_plan.zone_repeats, 0u);
    EXPECT_EQ(next_plan.over_quota, 0u);
    for (uint32_t n = 1; n <= 3; ++n) {
      std::printf("join %d, n = %u: share error %.2f%%, moved %lu (lower bound %lu)\n", join, n,
                  100 * balance.max_capacity_error[n - 1],
                  static_cast<unsigned long>(next_plan.moved[n - 1]),
                  static_cast<unsigned long>(next_plan.moved_lower_bound[n - 1]));
      EXPECT_LE(balance.max_capacity_error[n - 1], 0.05) << "join " << join << ", n = " << n;
      EXPECT_LE(double(next_plan.moved[n - 1]), 1.1 * double(next_plan.moved_lower_bound[n - 1]))
          << "join " << join << ", n = " << n;
    }
    nodes = std::move(next);
    plan = std::move(next_plan);
  }
}

// The ring walk caps a node at ceil(Q/3) partitions of its one n = 3 layout,
// so an n = 1 store saw a capacity-2 node hold 1.5x a capacity-1 node's share;
// the first entries of the lists are apportioned on their own.
TEST(ReplicaListsTest, ACapacityTwoNodeHoldsTwiceTheFirstEntriesOfACapacityOneNode) {
  std::vector<RingNode> nodes;
  for (int index = 0; index < 3; ++index)
    nodes.push_back({"one-" + std::to_string(index), 1, "", NodeState::active});
  nodes.push_back({"two", 2, "", NodeState::active});
  nodes = sorted(nodes);
  const ReplicaListPlan plan = plan_replica_lists(kBits, 3, nodes, {}, {}, 0);
  const ListBalance balance = measure_list_balance(nodes, kQ, plan);
  double ones = 0;
  double two = 0;
  for (size_t node = 0; node < nodes.size(); ++node)
    (nodes[node].capacity == 2 ? two : ones) += balance.entries[0][node];
  EXPECT_NEAR(two / (ones / 3), 2.0, 0.1);
}

TEST(ReplicaListsTest, ALeavingNodeHoldsNothingAndAnUnchangedTableMovesNothing) {
  std::vector<RingNode> nodes = four_zones();
  const ReplicaListPlan plan = plan_replica_lists(kBits, 3, nodes, {}, {}, 0);
  const ReplicaListPlan same = plan_replica_lists(kBits, 3, nodes, nodes, plan.entries, 3);
  EXPECT_EQ(same.entries, plan.entries);
  EXPECT_EQ(same.moved, (std::vector<uint64_t>{0, 0, 0}));

  std::vector<RingNode> leaving = nodes;
  leaving[5].state = NodeState::leaving;
  const ReplicaListPlan after = plan_replica_lists(kBits, 3, leaving, nodes, plan.entries, 3);
  EXPECT_EQ(std::count(after.entries.begin(), after.entries.end(), 5u), 0);
  EXPECT_EQ(after.over_quota, 0u);
  // What the leaving node held among the first n entries must move, and
  // nothing else: its entries are the lower bound.
  const ListBalance before = measure_list_balance(nodes, kQ, plan);
  for (uint32_t n = 1; n <= 3; ++n) {
    EXPECT_EQ(after.moved_lower_bound[n - 1], before.entries[n - 1][5]);
    EXPECT_LE(double(after.moved[n - 1]), 1.1 * double(after.moved_lower_bound[n - 1]));
  }
}

}  // namespace
}  // namespace ringkv
