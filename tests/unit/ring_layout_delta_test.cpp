// Unit tests of layout deltas (ring/layout_delta.h): a change's delta is a
// small fraction of the layout, applies to exactly the next layout, and
// every malformed or misapplied delta is refused.
#include <gtest/gtest.h>

#include "common/bytes.h"
#include "ring/assignment.h"
#include "ring/layout_delta.h"

namespace ringkv {
namespace {

std::vector<RingNode> twelve_nodes() {
  std::vector<RingNode> nodes;
  for (int index = 0; index < 12; ++index)
    nodes.push_back({"node-" + std::to_string(10 + index), uint32_t(1) << (index % 3),
                     "zone-" + std::to_string(index % 4), NodeState::active});
  return nodes;
}

Layout plan(const Layout& previous, std::vector<RingNode> nodes) {
  auto planned = plan_assignment(previous, std::move(nodes), 3);
  EXPECT_TRUE(planned.ok()) << planned.status().message();
  return planned->layout;
}

Layout round_trip(const Layout& base, const Layout& next) {
  const auto bytes = encode_layout_delta(base, next);
  EXPECT_TRUE(bytes.has_value());
  auto delta = decode_layout_delta(*bytes);
  EXPECT_TRUE(delta.ok()) << delta.status().message();
  auto applied = apply_layout_delta(base, *delta);
  EXPECT_TRUE(applied.ok()) << applied.status().message();
  return *applied;
}

TEST(LayoutDelta, AJoinIsASmallDeltaThatGivesExactlyTheNextLayout) {
  const Layout base = plan(Layout::empty(10), twelve_nodes());
  std::vector<RingNode> nodes = twelve_nodes();
  nodes.push_back({"node-50", 2, "zone-1", NodeState::active});
  const Layout next = plan(base, nodes);
  const auto delta = encode_layout_delta(base, next);
  ASSERT_TRUE(delta.has_value());
  // Q = 1024 × 3 entries: the whole layout is ~3 KB; the join moves about
  // 3072 / 13 entries (2–3 bytes each) plus one node entry.
  EXPECT_LT(delta->size() * 4, encode_layout(next).size());
  const Layout applied = round_trip(base, next);
  EXPECT_EQ(applied, next);
  EXPECT_EQ(encode_layout(applied), encode_layout(next));
}

TEST(LayoutDelta, RemovalsReweightsAndZoneChangesRoundTrip) {
  const Layout base = plan(Layout::empty(8), twelve_nodes());
  std::vector<RingNode> nodes = twelve_nodes();
  nodes.erase(nodes.begin() + 3);  // removed outright (its lists move)
  nodes[0].capacity = 5;           // reweighted
  nodes[5].zone = "zone-9";        // moved to another zone
  nodes[7].state = NodeState::leaving;
  nodes.insert(nodes.begin(), {"aaa", 1, "zone-2", NodeState::active});  // sorts first
  const Layout next = plan(base, nodes);
  EXPECT_EQ(round_trip(base, next), next);
  // And back: the delta is directional, both directions work.
  EXPECT_EQ(round_trip(next, base), base);
}

TEST(LayoutDelta, TheSameLayoutIsAHeaderOnly) {
  const Layout base = plan(Layout::empty(10), twelve_nodes());
  const auto delta = encode_layout_delta(base, base);
  ASSERT_TRUE(delta.has_value());
  EXPECT_LE(delta->size(), 16u);
  EXPECT_EQ(round_trip(base, base), base);
}

TEST(LayoutDelta, NoDeltaAcrossPartitionBitsWidthsOrFromTheEmptyLayout) {
  const Layout base = plan(Layout::empty(8), twelve_nodes());
  EXPECT_FALSE(encode_layout_delta(base, plan(Layout::empty(9), twelve_nodes())).has_value());
  EXPECT_FALSE(encode_layout_delta(Layout::empty(8), base).has_value());
  EXPECT_FALSE(encode_layout_delta(base, Layout::empty(8)).has_value());
  auto narrow = Layout::create(8, 2, base.nodes(), 2, std::vector<uint32_t>(512, 0));
  ASSERT_FALSE(narrow.ok());  // (a node twice in a list) — build a valid width-2 one
  std::vector<uint32_t> lists;
  for (uint32_t partition = 0; partition < 256; ++partition) {
    lists.push_back(partition % 12);
    lists.push_back((partition + 1) % 12);
  }
  narrow = Layout::create(8, 2, base.nodes(), 2, std::move(lists));
  ASSERT_TRUE(narrow.ok());
  EXPECT_FALSE(encode_layout_delta(base, *narrow).has_value());
}

TEST(LayoutDelta, EveryTruncationAndTrailingByteIsRefused) {
  const Layout base = plan(Layout::empty(8), twelve_nodes());
  std::vector<RingNode> nodes = twelve_nodes();
  nodes.push_back({"node-50", 2, "zone-1", NodeState::active});
  const std::string bytes = *encode_layout_delta(base, plan(base, nodes));
  ASSERT_TRUE(decode_layout_delta(bytes).ok());
  for (size_t length = 0; length < bytes.size(); ++length)
    EXPECT_FALSE(decode_layout_delta(bytes.substr(0, length)).ok()) << length;
  EXPECT_FALSE(decode_layout_delta(bytes + '\0').ok());
  std::string unknown = bytes;
  unknown[0] = 2;
  EXPECT_FALSE(decode_layout_delta(unknown).ok());
}

// A delta written by hand, field by field (layout_delta.h).
std::string handmade(uint32_t bits, uint64_t version, std::vector<uint64_t> removed_gaps,
                     std::vector<RingNode> upserts, uint32_t width,
                     std::vector<std::pair<uint64_t, uint64_t>> entries) {
  std::string out;
  ByteWriter writer(out);
  writer.u8(1);
  writer.u8(static_cast<uint8_t>(bits));
  writer.u64_be(version);
  writer.varint(removed_gaps.size());
  for (uint64_t gap : removed_gaps)
    writer.varint(gap);
  writer.varint(upserts.size());
  for (const RingNode& node : upserts)
    write_ring_node(writer, node);
  writer.u8(static_cast<uint8_t>(width));
  writer.varint(entries.size());
  for (auto [gap, node] : entries) {
    writer.varint(gap);
    writer.varint(node);
  }
  return out;
}

TEST(LayoutDelta, MisappliedOrInconsistentDeltasAreRefused) {
  const Layout base = plan(Layout::empty(4), twelve_nodes());  // Q = 16, width 3
  auto refused = [&](const std::string& bytes) {
    auto delta = decode_layout_delta(bytes);
    if (!delta.ok())
      return true;
    return !apply_layout_delta(base, *delta).ok();
  };
  ASSERT_FALSE(refused(handmade(4, 9, {}, {}, 3, {})));   // the control: nothing changes
  EXPECT_TRUE(refused(handmade(5, 9, {}, {}, 3, {})));    // other partition bits
  EXPECT_TRUE(refused(handmade(4, 9, {}, {}, 2, {})));    // other width
  EXPECT_TRUE(refused(handmade(4, 9, {12}, {}, 3, {})));  // removes past the table
  // Removes node 0 while lists still name it.
  EXPECT_TRUE(refused(handmade(4, 9, {0}, {}, 3, {})));
  // Upserts out of order.
  EXPECT_TRUE(refused(handmade(4, 9, {}, {{"b", 1, ""}, {"a", 1, ""}}, 3, {})));
  // An upsert with an invalid capacity (0) passes the syntax, not the layout.
  EXPECT_TRUE(refused(handmade(4, 9, {}, {{"b", 0, ""}}, 3, {})));
  // An entry past the lists (Q × width = 48), and a list naming a node twice.
  EXPECT_TRUE(refused(handmade(4, 9, {}, {}, 3, {{48, 0}})));
  const uint32_t first = base.list(0)[0];
  EXPECT_TRUE(refused(handmade(4, 9, {}, {}, 3, {{1, first}})));
  // An entry naming a node outside the result's table.
  EXPECT_TRUE(refused(handmade(4, 9, {}, {}, 3, {{0, 12}})));
  // Gaps whose sum passes the lists.
  EXPECT_TRUE(refused(handmade(4, 9, {}, {}, 3, {{40, 1}, {10, 2}})));
  // The empty layout is no base.
  auto delta = decode_layout_delta(handmade(4, 9, {}, {}, 3, {}));
  ASSERT_TRUE(delta.ok());
  EXPECT_FALSE(apply_layout_delta(Layout::empty(4), *delta).ok());
}

}  // namespace
}  // namespace ringkv
