// Scripted tests of the node core's gossip, failure detection, sloppy quorum
// and hinted handoff, and of the phi accrual detector and the hint codec they
// rest on.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "cluster/failure_detector.h"
#include "common/md5.h"
#include "core_harness.h"
#include "ring/preference_list.h"
#include "storage/data_key.h"
#include "storage/hint_codec.h"

namespace ringkv {
namespace {

using namespace testing_core;
using ::testing::HasSubstr;

// ---- the failure detector ----

TEST(FailureDetector, RegularHeartbeatsKeepPhiLowAndSilenceRaisesIt) {
  FailureDetector detector;
  uint64_t now = 10'000;
  EXPECT_EQ(detector.phi("b", now), 0);  // never heard of: not suspected
  detector.heartbeat("b", now);
  for (int beat = 0; beat < 50; ++beat) {
    now += 500;
    detector.heartbeat("b", now);
    EXPECT_FALSE(detector.suspected("b", now));
  }
  EXPECT_LT(detector.phi("b", now + 500), 1.0);
  EXPECT_LT(detector.phi("b", now + 2000), detector.phi("b", now + 3000));  // grows with silence
  uint64_t suspected_at = now;
  while (!detector.suspected("b", suspected_at))
    suspected_at += 10;
  // Not at the first missed beat, and within a few seconds.
  EXPECT_GT(suspected_at - now, 1500u);
  EXPECT_LT(suspected_at - now, 5000u);
  detector.heartbeat("b", suspected_at);  // it speaks again
  EXPECT_FALSE(detector.suspected("b", suspected_at));
}

TEST(FailureDetector, JitteryHeartbeatsAreGivenMoreTime) {
  auto detection_time = [](uint64_t short_gap, uint64_t long_gap) {
    FailureDetector detector;
    uint64_t now = 0;
    detector.heartbeat("b", now);
    for (int beat = 0; beat < 60; ++beat) {
      now += beat % 2 == 0 ? short_gap : long_gap;
      detector.heartbeat("b", now);
    }
    uint64_t at = now;
    while (!detector.suspected("b", at))
      at += 10;
    return at - now;
  };
  // The same mean interval (1 s): the jittery rhythm earns a longer wait.
  EXPECT_GT(detection_time(200, 1800), detection_time(1000, 1000) + 500);
}

TEST(FailureDetector, ResetStartsANewRhythm) {
  FailureDetector detector;
  detector.heartbeat("b", 0);
  for (uint64_t now = 100; now <= 5000; now += 100)
    detector.heartbeat("b", now);
  EXPECT_TRUE(detector.suspected("b", 60'000));
  detector.reset("b", 60'000);  // it restarted
  EXPECT_FALSE(detector.suspected("b", 60'500));
  EXPECT_TRUE(detector.knows("b"));
  EXPECT_FALSE(detector.knows("c"));
}

// ---- the hint codec ----

TEST(HintCodec, KeysAndValuesRoundTripAndSortByTarget) {
  const std::string key = encode_hint_key("n2", "carts", std::string("k\0y", 3));
  auto decoded = decode_hint_key(key);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->target, "n2");
  EXPECT_EQ(decoded->store, "carts");
  EXPECT_EQ(decoded->key, std::string("k\0y", 3));
  const KeyRange range = hints_for("n2");
  EXPECT_LE(range.begin, key);
  EXPECT_LT(key, range.end);
  // Another target's hints are outside the range, even one whose id extends it.
  for (const char* other : {"n1", "n3", "n20", "n"}) {
    const std::string other_key = encode_hint_key(other, "carts", "k");
    EXPECT_TRUE(other_key < range.begin || other_key >= range.end) << other;
  }
  const std::string value = encode_hint_value(1234, "record");
  auto hint = decode_hint_value(value);
  ASSERT_TRUE(hint.has_value());
  EXPECT_EQ(hint->stored_at_ms, 1234u);
  EXPECT_EQ(hint->record, "record");
}

TEST(HintCodec, RejectsMalformedBytes) {
  EXPECT_FALSE(decode_hint_key("").has_value());
  EXPECT_FALSE(decode_hint_key(std::string("\x05n2", 3)).has_value());      // length beyond the end
  EXPECT_FALSE(decode_hint_key(std::string("\x00\x01s", 3)).has_value());   // empty target
  EXPECT_FALSE(decode_hint_key(std::string("\x02n2\x00", 4)).has_value());  // empty store
  EXPECT_FALSE(decode_hint_value("short").has_value());
}

// ---- gossip and failure detection in the core ----

StoreConfig sloppy(uint32_t n, uint32_t r, uint32_t w) {
  StoreConfig out = config(n, r, w);
  out.quorum = QuorumMode::sloppy;
  return out;
}

// A key whose preference list (n = 3) is exactly `wanted`, in order.
std::string key_with(const Layout& layout, const std::vector<std::string>& wanted) {
  const PreferenceTable table = PreferenceTable::build(layout, 3);
  for (int index = 0; index < 100'000; ++index) {
    const std::string key = fmt::format("k{}", index);
    std::vector<std::string> list;
    for (uint32_t node : table.nodes_for_key(key))
      list.push_back(layout.nodes()[node].id);
    if (list == wanted)
      return key;
  }
  ADD_FAILURE() << "no key has that preference list";
  return {};
}

Gossip heartbeat_of(const std::string& node, uint64_t generation, uint64_t counter) {
  return Gossip{true, 0, {{node, generation, counter}}};
}

class GossipTest : public ::testing::Test {
 protected:
  // 64 lists: every order of three of the four nodes heads some list, which
  // the tests below look keys up by.
  GossipTest() : layout_(make_layout({"a", "b", "c", "d"}, 6)), a_("a", layout_) {}

  // Lets every other member go silent long enough to be suspected, then has
  // `alive` speak up: afterwards exactly the others are believed down.
  void only_alive(Harness& node, const std::vector<std::string>& alive) {
    node.core().tick(node.now_);  // starts watching every member
    node.now_ += 20'000;
    node.core().tick(node.now_);
    for (const std::string& id : alive)
      node.core().receive(node.now_, id, heartbeat_of(id, 1, 1));
    (void)node.effects();
  }

  Layout layout_;
  Harness a_;
};

TEST_F(GossipTest, EachRoundGoesToFanoutMembersAndIsAnswered) {
  a_.core().tick(a_.now_);
  auto sends = sends_of<Gossip>(a_.effects());
  ASSERT_EQ(sends.size(), 2u);  // the default fanout
  EXPECT_NE(sends[0].to, sends[1].to);
  const Gossip& pushed = std::get<Gossip>(sends[0].message);
  EXPECT_FALSE(pushed.reply);
  ASSERT_EQ(pushed.heartbeats.size(), 1u);  // only its own, so far
  EXPECT_EQ(pushed.heartbeats[0].node, "a");
  EXPECT_EQ(pushed.heartbeats[0].counter, 1u);
  // Nothing more until the next interval; then the counter rises.
  a_.core().tick(a_.now_ + 100);
  EXPECT_TRUE(sends_of<Gossip>(a_.effects()).empty());
  a_.core().tick(a_.now_ + 500);
  sends = sends_of<Gossip>(a_.effects());
  ASSERT_EQ(sends.size(), 2u);
  EXPECT_EQ(std::get<Gossip>(sends[0].message).heartbeats[0].counter, 2u);
  // A push is answered with this node's view, which now includes b; a reply is not.
  a_.core().receive(a_.now_, "b", Gossip{false, layout_.version(), {{"b", 5, 9}}});
  sends = sends_of<Gossip>(a_.effects());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].to, "b");
  const Gossip& answer = std::get<Gossip>(sends[0].message);
  EXPECT_TRUE(answer.reply);
  EXPECT_EQ(answer.heartbeats.size(), 2u);
  a_.core().receive(a_.now_, "c", Gossip{true, layout_.version(), {}});
  EXPECT_TRUE(sends_of<Gossip>(a_.effects()).empty());
  // Heartbeats of nodes that are not members are ignored.
  a_.core().receive(a_.now_, "c", Gossip{true, layout_.version(), {{"zz", 1, 1}}});
  for (const auto& view : a_.core().peer_views(a_.now_))
    EXPECT_NE(view.id, "zz");
}

TEST_F(GossipTest, AMemberWithAnotherStateIsSentOurs) {
  std::vector<Member> members;
  for (const std::string id : {"a", "b", "c", "d"})
    members.push_back({id, fmt::format("{}:7070", id), fmt::format("{}:8080", id), 1, ""});
  a_.core().adopt_cluster(ClusterState{members, layout_, "test-cluster", {}});
  (void)a_.effects();
  const uint64_t ours = digest64(encode_cluster_state(a_.core().cluster_state()));
  a_.core().receive(a_.now_, "b", Gossip{true, ours ^ 1, {}});
  auto updates = sends_of<ClusterUpdate>(a_.effects());
  ASSERT_EQ(updates.size(), 1u);
  EXPECT_EQ(updates[0].to, "b");
  EXPECT_EQ(std::get<ClusterUpdate>(updates[0].message).layout, encode_layout(layout_));
  a_.core().receive(a_.now_, "b", Gossip{true, ours, {}});  // the same state
  EXPECT_TRUE(sends_of<ClusterUpdate>(a_.effects()).empty());
}

// A founding node whose data directory was wiped and that was restarted
// with its original flags (no --join) forms a second, empty cluster. Its old
// cluster still dials it (the transport refuses the other cluster's id and
// reports it): that must stop it acknowledging writes, with a message that
// says how to rejoin, not go unnoticed (split brain).
TEST(FoundingNode, AnEmptyFounderThatItsOldClusterStillCountsOnRefusesWrites) {
  for (const bool fresh : {true, false}) {
    NodeCoreOptions options = test_options();
    options.fresh_directory = fresh;
    Harness node("n1", Layout::empty(4), 7, options);
    node.core().form_cluster(node.now_, Member{"n1", "n1:7070", "n1:8080", 1, ""}, 4);
    (void)node.effects();
    (void)node.complete_all();
    ASSERT_EQ(node.core().members().size(), 1u);
    // A stranger's gossip is not heard (it is no member) and changes nothing.
    node.core().receive(node.now_, "x9", Gossip{false, 5, {Heartbeat{"x9", 1, 1}}});
    (void)node.effects();
    EXPECT_TRUE(node.core().write_fence().ok());
    EXPECT_EQ(node.core().stats().peer_messages_refused, 1u);
    // A node of the old cluster, which lists n1 among its members, dials it.
    node.core().other_cluster_contact(node.now_, "n2");
    (void)node.effects();
    if (!fresh) {
      EXPECT_TRUE(node.core().write_fence().ok()) << "a founder that kept its data";
      continue;
    }
    EXPECT_FALSE(node.core().write_fence().ok());
    EXPECT_THAT(node.core().write_fence().message(), HasSubstr("--join"));
    EXPECT_EQ(node.core().stats().foreign_cluster_contacts, 1u);
  }
}

// A node that holds a hint before it knows any layout (a wiped node that
// rejoined and took a hinted write before its join reply came) keeps it
// until it knows where the key lives: there is nowhere to send it yet. The
// simulator crashed here (seed 369079 chaos: the handoff asked for the
// key's new replicas in a layout the node did not have).
TEST(StandInHints, AHintHeldBeforeAnyLayoutWaitsForOne) {
  MemoryEngine engine;
  create_store_on_disk(engine, "s", config(1, 1, 1));
  SiblingSet set;
  set.put(VersionVector(), 9, value("v"));
  WriteBatch hint;
  hint.push_back(
      {Column::hints, encode_hint_key("b", "s", "k"), encode_hint_value(1, encode_record(set))});
  ASSERT_TRUE(engine.write(hint, true).ok());
  NodeCoreOptions options = test_options();
  options.self = "a";
  options.actor = 7;
  NodeCore core(options, engine, StoreCatalog::load(engine).value());
  for (uint64_t now = 1000; now <= 60'000; now += 1000)
    core.tick(now);
  for (const Effect& effect : core.take_effects())
    EXPECT_FALSE(std::holds_alternative<SendEffect>(effect));
  auto kept = engine.get(Column::hints, encode_hint_key("b", "s", "k"));
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept.value().has_value());
}

TEST_F(GossipTest, ASilentMemberIsSuspectedAndAFreshHeartbeatClearsIt) {
  a_.core().tick(a_.now_);
  uint64_t counter = 0;
  uint64_t suspected_at = 0;
  for (uint64_t step = 0; step < 100 && suspected_at == 0; ++step) {
    a_.now_ += 100;
    // b and d keep beating (as gossip relays them); c has stopped.
    if (step % 5 == 0) {
      ++counter;
      a_.core().receive(a_.now_, "b", Gossip{true, 0, {{"b", 1, counter}, {"d", 1, counter}}});
    }
    a_.core().tick(a_.now_);
    if (a_.core().is_down("c", a_.now_))
      suspected_at = a_.now_;
  }
  ASSERT_NE(suspected_at, 0u) << "c never suspected";
  EXPECT_FALSE(a_.core().is_down("b", a_.now_));
  EXPECT_FALSE(a_.core().is_down("d", a_.now_));
  EXPECT_EQ(a_.core().stats().suspicions, 1u);
  // c restarted: a new generation is a fresh heartbeat.
  a_.core().receive(a_.now_, "b", Gossip{true, 0, {{"c", 2, 1}}});
  EXPECT_FALSE(a_.core().is_down("c", a_.now_));
  EXPECT_EQ(a_.core().stats().recoveries, 1u);
  // An old generation's heartbeat is no news.
  a_.now_ += 20'000;
  a_.core().receive(a_.now_, "b", Gossip{true, 0, {{"c", 1, 99}}});
  EXPECT_TRUE(a_.core().is_down("c", a_.now_));
  (void)a_.effects();
}

TEST_F(GossipTest, AHeartbeatBeyondAnyClockIsRefusedAndCannotSilenceAMember) {
  // A forged heartbeat with generation or counter 2^64-1 used to be taken:
  // every real heartbeat after it was older news, and the member was held
  // down for good.
  a_.core().tick(a_.now_);
  a_.core().receive(a_.now_, "b", heartbeat_of("c", 5, 10));
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  a_.core().receive(a_.now_, "b", heartbeat_of("c", max, 1));  // generation
  a_.core().receive(a_.now_, "b", heartbeat_of("c", 5, max));  // counter
  a_.core().receive(a_.now_, "b", heartbeat_of("c", a_.now_ + 2 * 3600 * 1000, 1));
  (void)a_.effects();
  EXPECT_EQ(a_.core().stats().heartbeats_refused, 3u);
  // c's own heartbeats go on counting: it is never suspected.
  for (uint64_t counter = 11; counter < 60; ++counter) {
    a_.now_ += 500;
    a_.core().receive(a_.now_, "c", heartbeat_of("c", 5, counter));
    a_.core().tick(a_.now_);
    ASSERT_FALSE(a_.core().is_down("c", a_.now_)) << "at counter " << counter;
  }
  // A member's own heartbeat, from it, is taken whatever its clock says (a
  // node whose clock runs far ahead must still be heard).
  a_.core().receive(a_.now_, "c", heartbeat_of("c", a_.now_ + 2 * 3600 * 1000, 1));
  EXPECT_EQ(a_.core().stats().heartbeats_refused, 3u);
  (void)a_.effects();
}

// A node whose disk was wiped starts with no record of its last start, so
// its generation comes from the wall clock alone; a clock stepped back (or
// an earlier start on a clock that ran fast) made it lower than what the
// members last heard of it, and they took every heartbeat of it as old news
// and held it down for good (simulator seed 641241 chaos: hints for it were
// never handed off). Hearing its own heartbeat relayed with a newer
// generation, it moves its own past it.
TEST_F(GossipTest, ANodeThatHearsANewerGenerationOfItselfMovesPastIt) {
  a_.core().tick(a_.now_);  // generation 0 (test options), counter 1
  (void)a_.effects();
  const uint64_t old_generation = a_.now_ + 20'000;  // its earlier start, on a faster clock
  a_.core().receive(a_.now_, "b", heartbeat_of("a", old_generation, 50));
  (void)a_.effects();
  a_.now_ += 1000;
  a_.core().tick(a_.now_);
  const auto sends = sends_of<Gossip>(a_.effects());
  ASSERT_FALSE(sends.empty());
  const Gossip& pushed = std::get<Gossip>(sends[0].message);
  const Heartbeat* own = nullptr;
  for (const Heartbeat& heartbeat : pushed.heartbeats)
    own = heartbeat.node == "a" ? &heartbeat : own;
  ASSERT_NE(own, nullptr);
  EXPECT_GT(own->generation, old_generation) << "its heartbeats would be old news to the members";
  // A member that heard the old generation takes the new heartbeat.
  Harness b("b", layout_);
  b.core().tick(b.now_);
  b.core().receive(b.now_, "c", heartbeat_of("a", old_generation, 50));
  b.now_ += 30'000;
  b.core().tick(b.now_);
  ASSERT_TRUE(b.core().is_down("a", b.now_));
  b.core().receive(b.now_, "a", pushed);
  EXPECT_FALSE(b.core().is_down("a", b.now_));
  // A relayed heartbeat of itself beyond any clock moves nothing.
  a_.core().receive(a_.now_, "b", heartbeat_of("a", std::numeric_limits<uint64_t>::max(), 1));
  a_.now_ += 1000;
  a_.core().tick(a_.now_);
  for (const SendEffect& send : sends_of<Gossip>(a_.effects())) {
    for (const Heartbeat& heartbeat : std::get<Gossip>(send.message).heartbeats) {
      if (heartbeat.node == "a") {
        EXPECT_EQ(heartbeat.generation, own->generation);
      }
    }
  }
  (void)b.effects();
}

// Before its own first round, a node that hears itself relayed must not
// make an entry without a node id: its answer would carry it, and every
// peer drops such a message as undecodable (the simulator's crash seeds
// caught it).
TEST_F(GossipTest, HearingItselfBeforeItsFirstRoundSendsNoNamelessHeartbeat) {
  a_.core().receive(a_.now_, "b", Gossip{false, 0, {{"a", a_.now_ + 5000, 3}, {"b", 1, 1}}});
  const auto sends = sends_of<Gossip>(a_.effects());
  ASSERT_EQ(sends.size(), 1u) << "a push is answered";
  for (const Heartbeat& heartbeat : std::get<Gossip>(sends[0].message).heartbeats)
    EXPECT_FALSE(heartbeat.node.empty());
  a_.core().tick(a_.now_);
  for (const SendEffect& send : sends_of<Gossip>(a_.effects())) {
    for (const Heartbeat& heartbeat : std::get<Gossip>(send.message).heartbeats) {
      EXPECT_FALSE(heartbeat.node.empty());
      if (heartbeat.node == "a") {
        EXPECT_GT(heartbeat.generation, a_.now_ + 5000);
      }
    }
  }
}

// ---- sloppy quorum ----

TEST_F(GossipTest, SloppyPutSendsADownReplicasCopyToAStandInWithAHint) {
  a_.create("s", sloppy(3, 2, 2));
  const std::string key = key_with(layout_, {"a", "b", "c"});
  only_alive(a_, {"b", "d"});  // c is down
  a_.core().put(a_.now_, 10, "s", key, {}, value("v1"));
  std::vector<Effect> out = a_.effects();
  const auto writes = sends_of<ReplicaWrite>(out);
  ASSERT_EQ(writes.size(), 2u);
  std::map<std::string, std::string> hint_for;
  for (const SendEffect& send : writes)
    hint_for[send.to] = std::get<ReplicaWrite>(send.message).hint_for;
  EXPECT_EQ(hint_for.count("c"), 0u);  // not sent to the replica believed down
  EXPECT_EQ(hint_for["b"], "");
  EXPECT_EQ(hint_for["d"], "c");  // the stand-in, holding c's copy
  EXPECT_EQ(a_.core().stats().sloppy_writes, 1u);
  // The stand-in's acknowledgement counts toward w.
  a_.complete();
  const uint64_t op = std::get<ReplicaWrite>(writes[0].message).op;
  a_.core().receive(a_.now_, "d", ReplicaWriteReply{op, {}});
  const auto replies = only<PutReply>(a_.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].status.ok()) << replies[0].status.message();
  // A read asks the stand-in for its hint, and does not read-repair it.
  a_.core().get(a_.now_, 11, "s", key);
  out = a_.effects();
  const auto reads = sends_of<ReplicaRead>(out);
  ASSERT_EQ(reads.size(), 2u);
  for (const SendEffect& send : reads) {
    const auto& read = std::get<ReplicaRead>(send.message);
    EXPECT_EQ(read.hint_for, send.to == "d" ? "c" : "");
    a_.core().receive(a_.now_, send.to, read_reply(read.op, SiblingSet()));
  }
  out = a_.effects();
  ASSERT_EQ(only<GetReply>(out).size(), 1u);
  for (const SendEffect& send : sends_of<ReplicaWrite>(out))
    EXPECT_NE(send.to, "d") << "read repair sent to a stand-in";
}

TEST_F(GossipTest, ASloppyPutShortOfWGivesSilentReplicasAStandInBeforeItsDeadline) {
  a_.create("s", sloppy(3, 3, 3));
  const std::string key = key_with(layout_, {"a", "b", "c"});
  a_.core().tick(a_.now_);  // everyone believed up: c has just crashed, unnoticed
  (void)a_.effects();
  a_.core().put(a_.now_, 10, "s", key, {}, value("v1"));
  auto writes = sends_of<ReplicaWrite>(a_.effects());
  ASSERT_EQ(writes.size(), 2u);  // b and c
  const uint64_t op = std::get<ReplicaWrite>(writes[0].message).op;
  a_.complete();
  a_.core().receive(a_.now_, "b", ReplicaWriteReply{op, {}});
  EXPECT_TRUE(only<PutReply>(a_.effects()).empty());  // 2 of w = 3
  a_.now_ += 100;
  a_.core().tick(a_.now_);
  EXPECT_TRUE(sends_of<ReplicaWrite>(a_.effects()).empty());  // not yet
  a_.now_ += 150;                                             // a quarter of the request deadline
  a_.core().tick(a_.now_);
  writes = sends_of<ReplicaWrite>(a_.effects());
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].to, "d");
  EXPECT_EQ(std::get<ReplicaWrite>(writes[0].message).hint_for, "c");
  a_.core().receive(a_.now_, "d", ReplicaWriteReply{op, {}});
  const auto replies = only<PutReply>(a_.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].status.ok()) << replies[0].status.message();
  // Only once: later ticks send nothing more.
  a_.now_ += 500;
  a_.core().tick(a_.now_);
  EXPECT_TRUE(sends_of<ReplicaWrite>(a_.effects()).empty());
}

