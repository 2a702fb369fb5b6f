// Unit tests of the layout: invariants checked on creation and its codec.
#include <gtest/gtest.h>

#include "ring/layout.h"

namespace ringkv {
namespace {

std::vector<RingNode> three_nodes() {
  return {{"alpha", 1, "east", NodeState::active},
          {"beta", 2, "west", NodeState::active},
          {"gamma", 4, "", NodeState::leaving}};
}

// Q = 4 lists of two.
const std::vector<uint32_t> kLists = {0, 1, 1, 2, 2, 0, 1, 0};

Layout sample() {
  return *Layout::create(2, 7, three_nodes(), 2, kLists);
}

TEST(RingLayout, CreateChecksEveryInvariant) {
  EXPECT_TRUE(Layout::create(2, 1, three_nodes(), 2, kLists).ok());
  // Lists of the wrong size, pointing outside the table, naming a node twice.
  EXPECT_FALSE(Layout::create(2, 1, three_nodes(), 2, {0, 1, 1, 2, 2, 0, 1}).ok());
  EXPECT_FALSE(Layout::create(2, 1, three_nodes(), 2, {0, 1, 1, 3, 2, 0, 1, 0}).ok());
  EXPECT_FALSE(Layout::create(2, 1, three_nodes(), 2, {0, 1, 1, 1, 2, 0, 1, 0}).ok());
  // A width of 0, above the nodes or above kReplicationMax.
  EXPECT_FALSE(Layout::create(2, 1, three_nodes(), 0, {}).ok());
  EXPECT_FALSE(Layout::create(2, 1, three_nodes(), 4, std::vector<uint32_t>(16, 0)).ok());
  // Unsorted or duplicate ids.
  auto unsorted = three_nodes();
  std::swap(unsorted[0], unsorted[1]);
  EXPECT_FALSE(Layout::create(2, 1, unsorted, 2, kLists).ok());
  auto duplicate = three_nodes();
  duplicate[1].id = "alpha";
  EXPECT_FALSE(Layout::create(2, 1, duplicate, 2, kLists).ok());
  // Capacity, id and zone bounds.
  auto bad = three_nodes();
  bad[0].capacity = 0;
  EXPECT_FALSE(Layout::create(2, 1, bad, 2, kLists).ok());
  bad = three_nodes();
  bad[0].capacity = kCapacityMax + 1;
  EXPECT_FALSE(Layout::create(2, 1, bad, 2, kLists).ok());
  bad = three_nodes();
  bad[0].id = "";
  EXPECT_FALSE(Layout::create(2, 1, bad, 2, kLists).ok());
  bad = three_nodes();
  bad[0].zone = std::string(kZoneBytesMax + 1, 'z');
  EXPECT_FALSE(Layout::create(2, 1, bad, 2, kLists).ok());
  // No nodes, no lists; and the partition bits bound.
  EXPECT_FALSE(Layout::create(2, 1, {}, 1, {0, 0, 0, 0}).ok());
  EXPECT_FALSE(Layout::create(kPartitionBitsMax + 1, 1, three_nodes(), 2, {}).ok());
}

TEST(RingLayout, LooksUpNodesAndCountsLists) {
  const Layout layout = sample();
  EXPECT_EQ(layout.node_index("beta"), 1u);
  EXPECT_EQ(layout.node_index("delta"), std::nullopt);
  EXPECT_EQ(layout.list_counts(), (std::vector<uint32_t>{3, 3, 2}));
  EXPECT_EQ(layout.listed_zone_count(), 3u);
  EXPECT_EQ(std::vector<uint32_t>(layout.list(3).begin(), layout.list(3).end()),
            (std::vector<uint32_t>{1, 0}));
}

TEST(RingLayout, EncodesToTheDocumentedBytes) {
  // docs/FORMATS.md "Ring layout": a change here is a format change.
  const Layout layout = *Layout::create(1, 258, {{"a", 3, "z", NodeState::leaving}}, 1, {0, 0});
  const std::string expected(
      "\x02\x01\x00\x00\x00\x00\x00\x00\x01\x02\x01\x01"
      "a\x03\x01z\x01\x01\x00\x00",
      20);
  EXPECT_EQ(encode_layout(layout), expected);
}

// A layout written before the lists (format 1: one owner per partition) reads
// as the lists its ring walk gave, so every store keeps its replicas.
TEST(RingLayout, ReadsFormatOneAsItsWalkedLists) {
  const std::string one_node(
      "\x01\x01\x00\x00\x00\x00\x00\x00\x01\x02\x01\x01"
      "a\x03\x01z\x01\x00\x00",
      19);
  auto decoded = decode_layout(one_node);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->width(), 1u);  // one owning node
  EXPECT_EQ(decoded->lists(), (std::vector<uint32_t>{0, 0}));

