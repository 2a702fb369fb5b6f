// Unit tests of preference lists on small hand-made layouts.
#include <gtest/gtest.h>

#include "ring/preference_list.h"

namespace ringkv {
namespace {

using Nodes = std::vector<uint32_t>;

Nodes to_vector(std::span<const uint32_t> span) {
  return Nodes(span.begin(), span.end());
}

// Nodes a, b, c, d (indexes 0..3) with the given zones, owning `owners`.
Layout make(std::vector<std::string> zones, std::vector<uint32_t> owners, uint32_t bits) {
  std::vector<RingNode> nodes;
  for (size_t index = 0; index < zones.size(); ++index)
    nodes.push_back({std::string(1, char('a' + index)), 1, zones[index], NodeState::active});
  return *Layout::create(bits, 1, std::move(nodes), std::move(owners));
}

TEST(RingPreferenceList, TakesTheFirstDistinctNodesClockwise) {
  // Ring of 8: a a b a c b d a (no zones).
  const Layout layout = make({"", "", "", ""}, {0, 0, 1, 0, 2, 1, 3, 0}, 3);
  EXPECT_EQ(preference_list(layout, 0, 3), (Nodes{0, 1, 2}));
  EXPECT_EQ(preference_list(layout, 5, 3), (Nodes{1, 3, 0}));
  EXPECT_EQ(preference_list(layout, 7, 2), (Nodes{0, 1}));  // wraps around
  EXPECT_EQ(preference_list(layout, 6, 1), (Nodes{3}));
}

TEST(RingPreferenceList, PrefersDistinctZonesWhenThereAreEnough) {
  // a, b in zone x; c in y; d in z. Ring: a b c d (4 partitions).
  const Layout layout = make({"x", "x", "y", "z"}, {0, 1, 2, 3}, 2);
  // From a: a (x), b is skipped (x taken), c (y), d (z).
  EXPECT_EQ(preference_list(layout, 0, 3), (Nodes{0, 2, 3}));
  // From b: b (x), c, d; a is skipped.
  EXPECT_EQ(preference_list(layout, 1, 3), (Nodes{1, 2, 3}));
}

TEST(RingPreferenceList, TakesDistinctNodesOnlyWithFewerZonesThanReplicas) {
  // a, b in zone x; c in y. Ring: a b a c (4 partitions); n = 3 > 2 zones.
  const Layout layout = make({"x", "x", "y"}, {0, 1, 0, 2}, 2);
  // Zones first would give a, c, b; with two zones for three replicas the list
  // is simply the first three distinct nodes.
  EXPECT_EQ(preference_list(layout, 0, 3), (Nodes{0, 1, 2}));
  // n = 2 <= 2 zones: distinct zones again (b is skipped for c).
  EXPECT_EQ(preference_list(layout, 1, 2), (Nodes{1, 2}));
  const PreferenceTable table = PreferenceTable::build(layout, 3);
  EXPECT_EQ(to_vector(table.nodes(0)), (Nodes{0, 1, 2}));
}

TEST(RingPreferenceList, HasEveryOwnerOnceWhenTooFewNodes) {
  const Layout layout = make({"", "", "", ""}, {0, 1, 0, 1}, 2);  // c and d own nothing
  EXPECT_EQ(preference_list(layout, 1, 3), (Nodes{1, 0}));
  const PreferenceTable table = PreferenceTable::build(layout, 3);
  EXPECT_EQ(table.width(), 2u);
  EXPECT_EQ(to_vector(table.nodes(1)), (Nodes{1, 0}));
}

TEST(RingPreferenceList, TableMatchesTheWalk) {
  const Layout layout = make({"x", "x", "y", "z"}, {0, 0, 1, 0, 2, 1, 3, 0}, 3);
  for (uint32_t replicas = 1; replicas <= 4; ++replicas) {
    const PreferenceTable table = PreferenceTable::build(layout, replicas);
    for (uint32_t partition = 0; partition < 8; ++partition) {
      EXPECT_EQ(to_vector(table.nodes(partition)), preference_list(layout, partition, replicas))
          << "partition " << partition << " n " << replicas;
    }
  }
}

TEST(RingPreferenceList, KeyLookupUsesTheKeysPartition) {
  const Layout layout = make({"", "", "", ""}, {0, 1, 2, 3}, 2);
  const PreferenceTable table = PreferenceTable::build(layout, 2);
  const uint32_t partition = Partitioner::create(2)->partition_of_key("some key");
  EXPECT_EQ(to_vector(table.nodes_for_key("some key")), to_vector(table.nodes(partition)));
}

TEST(RingPreferenceList, ExtendedListContinuesClockwiseThroughEveryOwner) {
  const Layout layout = make({"x", "x", "y", "z"}, {0, 0, 1, 0, 2, 1, 3, 0}, 3);
  // Preference list of 0 for n = 2 is a (x), c (y); then b, d in ring order.
  EXPECT_EQ(extended_preference_list(layout, 0, 2, 10), (Nodes{0, 2, 1, 3}));
  EXPECT_EQ(extended_preference_list(layout, 0, 2, 3), (Nodes{0, 2, 1}));
  EXPECT_EQ(extended_preference_list(layout, 0, 2, 1), (Nodes{0}));
}

}  // namespace
}  // namespace ringkv