TEST_F(GossipTest, NoStandInIsChosenForAReplicaDownLongerThanTheHintWindow) {
  NodeCoreOptions options = test_options();
  options.hint_window_ms = 10'000;
  Harness a("a", layout_, 7, options);
  a.create("s", sloppy(3, 2, 2));
  const std::string key = key_with(layout_, {"a", "b", "c"});
  a.core().tick(a.now_);
  a.now_ += 5000;
  a.core().tick(a.now_);  // c has been silent 5 s: suspected from about now
  a.core().receive(a.now_, "b", heartbeat_of("b", 1, 1));
  a.core().receive(a.now_, "d", heartbeat_of("d", 1, 1));
  (void)a.effects();
  ASSERT_TRUE(a.core().is_down("c", a.now_));
  auto sent_to = [&](RequestId request) {
    a.core().put(a.now_, request, "s", key, {}, value("v"));
    std::map<std::string, std::string> out;  // node -> hint_for
    for (const SendEffect& send : sends_of<ReplicaWrite>(a.effects()))
      out[send.to] = std::get<ReplicaWrite>(send.message).hint_for;
    a.complete_all();
    return out;
  };
  auto within = sent_to(10);  // within the window: d stands in for c
  EXPECT_EQ(within.count("c"), 0u);
  EXPECT_EQ(within["d"], "c");
  // Long after: b and d keep beating, c stays silent past the window.
  for (int second = 0; second < 12; ++second) {
    a.now_ += 1000;
    a.core().receive(a.now_, "b", heartbeat_of("b", 1, 2 + second));
    a.core().receive(a.now_, "d", heartbeat_of("d", 1, 2 + second));
    a.core().tick(a.now_);
  }
  (void)a.effects();
  auto beyond = sent_to(11);  // no new hints for c: its copy goes to c itself
  EXPECT_EQ(beyond.count("d"), 0u);
  EXPECT_EQ(beyond.count("c"), 1u);
  EXPECT_EQ(beyond["c"], "");
}

