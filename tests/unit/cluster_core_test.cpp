// Unit tests of the node core's state machine from scripted events: each test
// feeds one NodeCore client requests, peer messages, write completions and
// ticks by hand, and checks exactly which effects come out.
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cluster/node_core.h"
#include "core_harness.h"
#include "ring/assignment.h"
#include "ring/preference_list.h"
#include "storage/data_key.h"
#include "storage/hint_codec.h"
#include "storage/memory_engine.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

using namespace testing_core;

using ::testing::HasSubstr;

class ClusterCoreTest : public ::testing::Test {
 protected:
  ClusterCoreTest() : layout_(make_layout({"a", "b", "c"})), a_("a", layout_) {
    a_.create("s", config(3, 2, 2));
  }
  Layout layout_;
  Harness a_;
};

TEST_F(ClusterCoreTest, PutAnswersOnceWReplicasHaveItDurably) {
  a_.core().put(a_.now_, 10, "s", "k", {}, value("v1"));
  std::vector<Effect> out = a_.effects();
  // The local write and the new set to both other replicas, at once.
  EXPECT_EQ(only<WriteEffect>(out).size(), 1u);
  EXPECT_TRUE(only<WriteEffect>(out)[0].durable);  // a sync store
  const auto sends = only<SendEffect>(out);
  ASSERT_EQ(sends.size(), 2u);
  const auto& replicate = std::get<ReplicaWrite>(sends[0].message);
  EXPECT_EQ(replicate.store.name, "s");
  EXPECT_EQ(replicate.set.sibling_count(), 1u);
  EXPECT_TRUE(only<PutReply>(out).empty());
  // The local write completes: one of w = 2.
  out = a_.complete();
  EXPECT_TRUE(only<PutReply>(out).empty());
  // A duplicate of the same replica's ack counts once.
  a_.core().receive(a_.now_, "b", ReplicaWriteReply{replicate.op, {}});
  out = a_.effects();
  ASSERT_EQ(only<PutReply>(out).size(), 1u);
  const PutReply reply = only<PutReply>(out)[0];
  EXPECT_TRUE(reply.status.ok()) << reply.status.message();
  EXPECT_EQ(reply.request, 10u);
  EXPECT_EQ(reply.dot, (Dot{7, 1}));
  EXPECT_TRUE(reply.context.covers(reply.dot));
  // Late and duplicated acks change nothing.
  a_.core().receive(a_.now_, "b", ReplicaWriteReply{replicate.op, {}});
  a_.core().receive(a_.now_, "c", ReplicaWriteReply{replicate.op, {}});
  EXPECT_TRUE(a_.effects().empty());
}

TEST_F(ClusterCoreTest, DuplicatedAckFromOneReplicaIsNotTwoReplicas) {
  a_.core().put(a_.now_, 10, "s", "k", {}, value("v1"));
  const auto sends = only<SendEffect>(a_.effects());
  const uint64_t op = std::get<ReplicaWrite>(sends[0].message).op;
  a_.core().receive(a_.now_, "b", ReplicaWriteReply{op, {}});
  a_.core().receive(a_.now_, "b", ReplicaWriteReply{op, {}});
  a_.core().receive(a_.now_, "z", ReplicaWriteReply{op, {}});  // not a replica
  EXPECT_TRUE(only<PutReply>(a_.effects()).empty());
}

TEST_F(ClusterCoreTest, PutFailsAsSoonAsWCannotBeReached) {
  a_.core().put(a_.now_, 10, "s", "k", {}, value("v1"));
  const auto sends = only<SendEffect>(a_.effects());
  const uint64_t op = std::get<ReplicaWrite>(sends[0].message).op;
  a_.core().receive(a_.now_, "b", ReplicaWriteReply{op, {Code::unavailable, "b is fenced"}});
  EXPECT_TRUE(only<PutReply>(a_.effects()).empty());  // a and c may still make w = 2
  a_.core().receive(a_.now_, "c", ReplicaWriteReply{op, {Code::io_error, "c disk"}});
  const auto replies = only<PutReply>(a_.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status.code(), Code::unavailable);
  EXPECT_THAT(replies[0].status.message(), HasSubstr("0 of 3 acknowledged, 2 failed"));
  EXPECT_THAT(replies[0].status.message(), HasSubstr("may or may not be stored"));
}

