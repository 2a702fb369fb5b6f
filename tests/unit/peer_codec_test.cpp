// Unit tests of the internode codec: every message round-trips, and bytes
// that are not a valid message are rejected with `corruption`.
#include <gtest/gtest.h>

#include "ring/assignment.h"
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

std::vector<PeerMessage> every_message() {
  VersionVector seen;
  seen.raise(1, 3);
  seen.raise(9, 1);
  Version version;
  version.value = "v";
  version.timestamp_ms = 7;
  const std::vector<Member> members = {{"a", "10.0.0.1:7070", "10.0.0.1:8080", 2, "z1"},
                                       {"b", "10.0.0.2:7070", "10.0.0.2:8080", 1, ""}};
  const std::string layout =
      encode_layout(plan_assignment(Layout::empty(4), ring_nodes(members), 2)->layout);
  return {
      ReplicaWrite{1, spec(), "key", two_siblings()},
      ReplicaWriteReply{2, {Code::unavailable, "fenced"}},
      ReplicaRead{3, spec(), std::string("k\0ey", 4)},
      ReplicaReadReply{4, kOk, two_siblings()},
      ForwardPut{5, spec(), "key", seen, version},
      ForwardPutReply{6, kOk, Dot{9, 2}, seen},
      CreateStore{7, spec()},
      CreateStoreReply{8, {Code::already_exists, "other config"}},
      JoinRequest{9, members[0]},
      JoinReply{10, kOk, members, layout},
      ClusterUpdate{members, layout},
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
  decoded = decode_peer_message(encode_peer_message(ClusterUpdate{{}, "not a layout"}));
  EXPECT_EQ(decoded.status().code(), Code::corruption);
}

}  // namespace
}  // namespace ringkv