TEST_F(GossipTest, StrictPutWithTooFewReplicasUpIsRefusedNamingThem) {
  a_.create("s", config(3, 2, 2));
  const std::string key = key_with(layout_, {"a", "b", "c"});
  only_alive(a_, {"d"});  // b and c are down
  a_.core().put(a_.now_, 10, "s", key, {}, value("v1"));
  const std::vector<Effect> out = a_.effects();
  EXPECT_TRUE(only<WriteEffect>(out).empty());  // nothing stored
  EXPECT_TRUE(sends_of<ReplicaWrite>(out).empty());
  const auto replies = only<PutReply>(out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status.code(), Code::unavailable);
  EXPECT_THAT(replies[0].status.message(), HasSubstr("strict"));
  EXPECT_THAT(replies[0].status.message(), HasSubstr("b, c"));
}

TEST_F(GossipTest, StrictGetWithTooFewReplicasUpFailsAtOnceNamingThem) {
  // The nemesis found strict reads on the majority side of a partition
  // waiting out the request timeout for replicas the detector knew were
  // down, while strict writes failed at once: a read fails at once too.
  a_.create("s", config(3, 2, 2));
  const std::string key = key_with(layout_, {"a", "b", "c"});
  only_alive(a_, {"d"});  // b and c are down
  a_.core().get(a_.now_, 10, "s", key);
  const std::vector<Effect> out = a_.effects();
  EXPECT_TRUE(sends_of<ReplicaRead>(out).empty());
  const auto replies = only<GetReply>(out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status.code(), Code::unavailable);
  EXPECT_THAT(replies[0].status.message(), HasSubstr("r = 2"));
  EXPECT_THAT(replies[0].status.message(), HasSubstr("b, c"));
  // One replica down leaves r = 2 reachable: the read goes ahead.
  only_alive(a_, {"b", "d"});
  a_.core().get(a_.now_, 11, "s", key);
  const std::vector<Effect> asked = a_.effects();
  EXPECT_EQ(sends_of<ReplicaRead>(asked).size(), 2u);  // b and c: the whole list is asked
  EXPECT_TRUE(only<GetReply>(asked).empty());
}