TEST_F(ClusterCoreTest, PutTimesOutNamingHowManyReplicasAcknowledged) {
  a_.core().put(a_.now_, 10, "s", "k", {}, value("v1"));
  (void)a_.effects();
  (void)a_.complete();
  a_.core().tick(a_.now_ + 999);
  EXPECT_TRUE(only<PutReply>(a_.effects()).empty());
  a_.core().tick(a_.now_ + 1000);
  const auto replies = only<PutReply>(a_.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status.code(), Code::unavailable);
  EXPECT_THAT(replies[0].status.message(), HasSubstr("1 of w = 2 replicas acknowledged"));
}

TEST_F(ClusterCoreTest, FailedLocalWriteFencesEveryLaterWrite) {
  a_.core().put(a_.now_, 10, "s", "k", {}, value("v1"));
  (void)a_.effects();
  (void)a_.complete(Status(Code::io_error, "fsync failed"));
  EXPECT_FALSE(a_.core().write_fence().ok());
  a_.core().put(a_.now_, 11, "s", "other", {}, value("v2"));
  auto replies = only<PutReply>(a_.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status.code(), Code::unavailable);
  EXPECT_THAT(replies[0].status.message(), HasSubstr("until it is restarted"));
  // Replication to a fenced node fails too, and reads still work.
  a_.core().receive(a_.now_, "b",
                    ReplicaWrite{5, {"s", config(3, 2, 2)}, "k", SiblingSet(), {}, false});
  const auto sends = only<SendEffect>(a_.effects());
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(std::get<ReplicaWriteReply>(sends[0].message).status.code, Code::unavailable);
}

TEST_F(ClusterCoreTest, AFullWriteQueueIsRetriedAndNeverFences) {
  // A commit queue at its bound refuses with `overloaded`. That is load, not
  // a storage failure: the node must not fence. The coordinator's own copy
  // carries a dot already sent to the other replicas, so it is written again
  // (with the key still locked) until the queue takes it.
  a_.core().put(a_.now_, 10, "s", "k", {}, value("v1"));
  const auto first = a_.effects();
  ASSERT_EQ(only<WriteEffect>(first).size(), 1u);
  const WriteBatch written = only<WriteEffect>(first)[0].batch;
  (void)a_.complete(Status(Code::overloaded, "storage write queue is full"));
  EXPECT_TRUE(a_.core().write_fence().ok()) << a_.core().write_fence().message();
  // Another put of the key waits for the lock; one of another key goes on.
  a_.core().put(a_.now_, 11, "s", "k", {}, value("v2"));
  EXPECT_TRUE(only<WriteEffect>(a_.effects()).empty());
  a_.now_ += 50;
  a_.core().tick(a_.now_);
  const auto again = only<WriteEffect>(a_.effects());
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].batch[0].key, written[0].key);
  EXPECT_EQ(again[0].batch[0].value, written[0].value);
  // Taken: the key is released and the waiting put numbers the next dot.
  const auto after = a_.complete();
  const auto next = only<WriteEffect>(after);
  ASSERT_EQ(next.size(), 1u);
  const SiblingSet set = decode_record(next[0].batch[0].value).value();
  EXPECT_EQ(set.context().get(7), 2u);  // (7, 2): not a reuse of (7, 1)
  // A real storage failure still fences.
  (void)a_.complete(Status(Code::io_error, "fsync failed"));
  EXPECT_FALSE(a_.core().write_fence().ok());
}

TEST(ClusterCore, ADurableMergeOfWhatAPeriodicStoreHoldsWaitsForAnFsync) {
  // A periodic store's copy may sit unsynced. A merge that asks for
  // durability (hint delivery, a handover) and brings nothing new must not
  // be acknowledged before that copy is fsynced: its sender deletes its own.
  Harness a("a", make_layout({"a", "b", "c"}));
  StoreConfig periodic = config(3, 2, 2);
  periodic.durability = Durability::periodic;
  a.create("p", periodic);
  SiblingSet set;
  set.put({}, 9, value("v"));
  a.core().receive(a.now_, "b", ReplicaWrite{5, {"p", periodic}, "k", set, {}, false});
  const auto first = a.effects();
  ASSERT_EQ(only<WriteEffect>(first).size(), 1u);
  EXPECT_FALSE(only<WriteEffect>(first)[0].durable);
  (void)a.complete();  // applied, not synced
  a.core().receive(a.now_, "b", ReplicaWrite{6, {"p", periodic}, "k", set, {}, true});
  const auto second = a.effects();
  EXPECT_TRUE(sends_of<ReplicaWriteReply>(second).empty()) << "acknowledged before an fsync";
  const auto writes = only<WriteEffect>(second);
  ASSERT_EQ(writes.size(), 1u);
  EXPECT_TRUE(writes[0].durable);
  EXPECT_TRUE(writes[0].batch.empty());
  const auto replies = sends_of<ReplicaWriteReply>(a.complete());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(std::get<ReplicaWriteReply>(replies[0].message).status.code, Code::ok);
}

