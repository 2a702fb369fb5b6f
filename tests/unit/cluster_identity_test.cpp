// Unit tests of cluster identity and of who a node hears: a cluster's id is
// drawn when it is formed, persisted and spread with its state; a state of
// another cluster is never merged; a node in a cluster hears only the nodes
// its state has an entry for; a join request speaks for its sender only.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/cluster_state.h"
#include "core_harness.h"
#include "ring/assignment.h"

namespace ringkv {
namespace {

using namespace testing_core;
using ::testing::HasSubstr;

ClusterState two_members(const std::string& cluster_id) {
  ClusterState state;
  for (const std::string id : {"n1", "n2"})
    state.members.push_back({id, id + ":7070", id + ":8080", 1, "", MemberRole::owner, 1});
  state.layout = plan_assignment(Layout::empty(4), ring_nodes(state.members), 3)->layout;
  state.cluster_id = cluster_id;
  return state;
}

TEST(ClusterIdentity, TheIdRoundTripsAndAStateWrittenBeforeIdsDecodesWithoutOne) {
  const ClusterState state = two_members("5d0c0ffee");
  auto decoded = decode_cluster_state(encode_cluster_state(state));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, state);
  // Format 3: format 4 without the tokens (no tokens is one count byte at
  // the end); format 2: format 3 without the id (an empty id is one length
  // byte).
  ClusterState without = state;
  without.cluster_id.clear();
  const std::string format4 = encode_cluster_state(without);
  ASSERT_EQ(format4.substr(0, 2), std::string("\x04\x00", 2));
  ASSERT_EQ(format4.back(), '\x00');
  std::string format3 = format4.substr(0, format4.size() - 1);
  format3[0] = '\x03';
  auto third = decode_cluster_state(format3);
  ASSERT_TRUE(third.ok()) << third.status().to_string();
  EXPECT_EQ(*third, without);
  std::string format2 = format3;
  format2.erase(1, 1);
  format2[0] = '\x02';
  auto old = decode_cluster_state(format2);
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  EXPECT_EQ(*old, without);
  // An id the handshake could not carry, or with a space, is corrupt.
  for (const std::string& bad : {std::string(kClusterIdBytesMax + 1, 'a'), std::string("a b")}) {
    ClusterState wrong = state;
    wrong.cluster_id = bad;
    EXPECT_FALSE(decode_cluster_state(encode_cluster_state(wrong)).ok()) << bad;
  }
}

TEST(ClusterIdentity, AMergeKeepsTheIdAndANodeInNoClusterTakesIt) {
  const ClusterState ours = two_members("aaaa");
  ClusterState joining = ours;
  joining.cluster_id.clear();
  EXPECT_EQ(merge_cluster_states(joining, ours).cluster_id, "aaaa");
  EXPECT_EQ(merge_cluster_states(ours, joining).cluster_id, "aaaa");
  EXPECT_TRUE(compatible_clusters("", "aaaa"));
  EXPECT_FALSE(compatible_clusters("aaaa", "bbbb"));
}

TEST(ClusterIdentity, AFormedClusterDrawsAnIdFromTheStartsSeedAndPersistsIt) {
  std::string ids[2];
  for (int run = 0; run < 2; ++run) {
    NodeCoreOptions options = test_options();
    options.seed = 100 + run;
    Harness node("n1", Layout::empty(4), 7, options);
    node.core().form_cluster(node.now_, Member{"n1", "n1:7070", "n1:8080", 1, ""}, 4);
    (void)node.effects();
    (void)node.complete_all();
    ids[run] = node.core().cluster_id();
    EXPECT_EQ(ids[run].size(), 32u);
    auto saved = node.engine().get(Column::meta, kClusterStateKey);
    ASSERT_TRUE(saved.ok() && saved.value());
    EXPECT_EQ(decode_cluster_state(*saved.value())->cluster_id, ids[run]);
  }
  EXPECT_NE(ids[0], ids[1]);
}

// A member that sends another cluster's state (forged, or a stale image of
// another cluster under a member's id) changes nothing: without the check, a
// higher layout version would move every partition to it.
TEST(ClusterIdentity, AStateOfAnotherClusterIsNotMergedEvenFromAMember) {
  Harness node("n1", Layout::empty(4));
  node.use_state(two_members("aaaa"));
  const ClusterState before = node.core().cluster_state();
  ClusterState theirs;
  theirs.members.push_back({"n2", "n2:7070", "n2:8080", 1, "", MemberRole::owner, 99});
  theirs.layout = plan_assignment(Layout::empty(4), ring_nodes(theirs.members), 3)->layout;
  theirs.layout =
      Layout::create(4, 40, theirs.layout.nodes(), theirs.layout.width(), theirs.layout.lists())
          .value();  // a layout version far above ours
  node.core().receive(node.now_, "n2",
                      ClusterUpdate{theirs.members, encode_layout(theirs.layout), "bbbb", {}});
  (void)node.effects();
  (void)node.complete_all();
  EXPECT_EQ(node.core().cluster_state(), before);
  EXPECT_EQ(node.core().stats().peer_messages_refused, 1u);
  // The same from this cluster is merged (the check, not the message, refused it).
  node.core().receive(node.now_, "n2",
                      ClusterUpdate{theirs.members, encode_layout(theirs.layout), "aaaa", {}});
  (void)node.effects();
  (void)node.complete_all();
  EXPECT_EQ(node.core().cluster_state().layout.version(), theirs.layout.version());
}

TEST(ClusterIdentity, ANodeInAClusterHearsOnlyNodesItsStateNames) {
  Harness node("n1", Layout::empty(4));
  node.use_state(two_members("aaaa"));
  ClusterState forged = two_members("aaaa");
  forged.members.push_back({"x9", "x9:7070", "x9:8080", 1, "", MemberRole::owner, 50});
  const ClusterState before = node.core().cluster_state();
  node.core().receive(node.now_, "x9",
                      ClusterUpdate{forged.members, encode_layout(forged.layout), "aaaa", {}});
  ReplicaRead read;
  read.op = 1;
  read.store.name = "s";
  read.key = "k";
  node.core().receive(node.now_, "x9", read);
  node.core().receive(node.now_, "x9", Gossip{false, 5, {Heartbeat{"n2", ~uint64_t{0} >> 1, 1}}});
  EXPECT_TRUE(node.effects().empty()) << "nothing answered, nothing written";
  EXPECT_EQ(node.core().cluster_state(), before);
  EXPECT_EQ(node.core().stats().peer_messages_refused, 3u);
}

TEST(ClusterIdentity, AJoinRequestSpeaksForItsSenderOnly) {
  Harness node("n1", Layout::empty(4));
  node.use_state(two_members("aaaa"));
  const ClusterState before = node.core().cluster_state();
  // "x9" asks to admit "n2" at its own address: taken, it would move n2.
  node.core().receive(node.now_, "x9",
                      JoinRequest{5, Member{"n2", "x9:7070", "x9:8080", 1, ""}, true});
  auto replies = sends_of<JoinReply>(node.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].to, "x9");
  const auto& reply = std::get<JoinReply>(replies[0].message);
  EXPECT_EQ(reply.status.code, Code::invalid_argument);
  EXPECT_THAT(reply.status.message, HasSubstr("asks for itself"));
  EXPECT_EQ(node.core().cluster_state(), before);
}