// When every replica of a key is down, the node that keeps the first
// replica's hint numbers the writes under one actor of its own, from the
// versions it holds in its hints: a key written through an outage gains one
// clock entry, not one per write (with an actor per write, an n = 1 key
// written while its replica restarted grew by one entry per put). Once a hint
// naming that actor is handed off, the node no longer holds all its versions
// of the key, so the next outage's writes get a new actor.
TEST_F(GossipTest, WhenEveryReplicaIsDownTheStandInNumbersWritesUnderOneActorPerOutage) {
  a_.create("s", sloppy(3, 2, 2));
  const std::string key = key_with(layout_, {"b", "c", "d"});
  only_alive(a_, {});  // b, c and d are down
  // One put, answered by the other copies' targets as if they were back.
  auto put = [&](RequestId request, VersionVector seen, const std::string& text) {
    a_.core().put(a_.now_, request, "s", key, std::move(seen), value(text));
    std::vector<Effect> out = a_.effects();
    const auto writes = only<WriteEffect>(out);
    EXPECT_EQ(writes.size(), 1u);  // a stands in for b itself: a local hint
    if (!writes.empty()) {
      EXPECT_EQ(writes[0].batch[0].column, Column::hints);
    }
    EXPECT_TRUE(sends_of<ForwardPut>(out).empty());
    std::vector<Effect> later = a_.complete_all();
    for (const SendEffect& send : sends_of<ReplicaWrite>(out))
      a_.core().receive(a_.now_, send.to,
                        ReplicaWriteReply{std::get<ReplicaWrite>(send.message).op, {}});
    std::vector<Effect> rest = a_.effects();
    later.insert(later.end(), rest.begin(), rest.end());
    const auto replies = only<PutReply>(later);
    EXPECT_EQ(replies.size(), 1u);
    return replies.empty() ? PutReply{} : replies[0];
  };
  PutReply first = put(10, {}, "v1");
  ASSERT_TRUE(first.status.ok()) << first.status.message();
  EXPECT_NE(first.dot.actor, 7u);  // not a's own actor: a is no replica of the key
  EXPECT_EQ(first.dot.counter, 1u);
  PutReply last = first;
  for (int write = 2; write <= 40; ++write) {
    last = put(10 + write, last.context, fmt::format("v{}", write));
    ASSERT_TRUE(last.status.ok()) << last.status.message();
    ASSERT_EQ(last.dot.actor, first.dot.actor) << "write " << write;
    ASSERT_EQ(last.dot.counter, static_cast<uint64_t>(write));
  }
  EXPECT_EQ(last.context.size(), 1u);  // one entry after 40 writes
  EXPECT_EQ(a_.core().stats().stand_in_actors, 1u);
  EXPECT_EQ(a_.core().stats().single_use_actors, 0u);

  // b is back: the hint goes home and leaves a; the next outage gets a new actor.
  a_.core().receive(a_.now_, "b", heartbeat_of("b", 2, 1));
  a_.now_ += 1000;
  a_.core().tick(a_.now_);
  std::vector<Effect> out = a_.effects();
  const auto handoffs = sends_of<ReplicaWrite>(out);
  ASSERT_EQ(handoffs.size(), 1u);
  EXPECT_EQ(handoffs[0].to, "b");
  a_.core().receive(a_.now_, "b",
                    ReplicaWriteReply{std::get<ReplicaWrite>(handoffs[0].message).op, {}});
  (void)a_.effects();
  (void)a_.complete_all();
  ASSERT_EQ(a_.core().stats().hints_delivered, 1u);
  only_alive(a_, {});
  const PutReply next = put(100, {}, "after");  // a client that saw nothing
  ASSERT_TRUE(next.status.ok()) << next.status.message();
  EXPECT_NE(next.dot.actor, first.dot.actor);
  EXPECT_EQ(next.dot.counter, 1u);
  EXPECT_EQ(a_.core().stats().stand_in_actors, 2u);
}

