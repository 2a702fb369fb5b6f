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

Layout sample() {
  return *Layout::create(2, 7, three_nodes(), {0, 1, 2, 1});
}

TEST(RingLayout, CreateChecksEveryInvariant) {
  EXPECT_TRUE(Layout::create(2, 1, three_nodes(), {0, 1, 2, 1}).ok());
  // Owner table of the wrong size, or pointing outside the table.
  EXPECT_FALSE(Layout::create(2, 1, three_nodes(), {0, 1, 2}).ok());
  EXPECT_FALSE(Layout::create(2, 1, three_nodes(), {0, 1, 3, 1}).ok());
  // Unsorted or duplicate ids.
  auto unsorted = three_nodes();
  std::swap(unsorted[0], unsorted[1]);
  EXPECT_FALSE(Layout::create(2, 1, unsorted, {0, 1, 2, 1}).ok());
  auto duplicate = three_nodes();
  duplicate[1].id = "alpha";
  EXPECT_FALSE(Layout::create(2, 1, duplicate, {0, 1, 2, 1}).ok());
  // Capacity, id and zone bounds.
  auto bad = three_nodes();
  bad[0].capacity = 0;
  EXPECT_FALSE(Layout::create(2, 1, bad, {0, 1, 2, 1}).ok());
  bad = three_nodes();
  bad[0].capacity = kCapacityMax + 1;
  EXPECT_FALSE(Layout::create(2, 1, bad, {0, 1, 2, 1}).ok());
  bad = three_nodes();
  bad[0].id = "";
  EXPECT_FALSE(Layout::create(2, 1, bad, {0, 1, 2, 1}).ok());
  bad = three_nodes();
  bad[0].zone = std::string(kZoneBytesMax + 1, 'z');
  EXPECT_FALSE(Layout::create(2, 1, bad, {0, 1, 2, 1}).ok());
  // No nodes, no owners; and the partition bits bound.
  EXPECT_FALSE(Layout::create(2, 1, {}, {0, 0, 0, 0}).ok());
  EXPECT_FALSE(Layout::create(kPartitionBitsMax + 1, 1, three_nodes(), {}).ok());
}

TEST(RingLayout, LooksUpNodesAndCountsPartitions) {
  const Layout layout = sample();
  EXPECT_EQ(layout.node_index("beta"), 1u);
  EXPECT_EQ(layout.node_index("delta"), std::nullopt);
  EXPECT_EQ(layout.partition_counts(), (std::vector<uint32_t>{1, 2, 1}));
  EXPECT_EQ(layout.owning_zone_count(), 3u);
  EXPECT_EQ(layout.owner_node(3).id, "beta");
}

TEST(RingLayout, EncodesToTheDocumentedBytes) {
  // docs/FORMATS.md "Ring layout": a change here is a format change.
  const Layout layout = *Layout::create(1, 258, {{"a", 3, "z", NodeState::leaving}}, {0, 0});
  const std::string expected(
      "\x01\x01\x00\x00\x00\x00\x00\x00\x01\x02\x01\x01"
      "a\x03\x01z\x01\x00\x00",
      19);
  EXPECT_EQ(encode_layout(layout), expected);
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
  EXPECT_FALSE(with(0, 2).ok());                      // unknown format
  EXPECT_FALSE(with(1, kPartitionBitsMax + 1).ok());  // too many partition bits
  EXPECT_FALSE(with(12, 'z').ok());                   // first id "zlpha" sorts after "beta"
  EXPECT_FALSE(with(bytes.size() - 1, 3).ok());       // owner index outside the table
  std::string huge_count = bytes.substr(0, 10);       // format, bits, version
  huge_count += "\xff\xff\x03";                       // 65535 nodes, a few bytes left
  EXPECT_FALSE(decode_layout(huge_count + "abc").ok());
}

}  // namespace
}  // namespace ringkv
