// Unit tests of quotas and assignment, including the heterogeneous 12-node
// cluster whose numbers docs/BENCHMARKS.md reports.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "common/store_config.h"
#include "ring/assignment.h"
#include "ring/preference_list.h"
#include "ring/quota.h"

namespace ringkv {
namespace {

// 3 zones of 4 nodes with capacities 1, 1, 2, 4: equal zone totals, so with
// n = 3 (one replica per zone) every node can get its capacity share.
std::vector<RingNode> twelve_nodes() {
  std::vector<RingNode> nodes;
  const uint32_t capacities[] = {1, 1, 2, 4};
  for (int zone = 0; zone < 3; ++zone) {
    for (int index = 0; index < 4; ++index) {
      nodes.push_back({"node-" + std::to_string(zone) + "-" + std::to_string(index),
                       capacities[index], "zone-" + std::to_string(zone), NodeState::active});
    }
  }
  return nodes;
}

void print(const char* name, const AssignmentPlan& plan) {
  std::printf(
      "%s: moved %lu (lower bound %lu), partition share error %.4f, replica share error "
      "%.4f\n",
      name, static_cast<unsigned long>(plan.moved_replicas),
      static_cast<unsigned long>(plan.moved_lower_bound), plan.balance.max_partition_share_error,
      plan.balance.max_replica_share_error);
}

TEST(RingQuota, LargestRemainderWithinOneOfTheExactShare) {
  const std::vector<QuotaClaim> claims = {{1, 100, 0}, {1, 100, 0}, {1, 100, 0}};
  // 10 / 3 = 3.33 each: one extra seat, to the lowest index on a full tie.
  EXPECT_EQ(apportion(10, claims), (std::vector<uint32_t>{4, 3, 3}));
  // A previous holding breaks the tie, so nothing moves needlessly.
  const std::vector<QuotaClaim> held = {{1, 100, 3}, {1, 100, 4}, {1, 100, 3}};
  EXPECT_EQ(apportion(10, held), (std::vector<uint32_t>{3, 4, 3}));
  const std::vector<QuotaClaim> weighted = {{1, 100, 0}, {2, 100, 0}, {4, 100, 0}, {0, 100, 9}};
  EXPECT_EQ(apportion(70, weighted), (std::vector<uint32_t>{10, 20, 40, 0}));
}

TEST(RingQuota, CapsAreFilledAndTheRestShared) {
  // Exact shares 75 and 25 of 100; the first is capped at 50.
  const std::vector<QuotaClaim> claims = {{3, 50, 0}, {1, 50, 0}};
  EXPECT_EQ(apportion(100, claims), (std::vector<uint32_t>{50, 50}));
  const std::vector<QuotaClaim> three = {{8, 34, 0}, {1, 34, 0}, {1, 34, 0}};
  EXPECT_EQ(apportion(100, three), (std::vector<uint32_t>{34, 33, 33}));
}

TEST(RingAssignment, TwelveHeterogeneousNodesAreBalanced) {
  const auto plan = plan_assignment(Layout::empty(10), twelve_nodes(), 3);
  ASSERT_TRUE(plan.ok()) << plan.status().to_string();
  print("12 nodes, initial", *plan);
  EXPECT_EQ(plan->layout.version(), 1u);
  EXPECT_EQ(plan->layout.list_counts(), plan->quotas);
  EXPECT_LE(plan->balance.max_partition_share_error, 0.02);
  EXPECT_LE(plan->balance.max_replica_share_error, 0.02);
  const PreferenceTable table = PreferenceTable::build(plan->layout, 3);
  for (uint32_t partition = 0; partition < 1024; ++partition) {
    const auto list = table.nodes(partition);
    std::set<std::string> zones;
    for (uint32_t node : list)
      zones.insert(plan->layout.nodes()[node].zone);
    ASSERT_EQ(zones.size(), 3u) << "partition " << partition;
  }
}

TEST(RingAssignment, UnchangedTableMovesNothing) {
  const auto first = plan_assignment(Layout::empty(10), twelve_nodes(), 3);
  ASSERT_TRUE(first.ok());
  const auto second = plan_assignment(first->layout, twelve_nodes(), 3);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->moved_replicas, 0u);
  EXPECT_EQ(second->layout.lists(), first->layout.lists());
  EXPECT_EQ(second->layout.version(), 2u);
}

TEST(RingAssignment, AddingAndRemovingANodeMovesOnlyItsShare) {
  const auto first = *plan_assignment(Layout::empty(10), twelve_nodes(), 3);
  std::vector<RingNode> added = twelve_nodes();
  added.push_back({"node-new", 2, "zone-1", NodeState::active});
  const auto grown = plan_assignment(first.layout, added, 3);
  ASSERT_TRUE(grown.ok());
  print("12 nodes, add one (capacity 2)", *grown);
  EXPECT_GE(grown->moved_replicas, grown->moved_lower_bound);
  EXPECT_LE(grown->moved_replicas, grown->moved_lower_bound * 11 / 10);
  std::vector<RingNode> removed = twelve_nodes();
  removed.erase(removed.begin() + 5);
  const auto shrunk = plan_assignment(first.layout, removed, 3);
  ASSERT_TRUE(shrunk.ok());
  print("12 nodes, remove one (capacity 1)", *shrunk);
  EXPECT_GE(shrunk->moved_replicas, shrunk->moved_lower_bound);
  EXPECT_LE(shrunk->moved_replicas, shrunk->moved_lower_bound * 11 / 10);
  EXPECT_EQ(shrunk->layout.node_index("node-1-1"), std::nullopt);
}

TEST(RingAssignment, LeavingNodeKeepsItsEntryButNoPartitions) {
  const auto first = *plan_assignment(Layout::empty(8), twelve_nodes(), 3);
  std::vector<RingNode> nodes = twelve_nodes();
  nodes[3].state = NodeState::leaving;
  const auto plan = plan_assignment(first.layout, nodes, 3);
  ASSERT_TRUE(plan.ok());
  const uint32_t index = *plan->layout.node_index(nodes[3].id);
  EXPECT_EQ(plan->layout.list_counts()[index], 0u);
  // What it held must move (the bound counts it, and a few more where the
  // rounding of the others' quotas shifts).
  EXPECT_GE(plan->moved_lower_bound, first.layout.list_counts()[index]);
  EXPECT_GE(plan->moved_replicas, plan->moved_lower_bound);
  EXPECT_LE(plan->moved_replicas, plan->moved_lower_bound * 11 / 10);
}

TEST(RingAssignment, RejectsBadInput) {
  auto duplicate = twelve_nodes();
  duplicate[4].id = duplicate[0].id;
  const auto refused = plan_assignment(Layout::empty(10), duplicate, 3);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find(duplicate[0].id), std::string::npos);
  EXPECT_FALSE(plan_assignment(Layout::empty(10), twelve_nodes(), 0).ok());
  EXPECT_FALSE(plan_assignment(Layout::empty(10), twelve_nodes(), kReplicationMax + 1).ok());
  EXPECT_FALSE(plan_assignment(Layout::empty(10), {}, 3).ok());
  EXPECT_FALSE(plan_assignment(Layout::empty(10), {{"only", 1, "", NodeState::leaving}}, 1).ok());
  auto zero = twelve_nodes();
  zero[2].capacity = 0;
  EXPECT_FALSE(plan_assignment(Layout::empty(10), zero, 3).ok());
}

TEST(RingAssignment, ApplyChangeAddsReplacesAndRemoves) {
  const std::vector<RingNode> nodes = {{"a", 1, "x", NodeState::active},
                                       {"b", 1, "y", NodeState::active}};
  const auto changed = apply_change(
      nodes, {{{"c", 2, "z", NodeState::active}, {"a", 4, "x", NodeState::active}}, {"b"}});
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  ASSERT_EQ(changed->size(), 2u);
  EXPECT_EQ((*changed)[0], (RingNode{"a", 4, "x", NodeState::active}));
  EXPECT_EQ((*changed)[1].id, "c");
  EXPECT_EQ(apply_change(nodes, {{}, {"nobody"}}).status().code(), Code::not_found);
  EXPECT_FALSE(apply_change(nodes, {{{"b", 2, "", NodeState::active}}, {"b"}}).ok());
}

}  // namespace
}  // namespace ringkv