TEST(ClusterCore, RecordsAreCountedABoundedSliceATickAndWritesMeanwhileAreKept) {
  // A node with many records must not hold its core for one scan of them
  // all: it counts kCountRowsPerStep per tick, and a write during the count
  // is counted once whether it lands before or after the count's cursor.
  const Layout layout = make_layout({"a", "b", "c"});
  Harness a("a", layout);
  a.create("s", config(3, 2, 2));
  ASSERT_NE(a.core().catalog().find("s"), nullptr);
  const StoreId store = a.core().catalog().find("s")->id;
  constexpr size_t kStep = NodeContext::kCountRowsPerStep;
  const size_t stored = 2 * kStep + 5;
  SiblingSet set;
  set.put({}, 9, value("v"));
  std::vector<std::string> data_keys;
  WriteBatch batch;
  for (size_t index = 0; index < stored; ++index) {
    const std::string key = fmt::format("k{}", index);
    data_keys.push_back(encode_data_key(store, key));
    batch.push_back({Column::data, data_keys.back(), encode_record(set)});
  }
  ASSERT_TRUE(a.engine().write(batch, true).ok());
  std::sort(data_keys.begin(), data_keys.end());
  a.restart();
  auto own_keys = [&] {
    for (const auto& node : a.core().rebalance_view(a.now_).nodes) {
      if (node.id == "a")
        return node.keys;
    }
    return uint64_t{0};
  };
  EXPECT_EQ(own_keys(), 0u);
  a.core().tick(a.now_);
  EXPECT_EQ(own_keys(), kStep);  // one slice, not all
  // New keys on both sides of the cursor (the first key not counted yet).
  const std::string& cursor = data_keys[kStep];
  std::string before, after;
  for (int index = 0; before.empty() || after.empty(); ++index) {
    const std::string key = fmt::format("new{}", index);
    (encode_data_key(store, key) < cursor ? before : after) = key;
  }
  uint64_t op = 0;
  for (const std::string& key : {before, after}) {
    a.core().receive(a.now_, "b", ReplicaWrite{++op, {"s", config(3, 2, 2)}, key, set, {}, false});
    (void)a.effects();
    (void)a.complete_all();
  }
  EXPECT_EQ(own_keys(), kStep + 1);  // the one before the cursor
  for (int tick = 0; tick < 4; ++tick)
    a.core().tick(a.now_ += 10);
  EXPECT_EQ(own_keys(), stored + 2);
}

TEST(ClusterCore, ASourceOverItsInboundByteBudgetIsRefusedUntilItsWritesFinish) {
  // Replication a peer asks of a node (replica writes, hints, anti-entropy)
  // is bounded in bytes per source: one source cannot fill the write queue.
  NodeCoreOptions options = test_options();
  options.inbound_bytes_per_source_max = 1000;
  Harness a("a", make_layout({"a", "b", "c"}), 7, options);
  a.create("s", config(3, 2, 2));
  auto write_of = [](uint64_t op, const std::string& key) {
    SiblingSet set;
    set.put({}, 9, value(std::string(700, 'x')));
    return ReplicaWrite{op, {"s", config(3, 2, 2)}, key, set, {}, false};
  };
  auto status_of = [](const std::vector<Effect>& effects, uint64_t op) {
    for (const SendEffect& send : sends_of<ReplicaWriteReply>(effects)) {
      const auto& reply = std::get<ReplicaWriteReply>(send.message);
      if (reply.op == op)
        return std::optional<Code>(reply.status.code);
    }
    return std::optional<Code>();
  };
  a.core().receive(a.now_, "b", write_of(1, "k1"));  // taken: nothing of b in flight
  auto effects = a.effects();
  ASSERT_EQ(only<WriteEffect>(effects).size(), 1u);
  a.core().receive(a.now_, "b", write_of(2, "k2"));  // over b's 1000 bytes: refused at once
  effects = a.effects();
  EXPECT_TRUE(only<WriteEffect>(effects).empty());
  EXPECT_EQ(status_of(effects, 2), Code::overloaded);
  a.core().receive(a.now_, "c", write_of(3, "k3"));  // another source is not held up
  ASSERT_EQ(only<WriteEffect>(a.effects()).size(), 1u);
  effects = a.complete_all();
  EXPECT_EQ(status_of(effects, 1), Code::ok);
  EXPECT_EQ(status_of(effects, 3), Code::ok);
  a.core().receive(a.now_, "b", write_of(4, "k2"));  // b's bytes are free again
  EXPECT_EQ(only<WriteEffect>(a.effects()).size(), 1u);
  EXPECT_EQ(status_of(a.complete_all(), 4), Code::ok);
  EXPECT_EQ(a.core().stats().inbound_refused, 1u);
  EXPECT_TRUE(a.core().write_fence().ok());
}