// A node that is no replica and not the stand-in that keeps the first
// replica's hint asks that stand-in to coordinate, so the numbering stays
// with the node that holds the versions.
TEST(StandInNumbering, ANodeThatKeepsNoHintForwardsThePutToTheStandInThatDoes) {
  const Layout layout = make_layout({"a", "b", "c", "d", "e"}, 6);
  std::string key;
  for (int index = 0; index < 100'000 && key.empty(); ++index) {
    const std::string candidate = fmt::format("k{}", index);
    std::vector<std::string> list;
    for (uint32_t node : extended_preference_list(
             layout, partition_of(md5(candidate), layout.partition_bits()), 3, 5))
      list.push_back(layout.nodes()[node].id);
    if (list.size() == 5 && list[0] == "b" && list[1] == "c" && list[2] == "d" && list[3] == "e")
      key = candidate;
  }
  ASSERT_FALSE(key.empty());
  Harness a("a", layout);
  a.create("s", sloppy(3, 2, 2));
  a.core().tick(a.now_);
  a.now_ += 20'000;
  a.core().tick(a.now_);
  a.core().receive(a.now_, "e", heartbeat_of("e", 1, 1));  // only e (and a) are up
  (void)a.effects();
  a.core().put(a.now_, 10, "s", key, {}, value("v"));
  const std::vector<Effect> out = a.effects();
  EXPECT_TRUE(only<WriteEffect>(out).empty());  // a keeps nothing
  const auto forwards = sends_of<ForwardPut>(out);
  ASSERT_EQ(forwards.size(), 1u);
  EXPECT_EQ(forwards[0].to, "e");
  EXPECT_EQ(a.core().stats().single_use_actors, 0u);
}

