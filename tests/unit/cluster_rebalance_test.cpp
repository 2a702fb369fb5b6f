// Scripted tests of the node core's elastic membership: operators' changes
// and their validation, joins as owners or standbys, concurrent changes
// merging, partition streaming with checkpoints, a target that changes
// under a receiver, and the layout fence of strict stores. The flip's
// conditions and the drop are in cluster_flip_test.cpp; hot keys' clocks and
// the throttle in cluster_move_costs_test.cpp.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "rebalance_net.h"

namespace ringkv {
namespace {

using namespace testing_core;

TEST(ClusterChangeTest, BadChangesAreRefusedWithTheNodeNamedAndNothingCommitted) {
  Harness a("a", Layout::empty(4), 7, rebalance_options());
  a.use_state(state_of({member("a"), member("b"), member("s", MemberRole::standby)}));
  const ClusterState before = a.core().cluster_state();
  auto expect_refused = [&](const ClusterChange& bad, Code code, std::string_view words) {
    const ClusterChangeDone done = change(a, bad);
    EXPECT_EQ(done.status.code(), code) << done.status.message();
    EXPECT_NE(done.status.message().find(words), std::string::npos) << done.status.message();
    EXPECT_FALSE(done.committed);
    EXPECT_EQ(a.core().cluster_state(), before);
  };
  expect_refused(add("zz"), Code::not_found, "'zz' is not a member");
  expect_refused(add("b"), Code::already_exists, "--reweight b=CAP");
  ClusterChange remove_unknown;
  remove_unknown.remove.push_back("zz");
  expect_refused(remove_unknown, Code::not_found, "'zz'");
  ClusterChange reweight_standby;
  reweight_standby.capacity.push_back({"s", 2});
  expect_refused(reweight_standby, Code::not_found, "not an owner");
  ClusterChange remove_all;
  remove_all.remove = {"a", "b"};
  expect_refused(remove_all, Code::invalid_argument, "no node to hold data");
  ClusterChange twice = add("s");
  twice.capacity.push_back({"s", 2});
  expect_refused(twice, Code::invalid_argument, "named twice");
  ClusterChange cancel;
  cancel.cancel = true;
  expect_refused(cancel, Code::not_found, "no change is in progress");
  ClusterChange bad_capacity;
  bad_capacity.capacity.push_back({"a", 0});
  expect_refused(bad_capacity, Code::invalid_argument, "capacity");
}

TEST(ClusterChangeTest, ADryRunPlansWithoutCommittingAndApplyMakesATarget) {
  Harness a("a", Layout::empty(4), 7, rebalance_options());
  a.use_state(state_of({member("a"), member("b"), member("c", MemberRole::standby)}));
  const ClusterState before = a.core().cluster_state();
  ClusterChangeDone planned = change(a, add("c", 2), /*dry_run=*/true);
  ASSERT_TRUE(planned.status.ok()) << planned.status.message();
  EXPECT_FALSE(planned.committed);
  ASSERT_TRUE(planned.plan.has_value());
  EXPECT_GT(planned.plan->moved_replicas, 0u);
  EXPECT_LE(planned.plan->moved_replicas, planned.plan->moved_lower_bound * 3 / 2);
  EXPECT_EQ(a.core().cluster_state(), before);
  EXPECT_EQ(a.core().target(), nullptr);

  ClusterChangeDone applied = change(a, add("c", 2));
  ASSERT_TRUE(applied.status.ok()) << applied.status.message();
  EXPECT_TRUE(applied.committed);
  ASSERT_NE(a.core().target(), nullptr);
  EXPECT_EQ(*a.core().target(), planned.plan->layout);
  EXPECT_EQ(a.core().layout()->version(), before.layout.version());  // not flipped yet
  // Persisted before it was answered: a restart keeps it.
  a.restart();
  ASSERT_NE(a.core().target(), nullptr);
  EXPECT_EQ(*a.core().target(), planned.plan->layout);

  // Cancel restores the layout's table: no target, c a standby again.
  ClusterChange cancel;
  cancel.cancel = true;
  ASSERT_TRUE(change(a, cancel).status.ok());
  EXPECT_EQ(a.core().target(), nullptr);
  EXPECT_EQ(find_member(a.core().cluster_state(), "c")->role, MemberRole::standby);
}

TEST(MembershipTest, AJoinIsAnOwnerOrAStandbyAndARestartChangesNothing) {
  Harness a("a", Layout::empty(4), 7, rebalance_options());
  a.use_state(state_of({member("a")}));
  Member b = member("b");
  a.core().receive(a.now_, "b", JoinRequest{1, b, /*auto_add=*/false});
  (void)a.effects();
  (void)a.complete_all();
  ASSERT_NE(find_member(a.core().cluster_state(), "b"), nullptr);
  EXPECT_EQ(find_member(a.core().cluster_state(), "b")->role, MemberRole::standby);
  EXPECT_EQ(a.core().target(), nullptr) << "a standby moves no data";

  const ClusterState settled = a.core().cluster_state();
  a.core().receive(a.now_, "b", JoinRequest{2, b, /*auto_add=*/true});  // a restart
  const auto replies = sends_of<JoinReply>(a.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(std::get<JoinReply>(replies[0].message).status.code, Code::ok);
  EXPECT_EQ(a.pending_writes(), 0u) << "nothing to persist";
  EXPECT_EQ(a.core().cluster_state(), settled);

  Member c = member("c");
  a.core().receive(a.now_, "c", JoinRequest{3, c, /*auto_add=*/true});
  (void)a.effects();
  (void)a.complete_all();
  EXPECT_EQ(find_member(a.core().cluster_state(), "c")->role, MemberRole::owner);
  ASSERT_NE(a.core().target(), nullptr);
  EXPECT_TRUE(a.core().target()->node_index("c").has_value());
  EXPECT_FALSE(a.core().target()->node_index("b").has_value());
}

TEST(MembershipTest, AJoinWithAnAddressTheStateCannotHoldIsRefusedAndTheNodeStillStarts) {
  // A 1,025-byte address used to be persisted; the cluster state then did
  // not decode and the node could not start again.
  Harness a("a", Layout::empty(4), 7, rebalance_options());
  a.use_state(state_of({member("a")}));
  const ClusterState before = a.core().cluster_state();
  Member b = member("b");
  b.peer_address = std::string(1025, 'p');
  a.core().receive(a.now_, "b", JoinRequest{1, b, /*auto_add=*/true});
  const auto replies = sends_of<JoinReply>(a.effects());
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(std::get<JoinReply>(replies[0].message).status.code, Code::invalid_argument);
  EXPECT_EQ(a.pending_writes(), 0u) << "nothing persisted";
  EXPECT_EQ(a.core().cluster_state(), before);
  a.restart();  // the persisted state still decodes
  EXPECT_EQ(a.core().cluster_state(), before);
}

TEST(MembershipTest, ChangesCommittedConcurrentlyOnTwoNodesConvergeToOneTarget) {
  Net net;
  const ClusterState start = state_of({member("a"), member("b"), member("c", MemberRole::standby)});
  Harness& a = net.add("a", start, 7);
  Harness& b = net.add("b", start, 8);
  net.add("c", start, 9);
  // Both commit before hearing of the other's change.
  net.down = {"b", "c"};
  ClusterChange reweight;
  reweight.capacity.push_back({"a", 3});
  ASSERT_TRUE(change(a, reweight).status.ok());
  net.down = {"a", "c"};
  ASSERT_TRUE(change(b, add("c")).status.ok());
  EXPECT_NE(a.core().cluster_state(), b.core().cluster_state());
  net.down.clear();
  (void)net.run(2000);  // gossip exchanges the states
  const ClusterState merged = a.core().cluster_state();
  EXPECT_EQ(net.at("b").core().cluster_state().members, merged.members);
  EXPECT_EQ(net.at("c").core().cluster_state().members, merged.members);
  EXPECT_EQ(find_member(merged, "a")->capacity, 3u);
  EXPECT_EQ(find_member(merged, "c")->role, MemberRole::owner);
}

TEST(MembershipTest, OfTwoUnseenChangesToOneMemberTheLaterWins) {
  // b reweights d; a second later a, which has not heard of it (and knows
  // fewer changes), removes d. The removal is the later operator action and
  // must win everywhere: with counter versions the reweight won and d, dead
  // and removed, became an owner again.
  Net net;
  const ClusterState start = state_of({member("a"), member("b"), member("c"), member("d")});
  Harness& a = net.add("a", start, 7);
  Harness& b = net.add("b", start, 8);
  net.add("c", start, 9);
  net.add("d", start, 10);
  net.down = {"a", "c", "d"};
  for (int round = 0; round < 3; ++round) {  // b knows more versions than a
    ClusterChange reweight;
    reweight.capacity.push_back({"d", round % 2 == 0 ? 2u : 3u});
    ASSERT_TRUE(change(b, reweight).status.ok());
  }
  net.down = {"b", "c", "d"};
  a.now_ = b.now_ + 1000;
  ClusterChange remove;
  remove.remove.push_back("d");
  ASSERT_TRUE(change(a, remove).status.ok());
  net.down = {"d"};
  (void)net.run(2000);
  EXPECT_EQ(find_member(a.core().cluster_state(), "d")->role, MemberRole::removed);
  EXPECT_EQ(find_member(b.core().cluster_state(), "d")->role, MemberRole::removed);
}

// A three-node cluster with an n = 1 store of 200 keys on a and b; c joins
// and streams its share.
class StreamingTest : public ::testing::Test {
 protected:
  StreamingTest() {
    start_ = state_of({member("a"), member("b"), member("c", MemberRole::standby)});
    for (const auto& [id, actor] : {std::pair{"a", 7}, {"b", 8}, {"c", 9}}) {
      Harness& node = net_.add(id, start_, actor);
      node.create("s", config(1, 1, 1));
    }
    (void)net_.pump();
    const PreferenceTable table = PreferenceTable::build(start_.layout, 1);
    for (int index = 0; index < 200; ++index) {
      const std::string key = fmt::format("key{}", index);
      const std::string owner = start_.layout.nodes()[table.nodes_for_key(key)[0]].id;
      SiblingSet set;
      set.put(VersionVector(), owner == "a" ? 7 : 8, value(fmt::format("v{}", index)));
      net_.at(owner).store_record("s", key, set);
      keys_.push_back(key);
    }
  }

  // The node's data keys, as "key" strings.
  std::vector<std::string> keys_at(const std::string& id) {
    std::vector<std::string> out;
    (void)net_.at(id).engine().scan(Column::data, "", "",
                                    [&](std::string_view data_key, std::string_view) {
                                      out.push_back(decode_data_key(data_key)->key);
                                      return true;
                                    });
    return out;
  }

  ClusterState start_;
  Net net_;
  std::vector<std::string> keys_;
};

TEST_F(StreamingTest, ANewNodeStreamsItsShareThenTheLayoutFlipsAndTheOldOwnersDrop) {
  ASSERT_TRUE(change(net_.at("a"), add("c")).status.ok());
  const std::vector<Effect> seen = net_.run(6000);
  size_t chunks = 0, verifications = 0;
  for (const Effect& effect : seen) {
    if (const auto* send = std::get_if<SendEffect>(&effect)) {
      chunks += std::holds_alternative<StreamChunk>(send->message) ? 1 : 0;
      verifications += std::holds_alternative<AeRoots>(send->message) ? 1 : 0;
    }
  }
  EXPECT_GT(chunks, 10u) << "200-byte chunks: several per partition";
  EXPECT_GT(verifications, 0u);
  for (const char* id : {"a", "b", "c"}) {
    Harness& node = net_.at(id);
    ASSERT_EQ(node.core().target(), nullptr) << id << " still moving";
    EXPECT_TRUE(node.core().layout()->node_index("c").has_value()) << id;
  }
  // Every key is on exactly its owner under the new layout, nowhere else.
  const Layout layout = *net_.at("a").core().layout();
  const PreferenceTable table = PreferenceTable::build(layout, 1);
  std::map<std::string, std::string> holder;
  for (const char* id : {"a", "b", "c"}) {
    for (const std::string& key : keys_at(id)) {
      EXPECT_EQ(holder.count(key), 0u) << key << " on two nodes";
      holder[key] = id;
    }
  }
  for (const std::string& key : keys_) {
    ASSERT_EQ(holder.count(key), 1u) << key << " lost";
    EXPECT_EQ(holder[key], layout.nodes()[table.nodes_for_key(key)[0]].id) << key;
  }
  EXPECT_GT(net_.at("c").core().stats().transfers_done, 0u);
  EXPECT_GT(net_.at("a").core().stats().partitions_dropped +
                net_.at("b").core().stats().partitions_dropped,
            0u);
  // A drop keeps the actor (a new one per drop grew every clock without bound).
  EXPECT_EQ(net_.at("a").core().actor(), 7u);
  EXPECT_EQ(net_.at("b").core().actor(), 8u);
}

TEST_F(StreamingTest, AReceiverThatCrashesResumesFromItsCheckpoint) {
  ASSERT_TRUE(change(net_.at("a"), add("c")).status.ok());
  // Run until c has merged a few chunks, then crash it.
  uint64_t merged = 0;
  for (int step = 0; step < 200 && merged < 3; ++step) {
    (void)net_.run(50);
    merged = net_.at("c").core().stats().transfer_chunks;
  }
  ASSERT_GE(merged, 3u);
  net_.at("c").restart();
  // Its first requests after the restart start after a checkpoint, not from
  // the start of the partition.
  bool resumed = false;
  for (int step = 0; step < 100 && !resumed; ++step) {
    for (const Effect& effect : net_.run(50)) {
      const auto* send = std::get_if<SendEffect>(&effect);
      if (send == nullptr)
        continue;
      if (const auto* request = std::get_if<StreamRequest>(&send->message))
        resumed = resumed || !request->after.empty();
    }
  }
  EXPECT_TRUE(resumed);
  (void)net_.run(6000);
  EXPECT_EQ(net_.at("c").core().target(), nullptr);
  size_t total = 0;
  for (const char* id : {"a", "b", "c"})
    total += keys_at(id).size();
  EXPECT_EQ(total, keys_.size());
}

TEST_F(StreamingTest, AChunkWithKeysOfAnotherPartitionMergesOnlyThePartitionAskedFor) {
  ASSERT_TRUE(change(net_.at("a"), add("c")).status.ok());
  // Catch c's first request and answer it with a forged chunk.
  std::optional<std::pair<std::string, StreamRequest>> asked;
  for (int step = 0; step < 100 && !asked; ++step) {
    for (auto& [id, node] : std::map<std::string, Harness*>{{"c", &net_.at("c")}}) {
      node->now_ += 50;
      node->core().tick(node->now_);
      for (const SendEffect& send : sends_of<StreamRequest>(node->effects()))
        asked = {send.to, std::get<StreamRequest>(send.message)};
      (void)id;
    }
    // (The others must know the target for c to start; let them tick too.)
    if (!asked)
      (void)net_.run(50);
  }
  ASSERT_TRUE(asked.has_value());
  const uint32_t bits = start_.layout.partition_bits();
  std::string inside, outside;
  for (int index = 0; inside.empty() || outside.empty(); ++index) {
    const std::string key = fmt::format("forged{}", index);
    (partition_of(md5(key), bits) == asked->second.partition ? inside : outside) = key;
  }
  StreamChunk chunk;
  chunk.op = asked->second.op;
  for (const std::string& key : {inside, outside}) {
    SiblingSet set;
    set.put(VersionVector(), 99, value("x"));
    chunk.entries.push_back({key, set});
  }
  chunk.done = false;
  Harness& c = net_.at("c");
  c.core().receive(c.now_, asked->first, chunk);
  (void)c.effects();
  (void)c.complete_all();
  const std::vector<std::string> held = keys_at("c");
  EXPECT_NE(std::find(held.begin(), held.end(), inside), held.end());
  EXPECT_EQ(std::find(held.begin(), held.end(), outside), held.end());
}

// A chunk is merged as one durable write that carries its checkpoint too:
// one write (and one fsync) per chunk instead of one per key, and a crash
// keeps the data and the checkpoint together or neither.
TEST_F(StreamingTest, AChunkIsMergedAsOneDurableWriteWithItsCheckpoint) {
  ASSERT_TRUE(change(net_.at("a"), add("c")).status.ok());
  std::optional<std::pair<std::string, StreamRequest>> asked;
  Harness& c = net_.at("c");
  for (int step = 0; step < 100 && !asked; ++step) {
    c.now_ += 50;
    c.core().tick(c.now_);
    for (const SendEffect& send : sends_of<StreamRequest>(c.effects()))
      asked = {send.to, std::get<StreamRequest>(send.message)};
    if (!asked)
      (void)net_.run(50);
  }
  ASSERT_TRUE(asked.has_value());
  const uint32_t bits = start_.layout.partition_bits();
  StreamChunk chunk;
  chunk.op = asked->second.op;
  chunk.done = false;
  for (int index = 0; chunk.entries.size() < 5; ++index) {
    const std::string key = fmt::format("chunked{}", index);
    if (partition_of(md5(key), bits) != asked->second.partition)
      continue;
    SiblingSet set;
    set.put(VersionVector(), 99, value("x"));
    chunk.entries.push_back({key, set});
  }
  chunk.last = encode_data_key(c.core().catalog().find("s")->id, chunk.entries.back().key);
  c.core().receive(c.now_, asked->first, chunk);
  const auto writes = only<WriteEffect>(c.effects());
  ASSERT_EQ(writes.size(), 1u) << "one write for the whole chunk";
  EXPECT_TRUE(writes[0].durable);
  size_t data = 0, checkpoints = 0;
  for (const WriteOp& op : writes[0].batch) {
    data += op.column == Column::data ? 1 : 0;
    checkpoints += op.column == Column::meta && op.key.rfind("transfer/", 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(data, 5u);
  EXPECT_EQ(checkpoints, 1u) << "the checkpoint is in the chunk's write";
  (void)c.complete_all();
  for (const AeEntry& entry : chunk.entries)
    EXPECT_TRUE(holds(c, "s", entry.key)) << entry.key;
}

// A node says it is ready for a target only once it holds what that target
// gives it. When the target changed after a node had finished the previous
// one's receipts, a tick between two rebalance rounds ran the old (all
// done) transfers before the new target's receipts were planned and
// published `ready` for the new target: another node could then flip to it
// while this one lacked partitions it now owned.
TEST(StreamingTargetChangeTest, ANodeIsNeverReadyForATargetBeforeItHoldsItsShare) {
  for (const uint64_t offset : {0, 50}) {
    NodeCoreOptions options = rebalance_options();
    options.transfer_bytes_per_sec = 1'000'000;
    options.gossip_interval_ms = 50;  // every tick: c's heartbeat shows each value it takes
    Net net;
    const ClusterState start = state_of({member("a"), member("b"), member("c", MemberRole::standby),
                                         member("d", MemberRole::standby)});
    // d streams so slowly that target A waits for it while c finishes.
    NodeCoreOptions slow = options;
    slow.transfer_bytes_per_sec = 1;
    for (const auto& [id, actor] : {std::pair{"a", 7}, {"b", 8}, {"c", 9}, {"d", 10}})
      net.add(id, start, actor, id == std::string("d") ? slow : options)
          .create("s", config(1, 1, 1));
    (void)net.pump();
    const PreferenceTable table = PreferenceTable::build(start.layout, 1);
    std::vector<std::string> keys;
    for (int index = 0; index < 400; ++index) {
      keys.push_back(fmt::format("key{}", index));
      SiblingSet set;
      set.put(VersionVector(), 7, value("v"));
      net.at(start.layout.nodes()[table.nodes_for_key(keys.back())[0]].id)
          .store_record("s", keys.back(), set);
    }
    Harness& c = net.at("c");
    // The target (digest) c's heartbeats in these effects say it holds in
    // full, other than `except` (0: none). A heartbeat carries c's target
    // and readiness as of one moment, relayed or not.
    auto ready_for = [](const std::vector<Effect>& effects, uint64_t except) -> uint64_t {
      for (const Effect& effect : effects) {
        const auto* send = std::get_if<SendEffect>(&effect);
        const auto* gossip = send ? std::get_if<Gossip>(&send->message) : nullptr;
        for (const Heartbeat& heard : gossip ? gossip->heartbeats : std::vector<Heartbeat>{}) {
          if (heard.node == "c" && heard.ready != 0 && heard.target != except)
            return heard.target;
        }
      }
      return 0;
    };
    // Target A: c and d join.
    ClusterChange both = add("c");
    both.add.push_back({"d", std::nullopt, std::nullopt});
    ASSERT_TRUE(change(net.at("a"), both).status.ok());
    uint64_t target_a = 0;
    for (int step = 0; step < 200 && target_a == 0; ++step)
      target_a = ready_for(net.run(50), 0);
    ASSERT_NE(target_a, 0u) << "c never finished target A";
    // What c's own status says of itself (GET /v1/cluster): ready for the
    // target it knows.
    auto self_ready = [&] {
      for (const core_views::NodeView& node : c.core().rebalance_view(c.now_).nodes) {
        if (node.id == "c")
          return node.ready;
      }
      return false;
    };
    (void)net.run(offset);
    // Target B: c's capacity triples, so it must receive more — and b, the
    // source of some of it, is down, so c cannot be done with B soon.
    net.down.insert("b");
    ClusterChange heavier;
    heavier.capacity.push_back({"c", 3});
    ASSERT_TRUE(change(net.at("a"), heavier).status.ok());
    // c's share under a target: the keys its table gives c.
    auto share = [&](const Layout& target) {
      const PreferenceTable next = PreferenceTable::build(target, 1);
      std::vector<std::string> out;
      for (const std::string& key : keys) {
        if (target.nodes()[next.nodes_for_key(key)[0]].id == "c")
          out.push_back(key);
      }
      return out;
    };
    ASSERT_NE(c.core().target(), nullptr);
    const size_t share_a = share(*c.core().target()).size();
    bool checked = false;
    // b comes back after 3 s: then c can finish B.
    for (int step = 0; step < 300; ++step) {
      if (step == 60)
        net.down.erase("b");
      const bool claimed = ready_for(net.run(50), target_a) != 0;
      if (c.core().target() == nullptr || !(claimed || self_ready()))
        continue;
      const std::vector<std::string> mine = share(*c.core().target());
      size_t missing = 0;
      for (const std::string& key : mine)
        missing += holds(c, "s", key) ? 0 : 1;
      ASSERT_EQ(missing, 0u) << "c says it is ready for a target of which it lacks keys (offset "
                             << offset << " ms, step " << step << ")";
      checked = checked || mine.size() > share_a;
    }
    EXPECT_TRUE(checked) << "c never became ready for the new target (offset " << offset << ")";
  }
}

// An old owner hands a partition over when the new owner holds everything
// it holds, however many newer keys the owner has. It compared leaves each
// round and sent the first 32 that differed, and when the owner's newer keys
// spread over more leaves than that, it sent the same 32 again every round
// and never dropped (ElasticClusterTest found it under live traffic).
TEST_F(StreamingTest, AnOldOwnerDropsWhatMovedWhileTheNewOwnerTakesManyNewKeys) {
  ASSERT_TRUE(change(net_.at("a"), add("c")).status.ok());
  for (int step = 0; step < 400 && net_.at("a").core().target() != nullptr; ++step)
    (void)net_.run(50);
  ASSERT_EQ(net_.at("a").core().target(), nullptr) << "the layout never flipped";
  // Still within the drop grace: 80 new keys in each of c's partitions,
  // written through c (more differing leaves than one round sends).
  const Layout layout = *net_.at("a").core().layout();
  const PreferenceTable table = PreferenceTable::build(layout, 1);
  std::map<uint32_t, int> written;
  Harness& c = net_.at("c");
  for (int index = 0; index < 5000; ++index) {
    const std::string key = fmt::format("new{}", index);
    const uint32_t partition = partition_of(md5(key), layout.partition_bits());
    if (layout.nodes()[table.nodes_for_key(key)[0]].id != "c" || written[partition] >= 80)
      continue;
    c.core().put(c.now_, 1000 + index, "s", key, VersionVector(), value("n"));
    bool acknowledged = false;
    for (const Effect& effect : net_.pump()) {
      if (const auto* reply = std::get_if<PutReply>(&effect))
        acknowledged = reply->status.ok();
    }
    ASSERT_TRUE(acknowledged) << key;
    ++written[partition];
  }
  ASSERT_GE(written.size(), 2u);
  (void)net_.run(8000);
  for (const char* id : {"a", "b", "c"}) {
    size_t foreign = 0;
    for (const std::string& key : keys_at(id))
      foreign += layout.nodes()[table.nodes_for_key(key)[0]].id != id;
    EXPECT_EQ(foreign, 0u) << id << " still holds keys it does not own";
  }
}

TEST(LayoutFenceTest, AStrictWriteFromACoordinatorWithAnOlderLayoutIsRefused) {
  ClusterState state = state_of({member("a"), member("b")});
  state.layout = plan_assignment(state.layout, ring_nodes(state.members), 3)->layout;  // version 2
  Harness a("a", state.layout, 7, rebalance_options());
  a.use_state(state);
  a.create("strict", config(2, 1, 1));
  SiblingSet set;
  set.put(VersionVector(), 8, value("v"));
  ReplicaWrite write{5,     {"strict", config(2, 1, 1)}, "k", set, {},
                     false, state.layout.version() - 1};
  a.core().receive(a.now_, "b", write);
  const auto out = a.effects();
  const auto replies = sends_of<ReplicaWriteReply>(out);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(std::get<ReplicaWriteReply>(replies[0].message).status.code, Code::unavailable);
  EXPECT_EQ(sends_of<ClusterUpdate>(out).size(), 1u) << "the coordinator is told the layout";
  EXPECT_EQ(a.pending_writes(), 0u) << "nothing written";
  // The same write with the current version is taken.
  write.layout_version = state.layout.version();
  a.core().receive(a.now_, "b", write);
  (void)a.effects();
  EXPECT_EQ(a.pending_writes(), 1u);
}

}  // namespace
}  // namespace ringkv