TEST(ClusterCore, AChangeIsNotSettledWhileMovedDataOrHintsForLeaversRemain) {
  // A balanced layout is not the end of a change: a node may still hold a
  // partition it no longer replicates (to hand over and drop), or hints
  // for a node that left (to send on to the keys' new replicas).
  const Layout layout = make_layout({"a", "b", "c"});
  Harness a("a", layout);
  a.create("s", config(1, 1, 1));
  const PreferenceTable table = PreferenceTable::build(layout, 1);
  std::string theirs;
  for (int index = 0; theirs.empty(); ++index) {
    const std::string key = fmt::format("k{}", index);
    if (layout.nodes()[table.nodes_for_key(key)[0]].id != "a")
      theirs = key;
  }
  SiblingSet set;
  set.put({}, 9, value("v"));
  auto view = a.core().rebalance_view(a.now_);
  EXPECT_EQ(view.drops_pending, 0u);
  EXPECT_EQ(view.hints_for_leavers, 0u);
  a.store_record("s", theirs, set);  // as if its partition had moved away
  view = a.core().rebalance_view(a.now_);
  EXPECT_EQ(view.drops_pending, 1u);
  WriteBatch hint;
  hint.push_back({Column::hints, encode_hint_key("z", "s", "k"),
                  encode_hint_value(1, encode_record(set))});  // z is no member
  hint.push_back({Column::hints, encode_hint_key("b", "s", "k"),
                  encode_hint_value(1, encode_record(set))});  // b is one
  ASSERT_TRUE(a.engine().write(hint, true).ok());
  a.restart();  // hint totals are counted at start
  view = a.core().rebalance_view(a.now_);
  EXPECT_EQ(view.hints_for_leavers, 1u);
}

TEST_F(ClusterCoreTest, AKeysWaitQueueIsBoundedAndShedsWithOverloaded) {
  // One hot key cannot queue writes without bound: past the limit a put is
  // refused at once (retryable), and the queued ones still run.
  a_.core().put(a_.now_, 1, "s", "hot", {}, value("first"));
  (void)a_.effects();  // its local write holds the key
  RequestId request = 100;
  std::vector<PutReply> refused;
  for (int index = 0; index < 200; ++index) {
    a_.core().put(a_.now_, ++request, "s", "hot", {}, value(fmt::format("v{}", index)));
    for (const PutReply& reply : only<PutReply>(a_.effects()))
      refused.push_back(reply);
  }
  ASSERT_EQ(refused.size(), 200u - 128u);
  for (const PutReply& reply : refused) {
    EXPECT_EQ(reply.status.code(), Code::overloaded);
    EXPECT_THAT(reply.status.message(), HasSubstr("retry"));
  }
  EXPECT_TRUE(a_.core().write_fence().ok());
  // Another key is not affected.
  a_.core().put(a_.now_, ++request, "s", "cold", {}, value("c"));
  EXPECT_TRUE(only<PutReply>(a_.effects()).empty());
}