// ---- hints at a stand-in, and handoff ----

class StandInTest : public GossipTest {
 protected:
  StandInTest() : d_("d", layout_, 9) { d_.create("s", sloppy(3, 2, 2)); }

  // One version of a writer of its own (`writer` tells them apart).
  SiblingSet one_version(const std::string& text, uint64_t writer) {
    SiblingSet set;
    set.put(VersionVector(), 40 + writer, value(text));
    return set;
  }
  // Delivers a hinted ReplicaWrite for c to d and completes its write.
  Status hint(const std::string& key, const SiblingSet& set) {
    d_.core().receive(d_.now_, "a", ReplicaWrite{77, {"s", sloppy(3, 2, 2)}, key, set, "c", false});
    std::vector<Effect> out = d_.effects();
    if (d_.pending_writes() > 0)
      out = d_.complete_all();
    const auto acks = sends_of<ReplicaWriteReply>(out);
    EXPECT_EQ(acks.size(), 1u);
    return acks.empty() ? Status(Code::internal, "no ack")
                        : std::get<ReplicaWriteReply>(acks[0].message).status.to_status();
  }
  // `count` keys that `node` replicates (n = 3): a hint for it stays its.
  std::vector<std::string> keys_of(const std::string& node, size_t count) {
    const PreferenceTable table = PreferenceTable::build(layout_, 3);
    std::vector<std::string> out;
    for (int index = 0; out.size() < count; ++index) {
      const std::string key = fmt::format("k{}", index);
      for (uint32_t replica : table.nodes_for_key(key)) {
        if (layout_.nodes()[replica].id == node)
          out.push_back(key);
      }
    }
    return out;
  }
  size_t hints_in_engine() {
    size_t count = 0;
    EXPECT_TRUE(
        d_.engine().scan(Column::hints, "", "", [&](auto, auto) { return ++count, true; }).ok());
    return count;
  }