  // Three nodes in three zones owning partitions 0, 1, 2, 1: the walk from each
  // partition takes the first owner of each zone it meets.
  std::string three(
      "\x01\x02\x00\x00\x00\x00\x00\x00\x00\x07\x03"
      "\x05"
      "alpha\x01\x04"
      "east\x00"
      "\x04"
      "beta\x02\x04"
      "west\x00"
      "\x05"
      "gamma\x04\x00\x01"
      "\x00\x01\x02\x01",
      49);
  decoded = decode_layout(three);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->width(), 3u);
  EXPECT_EQ(decoded->lists(), (std::vector<uint32_t>{0, 1, 2, 1, 2, 0, 2, 1, 0, 1, 0, 2}));
  // Written again it is format 2, and reads back the same.
  const std::string again = encode_layout(*decoded);
  EXPECT_EQ(again[0], '\x02');
  EXPECT_EQ(*decode_layout(again), *decoded);
}

TEST(RingLayout, RoundTripsIncludingTheEmptyLayout) {
  const Layout layout = sample();
  auto decoded = decode_layout(encode_layout(layout));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, layout);
  const Layout empty = Layout::empty(10);
  auto decoded_empty = decode_layout(encode_layout(empty));
  ASSERT_TRUE(decoded_empty.ok()) << decoded_empty.status().to_string();
  EXPECT_EQ(*decoded_empty, empty);
  EXPECT_TRUE(decoded_empty->is_empty());
}

TEST(RingLayout, RejectsEveryTruncationAndTrailingBytes) {
  const std::string bytes = encode_layout(sample());
  for (size_t length = 0; length < bytes.size(); ++length) {
    const auto decoded = decode_layout(bytes.substr(0, length));
    ASSERT_FALSE(decoded.ok()) << "accepted a prefix of " << length << " bytes";
    EXPECT_EQ(decoded.status().code(), Code::corruption);
  }
  EXPECT_FALSE(decode_layout(bytes + '\0').ok());
}

TEST(RingLayout, RejectsMalformedFields) {
  const std::string bytes = encode_layout(sample());
  auto with = [&](size_t at, char value) {
    std::string changed = bytes;
    changed[at] = value;
    return decode_layout(changed);
  };
  EXPECT_FALSE(with(0, 3).ok());                      // unknown format
  EXPECT_FALSE(with(1, kPartitionBitsMax + 1).ok());  // too many partition bits
  EXPECT_FALSE(with(12, 'z').ok());                   // first id "zlpha" sorts after "beta"
  EXPECT_FALSE(with(bytes.size() - 1, 3).ok());       // list entry outside the table
  EXPECT_FALSE(with(bytes.size() - 1, 1).ok());       // a node twice in the last list
  EXPECT_FALSE(with(bytes.size() - 9, 4).ok());       // a width above the nodes
  std::string huge_count = bytes.substr(0, 10);       // format, bits, version
  huge_count += "\xff\xff\x03";                       // 65535 nodes, a few bytes left
  EXPECT_FALSE(decode_layout(huge_count + "abc").ok());
}

}  // namespace
}  // namespace ringkv