TEST_F(ClusterCoreTest, ADuplicatedForwardedPutIsCoordinatedOnce) {
  // Coordinating a duplicate would store the same value under a second dot:
  // after the client overwrote the first, the second came back as a sibling.
  const ForwardPut forward{77, {"s", config(3, 2, 2)}, "k", {}, value("v")};
  a_.core().receive(a_.now_, "b", forward);
  EXPECT_EQ(only<WriteEffect>(a_.effects()).size(), 1u);
  (void)a_.complete_all();
  a_.core().receive(a_.now_, "b", forward);  // the network's copy
  EXPECT_TRUE(only<WriteEffect>(a_.effects()).empty());
  // Another forward (another op) is coordinated as usual.
  a_.core().receive(a_.now_, "b", ForwardPut{78, {"s", config(3, 2, 2)}, "k", {}, value("w")});
  EXPECT_EQ(only<WriteEffect>(a_.effects()).size(), 1u);
}

TEST_F(ClusterCoreTest, WritesToOneKeyAreSerialised) {
  a_.core().put(a_.now_, 10, "s", "k", {}, value("v1"));
  a_.core().put(a_.now_, 11, "s", "k", {}, value("v2"));
  EXPECT_EQ(only<WriteEffect>(a_.effects()).size(), 1u);
  // The second read-modify-write runs once the first write completed, and
  // sees it: two blind puts, two siblings.
  const auto out = a_.complete();
  const auto writes = only<WriteEffect>(out);
  ASSERT_EQ(writes.size(), 1u);
  auto set = decode_record(writes[0].batch[0].value);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->sibling_count(), 2u);
}

TEST_F(ClusterCoreTest, GetMergesRAnswersAndRepairsStaleReplicasAfterAnswering) {
  SiblingSet mine, theirs;
  mine.put({}, 1, value("from-a"));
  theirs.put({}, 2, value("from-b"));
  a_.store_record("s", "k", mine);
  a_.core().get(a_.now_, 20, "s", "k");
  auto out = a_.effects();
  const auto reads = only<SendEffect>(out);
  ASSERT_EQ(reads.size(), 2u);  // b and c; a reads locally
  const uint64_t op = std::get<ReplicaRead>(reads[0].message).op;
  EXPECT_TRUE(only<GetReply>(out).empty());  // one answer of r = 2
  a_.core().receive(a_.now_, "b", read_reply(op, theirs));
  out = a_.effects();
  auto replies = only<GetReply>(out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].status.ok());
  EXPECT_EQ(replies[0].set.sibling_count(), 2u);  // both concurrent versions
  EXPECT_TRUE(only<SendEffect>(out).empty());     // repair waits for every answer
  // c answers with nothing: after the reply, both a and c get the merge.
  a_.core().receive(a_.now_, "c", read_reply(op, SiblingSet()));
  out = a_.effects();
  EXPECT_TRUE(only<GetReply>(out).empty());
  const auto repairs = only<SendEffect>(out);
  ASSERT_EQ(repairs.size(), 2u);  // b had one version only, c had none
  for (const SendEffect& repair : repairs) {
    const auto& write = std::get<ReplicaWrite>(repair.message);
    EXPECT_EQ(write.op, 0u);  // no acknowledgement wanted
    EXPECT_EQ(write.set, SiblingSet::merged(mine, theirs));
  }
  EXPECT_EQ(only<WriteEffect>(out).size(), 1u);  // a's own copy, merged
}

TEST_F(ClusterCoreTest, GetFailsWhenRCannotBeReached) {
  a_.core().get(a_.now_, 20, "s", "k");
  const auto reads = only<SendEffect>(a_.effects());
  const uint64_t op = std::get<ReplicaRead>(reads[0].message).op;
  a_.core().receive(a_.now_, "b", read_reply(op, {}, {Code::corruption, "bad record"}));
  EXPECT_TRUE(only<GetReply>(a_.effects()).empty());
  a_.core().tick(a_.now_ + 1000);
  const auto replies = only<GetReply>(a_.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status.code(), Code::unavailable);
  EXPECT_THAT(replies[0].status.message(), HasSubstr("1 of r = 2 replicas answered"));
}