  Harness d_;
};

TEST_F(StandInTest, AHintIsStoredDurablyReadableAndHandedOffWhenTheReplicaIsBack) {
  only_alive(d_, {"a", "b"});  // c is down
  d_.core().receive(d_.now_, "a",
                    ReplicaWrite{77, {"s", sloppy(3, 2, 2)}, "k", one_version("v", 1), "c", false});
  std::vector<Effect> out = d_.effects();
  const auto writes = only<WriteEffect>(out);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_EQ(writes[0].batch[0].column, Column::hints);    // not its data: it is no replica
  EXPECT_TRUE(writes[0].durable);                         // a sync store
  EXPECT_TRUE(sends_of<ReplicaWriteReply>(out).empty());  // acknowledged only once durable
  out = d_.complete();
  ASSERT_EQ(sends_of<ReplicaWriteReply>(out).size(), 1u);
  EXPECT_EQ(d_.core().stats().hints_stored, 1u);
  EXPECT_EQ(hints_in_engine(), 1u);
  // Readable as the hint for c.
  d_.core().receive(d_.now_, "a", ReplicaRead{78, {"s", sloppy(3, 2, 2)}, "k", "c"});
  const auto answers = sends_of<ReplicaReadReply>(d_.effects());
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(std::get<ReplicaReadReply>(answers[0].message).set, one_version("v", 1));
  // While c is down, nothing is handed off.
  d_.now_ += 1000;
  d_.core().tick(d_.now_);
  EXPECT_TRUE(sends_of<ReplicaWrite>(d_.effects()).empty());
  // c is back: the hint goes home, durably whatever the store's durability.
  d_.core().receive(d_.now_, "c", heartbeat_of("c", 2, 1));
  d_.core().tick(d_.now_);
  auto handoffs = sends_of<ReplicaWrite>(d_.effects());
  ASSERT_EQ(handoffs.size(), 1u);
  EXPECT_EQ(handoffs[0].to, "c");
  const auto& handoff = std::get<ReplicaWrite>(handoffs[0].message);
  EXPECT_EQ(handoff.hint_for, "");
  EXPECT_TRUE(handoff.sync);
  EXPECT_EQ(handoff.set, one_version("v", 1));
  // A failed delivery keeps the hint; the next round tries again.
  d_.core().receive(d_.now_, "c", ReplicaWriteReply{handoff.op, {Code::unavailable, "busy"}});
  EXPECT_TRUE(only<WriteEffect>(d_.effects()).empty());
  EXPECT_EQ(hints_in_engine(), 1u);
  d_.now_ += 1000;
  d_.core().tick(d_.now_);
  handoffs = sends_of<ReplicaWrite>(d_.effects());
  ASSERT_EQ(handoffs.size(), 1u);
  // Acknowledged: deleted.
  d_.core().receive(d_.now_, "c",
                    ReplicaWriteReply{std::get<ReplicaWrite>(handoffs[0].message).op, {}});
  (void)d_.effects();
  (void)d_.complete_all();
  EXPECT_EQ(hints_in_engine(), 0u);
  EXPECT_EQ(d_.core().stats().hints_delivered, 1u);
  // An ack from another node for that op would have counted for nothing.
}

// A hint whose key moved off its target while the target was away (the
// layout changed) goes to the key's new replica. Delivered to the old owner,
// it was merged into a copy that owner was about to drop, and lost with it
// if the old owner died first.
TEST_F(StandInTest, AHintWhoseKeyMovedAwayFromItsTargetGoesToTheNewReplica) {
  const Layout bigger = make_layout({"a", "b", "c", "d", "e"}, 6);
  auto list = [](const Layout& layout, const std::string& key) {
    std::vector<std::string> out;
    const PreferenceTable table = PreferenceTable::build(layout, 3);  // (the span points into it)
    for (uint32_t index : table.nodes_for_key(key))
      out.push_back(layout.nodes()[index].id);
    return out;
  };
  std::string key;
  for (int index = 0; index < 10'000 && key.empty(); ++index) {
    const std::string candidate = fmt::format("m{}", index);
    const auto before = list(layout_, candidate), after = list(bigger, candidate);
    if (std::count(before.begin(), before.end(), "c") == 1 &&
        std::count(after.begin(), after.end(), "c") == 0 &&
        std::count(after.begin(), after.end(), "d") == 0)
      key = candidate;
  }
  ASSERT_FALSE(key.empty());
  only_alive(d_, {"a", "b"});  // c is down: d holds a hint for it
  ASSERT_TRUE(hint(key, one_version("v", 1)).ok());
  d_.core().set_layout(bigger);                              // the key moved off c (and is not d's)
  d_.core().receive(d_.now_, "c", heartbeat_of("c", 2, 1));  // c is back
  d_.core().receive(d_.now_, "e", heartbeat_of("e", 2, 1));
  d_.now_ += 1000;
  d_.core().tick(d_.now_);
  auto handoffs = sends_of<ReplicaWrite>(d_.effects());
  ASSERT_EQ(handoffs.size(), 1u);
  const auto now_replicas = list(bigger, key);
  EXPECT_NE(handoffs[0].to, "c") << "delivered to an owner the key moved away from";
  EXPECT_EQ(std::count(now_replicas.begin(), now_replicas.end(), handoffs[0].to), 1)
      << handoffs[0].to << " is not a replica of the key";
  EXPECT_EQ(std::get<ReplicaWrite>(handoffs[0].message).set, one_version("v", 1));
  EXPECT_EQ(d_.core().stats().hints_rerouted, 1u);
  d_.core().receive(d_.now_, handoffs[0].to,
                    ReplicaWriteReply{std::get<ReplicaWrite>(handoffs[0].message).op, {}});
  (void)d_.effects();
  (void)d_.complete_all();
  EXPECT_EQ(hints_in_engine(), 0u);
}

