// Unit tests of the internode codec: every message round-trips, and bytes
// that are not a valid message are rejected with `corruption`.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "ring/assignment.h"
#include "ring/layout_delta.h"
#include "storage/merkle.h"
#include "storage/record_codec.h"
#include "wire/peer_codec.h"

namespace ringkv {
namespace {

const PeerStatus kOk{Code::ok, "ok"};

StoreSpec spec() {
  StoreConfig config;
  config.n = 3;
  config.r = 1;
  config.w = 2;
  config.quorum = QuorumMode::strict;
  config.conflicts = ConflictMode::lww;
  config.durability = Durability::periodic;
  return {"orders", config};
}

SiblingSet two_siblings() {
  SiblingSet set;
  Version first;
  first.value = std::string("bin\0ary", 7);
  first.timestamp_ms = 42;
  set.put({}, 1, first);
  Version tombstone;
  tombstone.tombstone = true;
  set.put({}, 2, tombstone);
  return set;
}

// A live admin token and a revoked store token (hashes only, as they travel).
std::vector<ApiToken> tokens() {
  return {{"0a1b", std::string(64, 'c'), TokenScope::admin, "", "ops", false, 3},
          {"ff", "", TokenScope::write, "orders", "", true, 9}};
}

std::vector<PeerMessage> every_message() {
  VersionVector seen;
  seen.raise(1, 3);
  seen.raise(9, 1);
  Version version;
  version.value = "v";
  version.timestamp_ms = 7;
  const std::vector<Member> members = {{"a", "10.0.0.1:7070", "10.0.0.1:8080", 2, "z1"},
                                       {"b", "10.0.0.2:7070", "10.0.0.2:8080", 1, ""}};
  const Layout planned = plan_assignment(Layout::empty(4), ring_nodes(members), 2)->layout;
  const std::string layout = encode_layout(planned);
  const std::string delta = *encode_layout_delta(planned, planned);
  return {
      ReplicaWrite{1, spec(), "key", two_siblings(), "n2", true},
      ReplicaWrite{2, spec(), "key", two_siblings(), {}, false},
      ReplicaWriteReply{2, {Code::unavailable, "fenced"}},
      ReplicaRead{3, spec(), std::string("k\0ey", 4), {}},
      ReplicaRead{4, spec(), "k", "n3"},
      ReplicaReadReply{4, kOk, two_siblings()},
      ForwardPut{5, spec(), "key", seen, version},
      ForwardPutReply{6, kOk, Dot{9, 2}, seen},
      CreateStore{7, spec()},
      CreateStoreReply{8, {Code::already_exists, "other config"}},
      JoinRequest{9, members[0]},
      JoinReply{10, kOk, members, layout, "3f2a9c", tokens()},
      ClusterUpdate{members, layout, "3f2a9c", tokens()},
      Gossip{false, 7, {{"a", 1700000000000, 12}, {"b", 3, 0}}},
      Gossip{true, 0, {}},
      AeRoots{11, spec(), 5, 6, std::vector<uint64_t>(kMerkleBranches, 0xabcdef0123456789ULL)},
      AeLeaves{12, kOk, {{3, std::vector<uint64_t>(kMerkleLeavesPerBranch, 7)}}},
      AeLeaves{13, {Code::unavailable, "no"}, {}},
      AeSync{14, spec(), 5, 6, {0, 255}, {{"k1", two_siblings()}, {"k2", SiblingSet()}}},
      AeSyncReply{15, kOk, {{"k1", two_siblings()}}},
      TombstoneCheck{16, spec(), {"a", std::string("b\0c", 3)}, {1, 0xffffffffffffffffULL}},
      TombstoneCheckReply{17, {true, false}},
      TombstoneReap{spec(), {"a"}, {42}},
      PruneCheck{21, spec(), {"a", "b"}, {{1, 0xffffffffffffffffULL}, {7}}},
      PruneCheckReply{22, {false, true}},
      ClockPrune{spec(), {"a"}, {{3, 4}}},
      // Rebalancing: roles and versions, the join flag, heartbeat progress,
      // the handover flag, the layout fence and the stream.
      JoinRequest{18, {"c", "p", "h", 3, "z", MemberRole::standby, 9}, false},
      ClusterUpdate{{{"d", "p", "h", 1, "", MemberRole::removed, 12}}, layout, "", {}},
      Gossip{false, 5, {{"a", 1, 2, 0xfeedULL, 0xbeefULL, 64, 1000, 123456, 10, 4, 999, 3}}, 77},
      AeSync{19, spec(), 5, 6, {1}, {{"k", two_siblings()}}, true},
      ReplicaWrite{20, spec(), "key", two_siblings(), {}, false, 41},
      ReplicaRead{21, spec(), "k", {}, 41},
      StreamRequest{22, spec(), 5, 6, std::string("\0\1after", 7), 262144},
      StreamChunk{23, kOk, {{"k1", two_siblings()}, {"k2", two_siblings()}}, "last", false},
      StreamChunk{24, {Code::unavailable, "busy"}, {}, {}, true},
      // A layout as a delta from the receiver's, and the digest that asks for one.
      ClusterUpdate{members, delta, "3f2a9c", {}, 0x1234ULL, 0x5678ULL},
      Gossip{false, 5, {}, 77, 0xabcdULL},
  };
}

TEST(PeerCodec, EveryMessageRoundTrips) {
  for (const PeerMessage& message : every_message()) {
    auto decoded = decode_peer_message(encode_peer_message(message));
    ASSERT_TRUE(decoded.ok()) << message_name(message) << ": " << decoded.status().message();
    EXPECT_TRUE(*decoded == message) << message_name(message);
  }
}

TEST(PeerCodec, RejectsWhatIsNotAMessage) {
  EXPECT_EQ(decode_peer_message("").status().code(), Code::corruption);  // empty envelope
  EXPECT_EQ(decode_peer_message("\xff\xff\xff").status().code(), Code::corruption);
  // Every truncation of a real message is rejected or decodes to a valid one.
  const std::string whole = encode_peer_message(every_message()[0]);
  for (size_t length = 0; length < whole.size(); ++length) {
    auto decoded = decode_peer_message(std::string_view(whole).substr(0, length));
    if (decoded.ok()) {
      EXPECT_FALSE(encode_peer_message(*decoded).empty());
    }
  }
}

TEST(PeerCodec, RejectsInvalidContent) {
  // A store spec that breaks the store rules (w > n).
  StoreSpec bad_spec = spec();
  bad_spec.config.w = 9;
  auto decoded = decode_peer_message(encode_peer_message(CreateStore{1, bad_spec}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // A counter beyond the limit.
  VersionVector huge;
  huge.raise(1, kCounterMax + 1);
  decoded = decode_peer_message(encode_peer_message(ForwardPutReply{1, kOk, Dot{1, 1}, huge}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // A layout that does not decode.
  decoded = decode_peer_message(encode_peer_message(ClusterUpdate{{}, "not a layout", "", {}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // ... nor a layout delta (named by a base).
  decoded = decode_peer_message(
      encode_peer_message(ClusterUpdate{{}, "not a delta", "", {}, 0x1234ULL, 0x5678ULL}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // A hint target or a heartbeat's node that cannot be a node id.
  const std::string too_long(kNodeIdBytesMax + 1, 'n');
  decoded = decode_peer_message(
      encode_peer_message(ReplicaWrite{1, spec(), "k", SiblingSet(), too_long, false}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(encode_peer_message(ReplicaRead{1, spec(), "k", too_long}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(encode_peer_message(Gossip{false, 1, {{"", 1, 1}}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(encode_peer_message(Gossip{false, 1, {{too_long, 1, 1}}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // A member whose address could not be persisted (a node that stored it
  // failed to start: its cluster state no longer decoded) or holds control
  // bytes, in a join request, a join reply or a cluster update.
  Member long_address{"c", std::string(1025, 'p'), "h", 1, "z"};
  Member control_bytes{"c", "p", "http://h\n:80", 1, "z"};
  for (const Member& bad_member : {long_address, control_bytes}) {
    decoded = decode_peer_message(encode_peer_message(JoinRequest{1, bad_member, true}));
    EXPECT_EQ(decoded.status().code(), Code::corruption);
    decoded = decode_peer_message(encode_peer_message(ClusterUpdate{{bad_member}, "", "", {}}));
    EXPECT_EQ(decoded.status().code(), Code::corruption);
  }
  // A token a node could not hold: a secret in place of its hash, a store
  // token without a store, unsorted.
  std::vector<ApiToken> secret = tokens();
  secret[0].secret_hash = "rkv_0a1b_the secret itself";
  std::vector<ApiToken> storeless = tokens();
  storeless[1].store.clear();
  std::vector<ApiToken> unsorted = tokens();
  std::swap(unsorted[0], unsorted[1]);
  const std::string empty_layout = encode_layout(Layout::empty(4));
  decoded = decode_peer_message(encode_peer_message(ClusterUpdate{{}, empty_layout, "", tokens()}));
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  for (const auto& bad_tokens : {secret, storeless, unsorted}) {
    decoded =
        decode_peer_message(encode_peer_message(ClusterUpdate{{}, empty_layout, "", bad_tokens}));
    EXPECT_EQ(decoded.status().code(), Code::corruption);
  }
  // Merkle messages out of shape: a wrong branch count, a leaf or branch out
  // of range, a partition outside its partition count.
  decoded = decode_peer_message(encode_peer_message(AeRoots{1, spec(), 0, 4, {1, 2, 3}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(
      encode_peer_message(AeRoots{1, spec(), 16, 4, std::vector<uint64_t>(kMerkleBranches, 0)}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(
      encode_peer_message(AeLeaves{1, kOk, {{16, std::vector<uint64_t>(16, 0)}}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(
      encode_peer_message(AeLeaves{1, kOk, {{0, std::vector<uint64_t>(15, 0)}}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(encode_peer_message(AeSync{1, spec(), 0, 4, {256}, {}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(encode_peer_message(AeSync{1, spec(), 0, 21, {0}, {}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // A stream request for a partition outside its partition count, and a
  // member whose role is none of the three.
  decoded = decode_peer_message(encode_peer_message(StreamRequest{1, spec(), 16, 4, "", 100}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(encode_peer_message(
      JoinRequest{1, {"a", "p", "h", 1, "", static_cast<MemberRole>(7), 1}, true}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // A tombstone check or reap with a key and no hash.
  decoded = decode_peer_message(encode_peer_message(TombstoneCheck{1, spec(), {"a", "b"}, {1}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(encode_peer_message(TombstoneReap{spec(), {"a"}, {}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // A prune list with a key that names no actor, or more than a record may.
  decoded = decode_peer_message(encode_peer_message(PruneCheck{1, spec(), {"a"}, {{}}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  decoded = decode_peer_message(encode_peer_message(
      ClockPrune{spec(), {"a"}, {std::vector<ActorId>(kActorsPerKeyMax + 1, 5)}}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
  // More heartbeats than a cluster can have nodes.
  Gossip crowded;
  for (size_t index = 0; index <= kNodeCountMax; ++index)
    crowded.heartbeats.push_back({fmt::format("n{}", index), 1, 1});
  decoded = decode_peer_message(encode_peer_message(crowded));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
}

}  // namespace
}  // namespace ringkv