TEST(ClusterCore, NodeOutsideThePreferenceListForwardsToTheFirstReplica) {
  const Layout layout = make_layout({"a", "b", "c", "d"});
  // Find a key whose n = 1 replica is not "a".
  const PreferenceTable table = PreferenceTable::build(layout, 1);
  std::string key;
  for (int index = 0; key.empty(); ++index) {
    const std::string candidate = "key" + std::to_string(index);
    if (layout.nodes()[table.nodes_for_key(candidate)[0]].id != "a")
      key = candidate;
  }
  const std::string replica = layout.nodes()[table.nodes_for_key(key)[0]].id;
  Harness a("a", layout);
  a.create("one", config(1, 1, 1));
  a.core().put(a.now_, 30, "one", key, {}, value("v"));
  auto out = a.effects();
  EXPECT_TRUE(only<WriteEffect>(out).empty());  // a does not write: not a replica
  const auto sends = only<SendEffect>(out);
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].to, replica);
  const auto& forward = std::get<ForwardPut>(sends[0].message);
  EXPECT_EQ(forward.key, key);
  // The replica coordinates it (its dot) and a relays the answer.
  Harness other(replica, layout, /*actor=*/99);
  other.core().receive(other.now_, "a", forward);
  (void)other.effects();
  // It learns the store from the message, then writes the key.
  const auto relayed = only<SendEffect>(other.complete_all());
  ASSERT_EQ(relayed.size(), 1u);
  const auto& answer = std::get<ForwardPutReply>(relayed[0].message);
  EXPECT_EQ(answer.status.code, Code::ok);
  EXPECT_EQ(answer.dot, (Dot{99, 1}));
  a.core().receive(a.now_, replica, answer);
  const auto replies = only<PutReply>(a.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_TRUE(replies[0].status.ok());
  EXPECT_EQ(replies[0].dot, (Dot{99, 1}));
  ASSERT_NE(other.core().catalog().find("one"), nullptr);
}

TEST(ClusterCore, ForwardingSkipsAReplicaThatLetARequestExpireUntilItSpeaksAgain) {
  const Layout layout = make_layout({"a", "b", "c", "d"});
  const PreferenceTable table = PreferenceTable::build(layout, 2);
  std::string key;
  for (int index = 0; key.empty(); ++index) {
    const std::string candidate = "key" + std::to_string(index);
    const auto list = table.nodes_for_key(candidate);
    if (layout.nodes()[list[0]].id != "a" && layout.nodes()[list[1]].id != "a")
      key = candidate;
  }
  const std::string first = layout.nodes()[table.nodes_for_key(key)[0]].id;
  const std::string second = layout.nodes()[table.nodes_for_key(key)[1]].id;
  Harness a("a", layout);
  a.create("two", config(2, 1, 1));
  auto forwarded_to = [&](RequestId request) {
    a.core().put(a.now_, request, "two", key, {}, value("v"));
    const auto sends = only<SendEffect>(a.effects());
    EXPECT_EQ(sends.size(), 1u);
    return sends.empty() ? std::string() : sends[0].to;
  };
  EXPECT_EQ(forwarded_to(1), first);
  a.now_ += 1000;
  a.core().tick(a.now_);  // the coordinator's deadline: the forwarder waits a little longer
  EXPECT_TRUE(only<PutReply>(a.effects()).empty());
  a.now_ += 250;
  a.core().tick(a.now_);  // the first replica never answered
  const auto expired = only<PutReply>(a.effects());
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].status.code(), Code::unavailable);
  EXPECT_EQ(forwarded_to(2), second);  // suspected: the next replica coordinates
  a.core().receive(a.now_, first, ReplicaWriteReply{999, {}});  // it speaks again
  (void)a.effects();
  EXPECT_EQ(forwarded_to(3), first);
}

TEST(ClusterCore, StoreCreationKeepsAskingMembersThatMissedIt) {
  Harness a("a", make_layout({"a", "b", "c"}));
  a.core().create_store(a.now_, 7, "s", config(3, 2, 2));
  (void)a.effects();
  auto sends = only<SendEffect>(a.complete_all());
  ASSERT_EQ(sends.size(), 2u);  // b and c
  const uint64_t op = std::get<CreateStore>(sends[0].message).op;
  a.core().receive(a.now_, "b", CreateStoreReply{op, {}});
  a.core().receive(a.now_, "b", CreateStoreReply{op, {}});  // a duplicate counts once
  EXPECT_TRUE(only<CreateStoreDone>(a.effects()).empty());
  a.core().tick(a.now_ + 2000);  // the deadline: the client hears "created"
  auto out = a.effects();
  const auto done = only<CreateStoreDone>(out);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_TRUE(done[0].status.ok());
  EXPECT_TRUE(done[0].created);
  sends = sends_of<CreateStore>(out);  // and c, which never answered, is asked again
  ASSERT_EQ(sends.size(), 1u);
  EXPECT_EQ(sends[0].to, "c");
  a.core().receive(a.now_, "c", CreateStoreReply{op, {}});
  a.core().tick(a.now_ + 5000);
  EXPECT_TRUE(sends_of<CreateStore>(a.effects()).empty());  // everyone has it: nothing more
}