TEST_F(StandInTest, HandoffSendsAtMostTheInFlightLimitPerTarget) {
  only_alive(d_, {"a", "b", "c"});
  for (const std::string& key : keys_of("c", 20))
    ASSERT_TRUE(hint(key, one_version("v", 1)).ok());
  d_.now_ += 1000;
  d_.core().tick(d_.now_);
  auto handoffs = sends_of<ReplicaWrite>(d_.effects());
  EXPECT_EQ(handoffs.size(), 16u);  // handoff_in_flight_max
  d_.now_ += 200;
  d_.core().tick(d_.now_);
  EXPECT_TRUE(sends_of<ReplicaWrite>(d_.effects()).empty());  // still all in flight
  // Two acknowledged: two more go, the rest wait.
  for (int index = 0; index < 2; ++index) {
    d_.core().receive(d_.now_, "c",
                      ReplicaWriteReply{std::get<ReplicaWrite>(handoffs[index].message).op, {}});
  }
  (void)d_.effects();
  (void)d_.complete_all();
  d_.now_ += 200;
  d_.core().tick(d_.now_);
  EXPECT_EQ(sends_of<ReplicaWrite>(d_.effects()).size(), 2u);
  EXPECT_EQ(d_.core().stats().hints_delivered, 2u);
}

TEST_F(StandInTest, HandoffBytesInFlightAreBoundedPerTarget) {
  // Five 3 MiB hints: the count limit (16) would send all five at once; the
  // byte limit (handoff_bytes_max, 8 MiB) stops after the one that passes it.
  only_alive(d_, {"a", "b", "c"});
  for (const std::string& key : keys_of("c", 5))
    ASSERT_TRUE(hint(key, one_version(std::string(3 << 20, 'v'), 1)).ok());
  d_.now_ += 1000;
  d_.core().tick(d_.now_);
  auto handoffs = sends_of<ReplicaWrite>(d_.effects());
  EXPECT_EQ(handoffs.size(), 3u);
  // One acknowledged: 6 MiB stay in flight, so one more goes.
  d_.core().receive(d_.now_, "c",
                    ReplicaWriteReply{std::get<ReplicaWrite>(handoffs[0].message).op, {}});
  (void)d_.effects();
  (void)d_.complete_all();
  d_.now_ += 200;
  d_.core().tick(d_.now_);
  EXPECT_EQ(sends_of<ReplicaWrite>(d_.effects()).size(), 1u);
}

TEST_F(StandInTest, AHintThatChangedWhileInFlightIsNotDeleted) {
  only_alive(d_, {"a", "b", "c"});
  ASSERT_TRUE(hint("k", one_version("v1", 1)).ok());
  d_.now_ += 1000;
  d_.core().tick(d_.now_);
  const auto handoffs = sends_of<ReplicaWrite>(d_.effects());
  ASSERT_EQ(handoffs.size(), 1u);
  ASSERT_TRUE(hint("k", one_version("v2", 2)).ok());  // a newer write merges in meanwhile
  d_.core().receive(d_.now_, "c",
                    ReplicaWriteReply{std::get<ReplicaWrite>(handoffs[0].message).op, {}});
  (void)d_.effects();
  (void)d_.complete_all();
  EXPECT_EQ(hints_in_engine(), 1u);  // kept: c has not seen v2
  EXPECT_EQ(d_.core().stats().hints_delivered, 0u);
  d_.now_ += 1000;
  d_.core().tick(d_.now_);
  const auto again = sends_of<ReplicaWrite>(d_.effects());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(std::get<ReplicaWrite>(again[0].message).set.sibling_count(), 2u);
}

TEST_F(StandInTest, HintsSurviveARestartAndAreCountedAgain) {
  only_alive(d_, {"a", "b"});
  const std::vector<std::string> keys = keys_of("c", 2);
  ASSERT_TRUE(hint(keys[0], one_version("v1", 1)).ok());
  ASSERT_TRUE(hint(keys[1], one_version("v2", 2)).ok());
  d_.restart();
  for (const auto& view : d_.core().peer_views(d_.now_)) {
    if (view.id == "c") {
      EXPECT_EQ(view.hints, 2u);
      EXPECT_GT(view.hint_bytes, 0u);
    }
  }
  d_.core().tick(d_.now_);  // c is not known to be down after a restart: handoff starts
  EXPECT_EQ(sends_of<ReplicaWrite>(d_.effects()).size(), 2u);
}

TEST_F(StandInTest, AStandInOverItsHintLimitRefusesNewHints) {
  NodeCoreOptions options = test_options();
  options.hints_bytes_max = 150;
  Harness small("d", layout_, 9, options);
  small.create("s", sloppy(3, 2, 2));
  auto offer = [&](const std::string& key) {
    small.core().receive(
        small.now_, "a",
        ReplicaWrite{
            77, {"s", sloppy(3, 2, 2)}, key, one_version(std::string(60, 'x'), 1), "c", false});
    std::vector<Effect> out = small.effects();
    if (small.pending_writes() > 0)
      out = small.complete_all();
    const auto acks = sends_of<ReplicaWriteReply>(out);
    return acks.empty() ? Status(Code::internal, "no ack")
                        : std::get<ReplicaWriteReply>(acks[0].message).status.to_status();
  };
  EXPECT_TRUE(offer("k1").ok());
  const Status refused = offer("k2");
  EXPECT_EQ(refused.code(), Code::unavailable);
  EXPECT_THAT(refused.message(), HasSubstr("limit"));
  EXPECT_EQ(small.core().stats().hints_refused, 1u);
}

}  // namespace
}  // namespace ringkv