// A joining node's first state is still being written when a state of
// another cluster arrives: that one is refused, not written too and then
// merged with it (which stopped the node on the merge's assertion).
TEST(ClusterIdentity, AStateOfAnotherClusterWhileTheFirstIsWrittenIsRefused) {
  Harness node("n3", Layout::empty(4));
  ClusterState ours = two_members("aaaa");
  ours.members.push_back({"n3", "n3:7070", "n3:8080", 1, "", MemberRole::owner, 2});
  JoinReply reply;
  reply.op = 1;
  reply.members = ours.members;
  reply.layout = encode_layout(ours.layout);
  reply.cluster_id = "aaaa";
  node.core().receive(node.now_, "n1", reply);
  (void)node.effects();  // the write is issued, not completed
  const ClusterState theirs = two_members("bbbb");
  node.core().receive(node.now_, "n2",
                      ClusterUpdate{theirs.members, encode_layout(theirs.layout), "bbbb", {}});
  (void)node.effects();
  (void)node.complete_all();
  EXPECT_EQ(node.core().cluster_id(), "aaaa");
  EXPECT_EQ(node.core().stats().peer_messages_refused, 1u);
  auto saved = node.engine().get(Column::meta, kClusterStateKey);
  ASSERT_TRUE(saved.ok() && saved.value());
  EXPECT_EQ(decode_cluster_state(*saved.value())->cluster_id, "aaaa");
}

// A removed member the layout no longer names keeps a valid certificate and
// an entry: it may still hand over (heartbeats, hints, handover rounds,
// answers), coordinate its clients' requests and send its state, but no
// longer create stores, stream partitions or drive a sweep.
TEST(ClusterIdentity, ARemovedMemberNoLayoutNamesMayOnlyHandOver) {
  Harness node("n1", Layout::empty(4));
  ClusterState state = two_members("aaaa");
  state.members.push_back({"n3", "n3:7070", "n3:8080", 1, "", MemberRole::removed, 9});
  node.use_state(state);
  const ClusterState before = node.core().cluster_state();
  StreamRequest stream;
  stream.op = 2;
  stream.store.name = "s";
  node.core().receive(node.now_, "n3", stream);
  TombstoneReap reap;
  reap.store.name = "s";
  reap.keys = {"k"};
  node.core().receive(node.now_, "n3", reap);
  CreateStore create;
  create.op = 3;
  create.store.name = "t";
  node.core().receive(node.now_, "n3", create);
  EXPECT_TRUE(node.effects().empty()) << "nothing answered, nothing written";
  (void)node.complete_all();
  EXPECT_EQ(node.core().cluster_state(), before);
  EXPECT_EQ(node.core().stats().peer_messages_refused, 3u);
  EXPECT_EQ(node.core().stats().last_refused_sender, "n3");
  // Its heartbeat is still heard (it tells when it holds nothing more).
  node.core().receive(node.now_, "n3", Gossip{false, 5, {Heartbeat{"n3", 7, 1}}});
  EXPECT_EQ(node.core().stats().peer_messages_refused, 3u);
  // A member may do all of it: the same creation from n2 is answered.
  node.core().receive(node.now_, "n2", create);
  EXPECT_FALSE(node.effects().empty());
  EXPECT_EQ(node.core().stats().peer_messages_refused, 3u);
}

}  // namespace
}  // namespace ringkv