// Two nodes create one name at the same moment with different
// configurations. Before, each kept its own forever (and both clients heard
// "created"); now both keep the winner (more copies), durably, and only the
// winner's client hears "created".
TEST(ClusterCore, ConcurrentCreationsOfOneNameConvergeOnOneConfiguration) {
  const Layout layout = make_layout({"a", "b"});
  Harness a("a", layout), b("b", layout);
  const StoreConfig small = config(1, 1, 1), large = config(2, 1, 2);
  ASSERT_TRUE(wins_over(large, small));
  ASSERT_FALSE(wins_over(small, large));
  a.core().create_store(a.now_, 1, "s", small);
  b.core().create_store(b.now_, 2, "s", large);
  (void)a.effects();
  (void)b.effects();
  const auto from_a = sends_of<CreateStore>(a.complete_all());
  const auto from_b = sends_of<CreateStore>(b.complete_all());
  ASSERT_EQ(from_a.size(), 1u);
  ASSERT_EQ(from_b.size(), 1u);
  // Each hears of the other's.
  b.core().receive(b.now_, "a", std::get<CreateStore>(from_a[0].message));
  a.core().receive(a.now_, "b", std::get<CreateStore>(from_b[0].message));
  std::vector<Effect> out_a = a.effects();
  const auto more_a = a.complete_all();  // a replaces its config durably
  out_a.insert(out_a.end(), more_a.begin(), more_a.end());
  std::vector<Effect> out_b = b.effects();
  const auto more_b = b.complete_all();
  out_b.insert(out_b.end(), more_b.begin(), more_b.end());
  const auto reply_a = sends_of<CreateStoreReply>(out_a);
  const auto reply_b = sends_of<CreateStoreReply>(out_b);
  ASSERT_EQ(reply_a.size(), 1u);
  ASSERT_EQ(reply_b.size(), 1u);
  EXPECT_EQ(std::get<CreateStoreReply>(reply_a[0].message).status.code, Code::ok);
  EXPECT_EQ(std::get<CreateStoreReply>(reply_b[0].message).status.code, Code::already_exists);
  b.core().receive(b.now_, "a", std::get<CreateStoreReply>(reply_a[0].message));
  a.core().receive(a.now_, "b", std::get<CreateStoreReply>(reply_b[0].message));
  const auto done_a = only<CreateStoreDone>(a.effects());
  const auto done_b = only<CreateStoreDone>(b.effects());
  ASSERT_EQ(done_a.size(), 1u);
  ASSERT_EQ(done_b.size(), 1u);
  EXPECT_EQ(done_a[0].status.code(), Code::already_exists) << "the loser's client was told";
  EXPECT_THAT(done_a[0].status.message(), HasSubstr("same moment"));
  EXPECT_TRUE(done_b[0].status.ok()) << done_b[0].status.message();
  EXPECT_EQ(a.core().catalog().find("s")->config, large);
  EXPECT_EQ(b.core().catalog().find("s")->config, large);
  a.restart();  // durably
  EXPECT_EQ(a.core().catalog().find("s")->config, large);
}

TEST(ClusterCore, RequestsWithoutALayoutFailClearly) {
  MemoryEngine engine;
  NodeCoreOptions options;
  options.self = "a";
  NodeCore core(options, engine, StoreCatalog::load(engine).value());
  core.get(0, 1, "s", "k");
  auto replies = only<GetReply>(core.take_effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status.code(), Code::not_found);  // no such store
  EXPECT_THAT(replies[0].status.message(), HasSubstr("create it first"));
  core.create_store(0, 2, "s", config(3, 2, 2));
  const auto writes = only<WriteEffect>(core.take_effects());
  ASSERT_EQ(writes.size(), 1u);
  ASSERT_TRUE(engine.write(writes[0].batch, true).ok());
  core.write_done(0, writes[0].id, Status::Ok());
  ASSERT_EQ(only<CreateStoreDone>(core.take_effects()).size(), 1u);
  core.get(0, 3, "s", "k");
  replies = only<GetReply>(core.take_effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(replies[0].status.code(), Code::unavailable);
  EXPECT_THAT(replies[0].status.message(), HasSubstr("does not know the cluster layout"));
}

}  // namespace
}  // namespace ringkv
