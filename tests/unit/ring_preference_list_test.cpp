// Unit tests of preference lists on small hand-made layouts.
#include <gtest/gtest.h>

#include "ring/preference_list.h"

namespace ringkv {
namespace {

using Nodes = std::vector<uint32_t>;

Nodes to_vector(std::span<const uint32_t> span) {
  return Nodes(span.begin(), span.end());
}

// Nodes a, b, c, d (indexes 0..3) with the given zones and lists.
Layout make(std::vector<std::string> zones, uint32_t width, std::vector<uint32_t> lists,
            uint32_t bits) {
  std::vector<RingNode> nodes;
  for (size_t index = 0; index < zones.size(); ++index)
    nodes.push_back({std::string(1, char('a' + index)), 1, zones[index], NodeState::active});
  return *Layout::create(bits, 1, std::move(nodes), width, std::move(lists));
}

// a, b in zone x; c in y; d in z. Four lists of two: [a c] [b d] [c a] [d b].
Layout four_lists() {
  return make({"x", "x", "y", "z"}, 2, {0, 2, 1, 3, 2, 0, 3, 1}, 2);
}

TEST(RingPreferenceList, IsTheFirstNEntriesOfTheList) {
  const Layout layout = four_lists();
  EXPECT_EQ(preference_list(layout, 0, 1), (Nodes{0}));
  EXPECT_EQ(preference_list(layout, 0, 2), (Nodes{0, 2}));
  EXPECT_EQ(preference_list(layout, 3, 2), (Nodes{3, 1}));
}

TEST(RingPreferenceList, PastTheWidthTakesNewZonesFirstFromTheFollowingLists) {
  const Layout layout = four_lists();
  // From [a c]: the next list [b d] gives d (a new zone); b is skipped.
  EXPECT_EQ(preference_list(layout, 0, 3), (Nodes{0, 2, 3}));
  // From [d b] (wrapping): [a c] gives c; a's zone x is taken.
  EXPECT_EQ(preference_list(layout, 3, 3), (Nodes{3, 1, 2}));
  // n = 4 above the 3 zones: simply the next distinct nodes.
  EXPECT_EQ(preference_list(layout, 0, 4), (Nodes{0, 2, 1, 3}));
}

TEST(RingPreferenceList, HasEveryListedNodeOnceWhenTooFewNodes) {
  const Layout layout = make({"", "", "", ""}, 1, {0, 1, 0, 1}, 2);  // c and d in no list
  EXPECT_EQ(preference_list(layout, 1, 3), (Nodes{1, 0}));
  const PreferenceTable table = PreferenceTable::build(layout, 3);
  EXPECT_EQ(table.width(), 2u);
  EXPECT_EQ(to_vector(table.nodes(1)), (Nodes{1, 0}));
}

TEST(RingPreferenceList, TableMatchesTheSingleList) {
  const Layout layout = four_lists();
  for (uint32_t replicas = 1; replicas <= 5; ++replicas) {
    const PreferenceTable table = PreferenceTable::build(layout, replicas);
    EXPECT_EQ(table.width(), std::min(replicas, 4u));
    for (uint32_t partition = 0; partition < 4; ++partition) {
      EXPECT_EQ(to_vector(table.nodes(partition)), preference_list(layout, partition, replicas))
          << "partition " << partition << " n " << replicas;
    }
  }
}

TEST(RingPreferenceList, KeyLookupUsesTheKeysPartition) {
  const Layout layout = four_lists();
  const PreferenceTable table = PreferenceTable::build(layout, 2);
  const uint32_t partition = Partitioner::create(2)->partition_of_key("some key");
  EXPECT_EQ(to_vector(table.nodes_for_key("some key")), to_vector(table.nodes(partition)));
}

TEST(RingPreferenceList, ExtendedListContinuesThroughTheFollowingLists) {
  const Layout layout = four_lists();
  // The list of 0 for n = 2 is a, c; then b, d from the next list.
  EXPECT_EQ(extended_preference_list(layout, 0, 2, 10), (Nodes{0, 2, 1, 3}));
  EXPECT_EQ(extended_preference_list(layout, 0, 2, 3), (Nodes{0, 2, 1}));
  EXPECT_EQ(extended_preference_list(layout, 0, 2, 1), (Nodes{0}));
}

}  // namespace
}  // namespace ringkv
