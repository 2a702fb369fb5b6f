// Scripted tests of cluster states sent as the changes since the receiver's
// (cluster/messages.h ClusterUpdate) between node cores: a peer that gossips
// the digests of a state and layout this node held gets the member entries
// that changed and the layout as a delta (ring/layout_delta.h), which give
// exactly the new state; a delta for another base, or giving another layout
// than it names, is refused and changes nothing.
#include <gtest/gtest.h>

#include "cluster/cluster_state.h"
#include "core_harness.h"
#include "ring/assignment.h"
#include "ring/layout_delta.h"

namespace ringkv {
namespace {

using namespace testing_core;

Member member(const std::string& id) {
  return {id, id + ":7070", id + ":8080", 1, "", MemberRole::owner, 1};
}

// Three members on Q = 2^8, and the state after a fourth joins (planned
// from the first, as the cluster does).
ClusterState three_members() {
  ClusterState state;
  for (const std::string id : {"n1", "n2", "n3"})
    state.members.push_back(member(id));
  state.layout = plan_assignment(Layout::empty(8), ring_nodes(state.members), 3)->layout;
  state.cluster_id = "aaaa";
  return state;
}
ClusterState with_fourth(const ClusterState& before) {
  ClusterState state = before;
  state.members.push_back(member("n4"));
  state.layout = plan_assignment(before.layout, ring_nodes(state.members), 3)->layout;
  return state;
}

uint64_t digest_of(const Layout& layout) {
  return digest64(encode_layout(layout));
}

// Delivers `update` from n1 and completes every write it causes.
void deliver(Harness& node, const ClusterUpdate& update) {
  node.core().receive(node.now_, "n1", update);
  (void)node.effects();
  (void)node.complete_all();
}

ClusterUpdate whole(const ClusterState& state) {
  return ClusterUpdate{state.members, encode_layout(state.layout), state.cluster_id, {}};
}

TEST(LayoutDeltaGossip, APeerOnTheOldLayoutGetsTheNewOneAsADelta) {
  const ClusterState before = three_members();
  const ClusterState after = with_fourth(before);
  Harness node("n1", Layout::empty(8));
  node.use_state(before);
  node.core().receive(node.now_, "n2", whole(after));
  (void)node.effects();
  (void)node.complete_all();
  ASSERT_EQ(node.core().cluster_state().layout, after.layout);

  // n3 gossips that it is still on the first state: the answer carries the
  // one member entry that changed and the layout as a delta from its own.
  Gossip gossip;
  gossip.state_digest = digest64(encode_cluster_state(before));
  gossip.layout_digest = digest_of(before.layout);
  node.core().receive(node.now_, "n3", gossip);
  std::vector<ClusterUpdate> updates;
  for (const SendEffect& send : sends_of<ClusterUpdate>(node.effects()))
    updates.push_back(std::get<ClusterUpdate>(send.message));
  ASSERT_EQ(updates.size(), 1u);
  const ClusterUpdate& update = updates[0];
  EXPECT_EQ(update.state_base, gossip.state_digest);
  EXPECT_EQ(update.members, std::vector<Member>{member("n4")});
  EXPECT_EQ(update.layout_base, digest_of(before.layout));
  EXPECT_EQ(update.layout_digest, digest_of(after.layout));
  // (A fourth node moves a quarter of the entries: about half the bytes.)
  EXPECT_LT(update.layout.size(), encode_layout(after.layout).size() * 3 / 5);
  auto delta = decode_layout_delta(update.layout);
  ASSERT_TRUE(delta.ok()) << delta.status().message();
  auto applied = apply_layout_delta(before.layout, *delta);
  ASSERT_TRUE(applied.ok()) << applied.status().message();
  EXPECT_EQ(*applied, after.layout);
  EXPECT_EQ(node.core().stats().layout_deltas_sent, 1u);

  // A peer on a state and layout this node never held gets them whole.
  gossip.state_digest = 6789;
  gossip.layout_digest = 12345;
  node.core().receive(node.now_, "n2", gossip);
  const auto sent = sends_of<ClusterUpdate>(node.effects());
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(std::get<ClusterUpdate>(sent[0].message), whole(after));

  // And a peer that receives the delta adopts exactly the new layout.
  Harness other("n3", Layout::empty(8));
  other.use_state(before);
  deliver(other, update);
  EXPECT_EQ(other.core().cluster_state(), after);
  EXPECT_EQ(other.core().stats().layout_deltas_applied, 1u);
}

TEST(LayoutDeltaGossip, ADeltaForAnotherBaseOrToAnotherLayoutChangesNothing) {
  const ClusterState before = three_members();
  const ClusterState after = with_fourth(before);
  ClusterState later = after;  // n2 reweighted
  later.members[1].capacity = 3;
  later.layout = plan_assignment(after.layout, ring_nodes(later.members), 3)->layout;
  Harness node("n3", Layout::empty(8));
  node.use_state(before);
  const ClusterState held = node.core().cluster_state();
  ClusterUpdate update = whole(after);
  update.layout = *encode_layout_delta(before.layout, after.layout);
  update.layout_digest = digest_of(after.layout);

  // Named as a delta from a layout this node does not hold.
  update.layout_base = digest_of(later.layout);
  deliver(node, update);
  EXPECT_EQ(node.core().cluster_state(), held);
  EXPECT_EQ(node.core().stats().layout_deltas_refused, 1u);

  // From our layout, but naming a result other than the one it gives.
  update.layout_base = digest_of(before.layout);
  update.layout_digest = digest_of(later.layout);
  deliver(node, update);
  EXPECT_EQ(node.core().cluster_state(), held);
  EXPECT_EQ(node.core().stats().layout_deltas_refused, 2u);

  // The control: named right, it is merged.
  update.layout_digest = digest_of(after.layout);
  deliver(node, update);
  EXPECT_EQ(node.core().cluster_state().layout, after.layout);
  EXPECT_EQ(node.core().stats().layout_deltas_applied, 1u);
}

}  // namespace
}  // namespace ringkv
