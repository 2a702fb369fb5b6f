// Scripted tests of the node core's Merkle anti-entropy: two replicas with
// different copies of a partition exchange trees and the keys of differing
// leaves only, and both end with the union.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <deque>

#include "common/md5.h"
#include "core_harness.h"
#include "ring/preference_list.h"
#include "storage/hint_codec.h"

namespace ringkv {
namespace {

using namespace testing_core;

bool is_anti_entropy(const PeerMessage& message) {
  return std::holds_alternative<AeRoots>(message) || std::holds_alternative<AeLeaves>(message) ||
         std::holds_alternative<AeSync>(message) || std::holds_alternative<AeSyncReply>(message);
}

bool is_tombstone_collection(const PeerMessage& message) {
  return std::holds_alternative<TombstoneCheck>(message) ||
         std::holds_alternative<TombstoneCheckReply>(message) ||
         std::holds_alternative<TombstoneReap>(message) ||
         std::holds_alternative<PruneCheck>(message) ||
         std::holds_alternative<PruneCheckReply>(message) ||
         std::holds_alternative<ClockPrune>(message);
}

class AntiEntropyTest : public ::testing::Test {
 protected:
  static NodeCoreOptions options() {
    NodeCoreOptions out;
    out.anti_entropy_interval_ms = 100;
    out.gossip_interval_ms = 1'000'000;  // quiet: these tests follow anti-entropy alone
    out.tombstone_sweep_interval_ms = 0;
    return out;
  }
  explicit AntiEntropyTest(NodeCoreOptions node_options = options())
      : layout_(make_layout({"a", "b"})),
        a_("a", layout_, 7, node_options),
        b_("b", layout_, 8, node_options) {
    a_.create("s", config(2, 1, 1));
    b_.create("s", config(2, 1, 1));
  }

  SiblingSet version_of(const std::string& text, ActorId actor) {
    SiblingSet set;
    set.put(VersionVector(), actor, value(text));
    return set;
  }
  SiblingSet copy_at(Harness& node, const std::string& key) {
    const StoreEntry* store = node.core().catalog().find("s");
    auto bytes = node.engine().get(Column::data, encode_data_key(store->id, key));
    EXPECT_TRUE(bytes.ok());
    if (!bytes.ok() || !bytes.value())
      return {};
    return decode_record(*bytes.value()).value();
  }

  // Delivers anti-entropy messages between a and b (completing their writes)
  // until none is left; returns how many were delivered.
  int pump(std::vector<SendEffect> sends, const std::string& from) {
    std::deque<std::pair<std::string, SendEffect>> queue;
    for (SendEffect& send : sends)
      queue.push_back({from, std::move(send)});
    int delivered = 0;
    while (!queue.empty()) {
      auto [sender, send] = std::move(queue.front());
      queue.pop_front();
      if (!is_anti_entropy(send.message) && !is_tombstone_collection(send.message))
        continue;
      if (const auto* sync = std::get_if<AeSync>(&send.message))
        ae_sync_entries_.push_back(sync->entries.size());
      Harness& to = send.to == "a" ? a_ : b_;
      to.core().receive(to.now_, sender, std::move(send.message));
      ++delivered;
      std::vector<Effect> out = to.effects();
      for (Effect& effect : to.complete_all())
        out.push_back(std::move(effect));
      for (const SendEffect& next : only<SendEffect>(out))
        queue.push_back({send.to, next});
    }
    return delivered;
  }
  // One anti-entropy round started by `node` for every partition, in turn.
  void sweep(Harness& node, const std::string& id) {
    for (uint32_t round = 0; round < layout_.partition_count(); ++round) {
      node.now_ += 100;
      node.core().tick(node.now_);
      pump(only<SendEffect>(node.effects()), id);
    }
  }

  Layout layout_;
  Harness a_;
  Harness b_;
  std::vector<size_t> ae_sync_entries_;  // per AeSync delivered, its entry count
};

TEST_F(AntiEntropyTest, ReplicasThatAgreeExchangeOnlyTheirTrees) {
  for (int index = 0; index < 50; ++index) {
    const std::string key = fmt::format("k{}", index);
    a_.store_record("s", key, version_of("v", 1));
    b_.store_record("s", key, version_of("v", 1));
  }
  sweep(a_, "a");
  const auto& stats = a_.core().stats();
  EXPECT_EQ(stats.ae_rounds, layout_.partition_count());
  EXPECT_EQ(stats.ae_rounds_in_sync, stats.ae_rounds);
  EXPECT_EQ(stats.ae_keys_sent, 0u);
  EXPECT_EQ(b_.core().stats().ae_keys_sent, 0u);
}

TEST_F(AntiEntropyTest, DivergentKeysAreRepairedBothWaysAndOnlyTheirLeavesTravel) {
  for (int index = 0; index < 200; ++index) {
    const std::string key = fmt::format("k{}", index);
    a_.store_record("s", key, version_of("same", 1));
    b_.store_record("s", key, version_of("same", 1));
  }
  // Three kinds of divergence: a key only a has, one only b has, and one
  // with concurrent versions on each side.
  a_.store_record("s", "only-a", version_of("a", 2));
  b_.store_record("s", "only-b", version_of("b", 3));
  a_.store_record("s", "k7", SiblingSet::merged(version_of("same", 1), version_of("a7", 2)));
  b_.store_record("s", "k7", SiblingSet::merged(version_of("same", 1), version_of("b7", 3)));
  sweep(a_, "a");
  EXPECT_EQ(copy_at(b_, "only-a"), version_of("a", 2));
  EXPECT_EQ(copy_at(a_, "only-b"), version_of("b", 3));
  const SiblingSet union_of_k7 = SiblingSet::merged(
      SiblingSet::merged(version_of("same", 1), version_of("a7", 2)), version_of("b7", 3));
  EXPECT_EQ(copy_at(a_, "k7"), union_of_k7);
  EXPECT_EQ(copy_at(b_, "k7"), union_of_k7);
  EXPECT_EQ(a_.core().stats().ae_keys_repaired + b_.core().stats().ae_keys_repaired, 4u);
  // Only the keys of differing leaves were sent: a few, not 200.
  const uint64_t sent = a_.core().stats().ae_keys_sent + b_.core().stats().ae_keys_sent;
  EXPECT_GE(sent, 4u);
  EXPECT_LT(sent, 20u);
  // A second sweep finds nothing left to do.
  const uint64_t before = a_.core().stats().ae_rounds_in_sync;
  sweep(a_, "a");
  EXPECT_EQ(a_.core().stats().ae_rounds_in_sync - before, layout_.partition_count());
}

TEST_F(AntiEntropyTest, TreesFollowWritesAfterTheyAreBuilt) {
  a_.store_record("s", "k1", version_of("v", 1));
  b_.store_record("s", "k1", version_of("v", 1));
  sweep(a_, "a");  // every tree built on both sides
  const uint64_t builds = a_.core().stats().merkle_builds;
  // A write through the core (a replica write) updates a's tree in place.
  a_.core().receive(a_.now_, "b",
                    ReplicaWrite{0, {"s", config(2, 1, 1)}, "k2", version_of("new", 4), {}, false});
  (void)a_.effects();
  (void)a_.complete_all();
  sweep(a_, "a");
  EXPECT_EQ(a_.core().stats().merkle_builds, builds);  // not rebuilt
  EXPECT_EQ(copy_at(b_, "k2"), version_of("new", 4));  // and the change was found
}

TEST_F(AntiEntropyTest, TreesAreRebuiltFromDiskSoAChangeBehindTheirBackIsFound) {
  a_.store_record("s", "k1", version_of("v", 1));
  b_.store_record("s", "k1", version_of("v", 1));
  sweep(a_, "a");  // trees built on both sides, equal
  // b's disk changes under its core (as silent corruption would): b's tree,
  // kept up to date by writes only, does not know.
  b_.store_record("s", "k1", version_of("changed", 2));
  sweep(a_, "a");
  EXPECT_EQ(copy_at(a_, "k1"), version_of("v", 1));  // not found yet
  // After merkle_rebuild_ms (1 h) the trees are built again from disk.
  a_.now_ += 3600 * 1000;
  b_.now_ += 3600 * 1000;
  b_.core().tick(b_.now_);  // b drops its trees too
  (void)b_.effects();
  a_.core().receive(a_.now_, "b", Gossip{true, 0, {{"b", 1, 1}}});  // b is alive
  sweep(a_, "a");
  EXPECT_EQ(copy_at(a_, "k1"), SiblingSet::merged(version_of("v", 1), version_of("changed", 2)));
}

class CappedAntiEntropyTest : public AntiEntropyTest {
 protected:
  static NodeCoreOptions capped_options() {
    NodeCoreOptions out = options();
    out.anti_entropy_bytes_max = 1000;
    return out;
  }
  CappedAntiEntropyTest() : AntiEntropyTest(capped_options()) {}
};

TEST_F(CappedAntiEntropyTest, ARoundSendsAtMostItsByteBudgetAndLaterRoundsTheRest) {
  // Ten keys of 400 bytes in one partition, only on a: one round would send
  // all ten; with 1000 bytes per round a sends whole leaves up to the
  // budget, and the next rounds send the rest.
  std::vector<std::string> keys;
  const uint32_t bits = layout_.partition_bits();
  const uint32_t wanted = partition_of(md5("k0"), bits);
  for (int index = 0; keys.size() < 10; ++index) {
    const std::string key = fmt::format("k{}", index);
    if (partition_of(md5(key), bits) == wanted) {
      keys.push_back(key);
      a_.store_record("s", key, version_of(std::string(400, 'v'), 1));
    }
  }
  sweep(a_, "a");
  ASSERT_FALSE(ae_sync_entries_.empty());
  EXPECT_LE(*std::max_element(ae_sync_entries_.begin(), ae_sync_entries_.end()), 4u)
      << "a round carried more than its budget (1000 bytes: two or three 400-byte leaves)";
  for (uint64_t round = 1; round <= 10; ++round) {
    a_.core().receive(a_.now_, "b", Gossip{true, 0, {{"b", 1, round}}});  // b stays alive
    sweep(a_, "a");
  }
  for (const std::string& key : keys)
    EXPECT_EQ(copy_at(b_, key), version_of(std::string(400, 'v'), 1)) << key;
}

// ---- tombstone collection ----

class TombstoneTest : public AntiEntropyTest {
 protected:
  static NodeCoreOptions tombstone_options() {
    NodeCoreOptions out = options();
    out.anti_entropy_interval_ms = 0;
    out.tombstone_sweep_interval_ms = 10;
    out.tombstone_grace_ms = 5000;
    out.drop_grace_ms = 1000;  // no collection within twice this of a layout change
    return out;
  }
  explicit TombstoneTest(NodeCoreOptions node_options = tombstone_options())
      : AntiEntropyTest(node_options) {
    // A key whose partition a sweeps (a is the first of its preference list).
    const PreferenceTable table = PreferenceTable::build(layout_, 2);
    for (int index = 0; key_.empty(); ++index) {
      const std::string candidate = fmt::format("k{}", index);
      if (layout_.nodes()[table.nodes_for_key(candidate)[0]].id == "a")
        key_ = candidate;
    }
  }
  // A record of one tombstone written at `timestamp_ms`.
  SiblingSet deleted_at(uint64_t timestamp_ms) {
    SiblingSet set = version_of("v", 1);
    Version tombstone;
    tombstone.tombstone = true;
    tombstone.timestamp_ms = timestamp_ms;
    set.put(set.context(), 1, tombstone);
    return set;
  }
  // Lets a sweep every partition once (one per tick), delivering everything;
  // b's heartbeats reach a unless `b_silent`.
  void sweep_all(bool b_silent = false) {
    for (uint32_t round = 0; round < layout_.partition_count(); ++round) {
      a_.now_ += 10;
      b_.now_ = a_.now_;
      if (!b_silent)
        a_.core().receive(a_.now_, "b", Gossip{true, 0, {{"b", 1, ++b_heartbeat_}}});
      a_.core().tick(a_.now_);
      pump(only<SendEffect>(a_.effects()), "a");
    }
  }
  bool present(Harness& node) { return copy_at(node, key_).sibling_count() > 0; }

  std::string key_;
  uint64_t b_heartbeat_ = 0;
};

TEST_F(TombstoneTest, ATombstoneEveryMemberHoldsIsCollectedAfterTheGracePeriod) {
  a_.store_record("s", key_, deleted_at(1000));
  b_.store_record("s", key_, deleted_at(1000));
  a_.now_ = 3000;  // within the grace period: kept
  sweep_all();
  EXPECT_TRUE(present(a_));
  EXPECT_TRUE(present(b_));
  EXPECT_EQ(a_.core().stats().tombstone_checks, 0u);
  a_.now_ = 10'000;
  sweep_all();
  EXPECT_FALSE(present(a_));
  EXPECT_FALSE(present(b_));
  EXPECT_EQ(a_.core().stats().tombstones_collected, 1u);
  EXPECT_EQ(b_.core().stats().tombstones_collected, 1u);
}

TEST_F(TombstoneTest, AMemberWithAnotherCopyOrAHintForTheKeyKeepsItAlive) {
  a_.store_record("s", key_, deleted_at(1000));
  b_.store_record("s", key_, version_of("older", 1));  // b never got the delete
  a_.now_ = 10'000;
  sweep_all();
  EXPECT_TRUE(present(a_));
  EXPECT_GT(a_.core().stats().tombstone_checks, 0u);
  EXPECT_EQ(a_.core().stats().tombstones_collected, 0u);
  // Same record on b now, but b holds a hint for the key (for a).
  b_.store_record("s", key_, deleted_at(1000));
  WriteBatch hint;
  hint.push_back({Column::hints, encode_hint_key("a", "s", key_),
                  encode_hint_value(1, encode_record(version_of("older", 1)))});
  ASSERT_TRUE(b_.engine().write(hint, true).ok());
  sweep_all();
  EXPECT_TRUE(present(a_));
  EXPECT_TRUE(present(b_));
  EXPECT_EQ(a_.core().stats().tombstones_collected, 0u);
}

TEST_F(TombstoneTest, NothingIsCollectedWhileAMemberIsDown) {
  a_.store_record("s", key_, deleted_at(1000));
  b_.store_record("s", key_, deleted_at(1000));
  a_.core().tick(a_.now_);  // a starts watching b...
  (void)a_.effects();
  a_.now_ = 60'000;  // ...and b stays silent long enough to be suspected
  sweep_all(/*b_silent=*/true);
  EXPECT_TRUE(present(a_));
  EXPECT_EQ(a_.core().stats().tombstone_checks, 0u);
}

// ---- clock pruning ----

class PruneTest : public TombstoneTest {
 protected:
  PruneTest() : TombstoneTest(prune_options()) {
    a_.now_ = 10'000;  // past twice the drop grace after the layout
    b_.now_ = a_.now_;
  }
  // A key written by actors 1..count in turn, each write superseding the
  // one before (a node through count - 1 unclean restarts, say): only the
  // last actor holds a live version.
  static SiblingSet written_by_actors(ActorId count) {
    SiblingSet set;
    for (ActorId actor = 1; actor <= count; ++actor)
      set.put(set.context(), actor, value(fmt::format("v{}", actor)));
    return set;
  }
  static std::vector<ActorId> actors_of(const SiblingSet& set) {
    std::vector<ActorId> out;
    for (const auto& entry : set.entries())
      out.push_back(entry.actor);
    return out;
  }
  static constexpr uint64_t kDelay = 2000;
  static NodeCoreOptions prune_options() {
    NodeCoreOptions out = tombstone_options();
    out.prune_delay_ms = kDelay;
    return out;
  }
};

TEST_F(PruneTest, SupersededEntriesGoOnlyAfterEveryMemberAgreedTwiceTheDelayApart) {
  const SiblingSet written = written_by_actors(20);
  ASSERT_EQ(written.entries().size(), 20u);
  a_.store_record("s", key_, written);
  b_.store_record("s", key_, written);
  sweep_all();  // the first agreement
  EXPECT_GT(a_.core().stats().prune_checks, 0u);
  EXPECT_EQ(copy_at(a_, key_), written);
  EXPECT_EQ(copy_at(b_, key_), written);
  a_.now_ += kDelay / 2;  // within the delay: nothing goes
  sweep_all();
  EXPECT_EQ(copy_at(a_, key_), written);
  EXPECT_EQ(copy_at(b_, key_), written);
  a_.now_ += kDelay;
  sweep_all();  // the confirming agreement, then the prune
  for (Harness* node : {&a_, &b_}) {
    const SiblingSet pruned = copy_at(*node, key_);
    EXPECT_EQ(actors_of(pruned), std::vector<ActorId>{20});
    ASSERT_EQ(pruned.sibling_count(), 1u);
    EXPECT_EQ(pruned.siblings()[0].version->value, "v20");
    EXPECT_EQ(pruned.siblings()[0].dot, (Dot{20, 1}));
    EXPECT_EQ(node->core().stats().clock_entries_pruned, 19u);
  }
}

TEST_F(PruneTest, AMemberHoldingASupersededVersionLiveOrAHintKeepsTheEntries) {
  const SiblingSet written = written_by_actors(3);
  a_.store_record("s", key_, written);
  b_.store_record("s", key_, written_by_actors(2));  // b never got actor 3's write
  sweep_all();
  a_.now_ += 2 * kDelay;
  sweep_all();
  EXPECT_EQ(copy_at(a_, key_), written);
  EXPECT_EQ(a_.core().stats().clock_entries_pruned, 0u);
  // b catches up, but agrees only after the delay passes again from then.
  b_.store_record("s", key_, written);
  sweep_all();
  EXPECT_EQ(copy_at(a_, key_), written);
  // Now b also holds a hint for the key (an older copy, for a).
  WriteBatch hint;
  hint.push_back({Column::hints, encode_hint_key("a", "s", key_),
                  encode_hint_value(1, encode_record(written_by_actors(1)))});
  ASSERT_TRUE(b_.engine().write(hint, true).ok());
  a_.now_ += 2 * kDelay;
  sweep_all();
  EXPECT_EQ(copy_at(a_, key_), written);
  EXPECT_EQ(copy_at(b_, key_), written);
  EXPECT_EQ(a_.core().stats().clock_entries_pruned, 0u);
}

TEST_F(PruneTest, NothingIsPrunedWhileAMemberIsDown) {
  const SiblingSet written = written_by_actors(3);
  a_.store_record("s", key_, written);
  b_.store_record("s", key_, written);
  sweep_all();        // agreed once
  a_.now_ += 60'000;  // b silent long enough to be suspected: no confirmation
  sweep_all(/*b_silent=*/true);
  EXPECT_EQ(copy_at(a_, key_), written);
  EXPECT_EQ(copy_at(b_, key_), written);
}

// After the flip a removed node still hands over what it held (its drop),
// and its copy may hold live a version the others superseded since: were
// that actor's entry pruned meanwhile, the handover would bring the
// version back as a sibling (the simulator found it: seed 946232 skew
// --membership). So a removed node is asked like a member until its
// heartbeat says it holds no records and no hints.
TEST_F(PruneTest, ARemovedNodeIsAskedUntilItHoldsNothing) {
  ClusterState state;
  for (const char* id : {"a", "b", "c"}) {
    state.members.push_back(
        {id, std::string(id) + ":7070", std::string(id) + ":8080", 1, "", MemberRole::owner, 1});
  }
  state.members[2].role = MemberRole::removed;  // the layout (a, b) no longer names it
  state.layout = layout_;
  a_.use_state(state);
  const SiblingSet written = written_by_actors(3);
  a_.store_record("s", key_, written);
  uint64_t counter = 0;
  // Sweeps every partition once; the nodes a asks whether it may prune.
  auto asked = [&](uint64_t c_keys) {
    std::set<NodeId> out;
    for (uint32_t round = 0; round < layout_.partition_count(); ++round) {
      a_.now_ += 10;
      Heartbeat b{"b", 1, ++counter};
      Heartbeat c{"c", 1, counter};
      c.keys = c_keys;
      a_.core().receive(a_.now_, "b", Gossip{true, 0, {b, c}});
      a_.core().tick(a_.now_);
      for (const SendEffect& send : sends_of<PruneCheck>(a_.effects()))
        out.insert(send.to);
    }
    return out;
  };
  a_.now_ += 10'000;  // past twice the drop grace after the layout
  EXPECT_EQ(asked(/*c_keys=*/40), (std::set<NodeId>{"b", "c"})) << "c still holds records";
  a_.restart();  // forgets the check it started (nobody answered)
  a_.now_ += 10'000;
  EXPECT_EQ(asked(/*c_keys=*/0), (std::set<NodeId>{"b"})) << "c has handed everything over";
}

}  // namespace
}  // namespace ringkv

namespace ringkv {
namespace {

using namespace testing_core;

// A replica write of an earlier delete, delayed past the reap, brings back
// part of a collected record: the actor's entry with a lower counter than it
// gave the later delete. Numbering from that entry reused the later delete's
// dot (the simulator found it: seed 53 partitions); the floor must apply to
// an entry of tombstones as to a missing one.
TEST_F(TombstoneTest, ALateCopyOfACollectedDeleteMakesNoDotRepeat) {
  Version tombstone;
  tombstone.tombstone = true;
  tombstone.timestamp_ms = 1000;
  SiblingSet first;
  first.put(VersionVector(), 7, tombstone);  // a's delete, dot (7, 1)
  SiblingSet second = first;
  second.put(first.context(), 7, tombstone);  // a's next delete, dot (7, 2)
  a_.store_record("s", key_, second);
  b_.store_record("s", key_, second);
  a_.now_ = 10'000;
  sweep_all();
  ASSERT_FALSE(present(a_));
  ASSERT_FALSE(present(b_));
  a_.store_record("s", key_, first);  // the late copy of the first delete
  a_.core().put(a_.now_, 5, "s", key_, {}, value("new"));
  std::vector<Effect> out = a_.effects();
  for (Effect& effect : a_.complete_all())
    out.push_back(std::move(effect));
  const auto replies = only<PutReply>(out);
  ASSERT_EQ(replies.size(), 1u);
  ASSERT_TRUE(replies[0].status.ok()) << replies[0].status.message();
  EXPECT_EQ(replies[0].dot.actor, 7u);
  EXPECT_GT(replies[0].dot.counter, 2u);             // (7, 2) named the collected delete
  EXPECT_EQ(copy_at(a_, key_).sibling_count(), 1u);  // the late tombstone is superseded
}

TEST(MerkleUpkeep, AFailedScanNeverLeavesATreeThatMissesKeys) {
  // A tree built from a scan that failed would miss the partition's keys; a
  // handover comparing it could then call the owners "in sync" and drop
  // data. The core must keep its maintained tree on a failed rebuild, and
  // never keep an empty tree from a failed first build.
  NodeCoreOptions options = test_options();
  options.anti_entropy_interval_ms = 100;
  options.merkle_rebuild_ms = 1000;
  Harness a("a", make_layout({"a", "b"}), 7, options);
  a.create("s", config(1, 1, 1));
  for (int index = 0; index < 20; ++index) {
    SiblingSet set;
    set.put({}, 7, value(fmt::format("v{}", index)));
    a.store_record("s", fmt::format("k{}", index), set);
  }
  const StoreEntry* store = a.core().catalog().find("s");
  const auto roots = a.core().merkle_roots(*store);
  ASSERT_FALSE(roots.empty());
  // A rebuild is due, and the disk cannot be read: the old tree stays.
  a.engine().set_fail_scans(true);
  a.now_ += 2000;
  a.core().tick(a.now_);
  (void)a.effects();
  EXPECT_EQ(a.core().merkle_roots(*store), roots);
  EXPECT_GT(a.core().stats().merkle_scan_failures, 0u);
  // A fresh start whose first scans fail: the empty tree it answers with is
  // not kept; once the disk reads again, the tree has every key.
  a.engine().set_fail_scans(false);
  a.restart();
  a.engine().set_fail_scans(true);
  store = a.core().catalog().find("s");
  const auto unreadable = a.core().merkle_roots(*store);
  EXPECT_NE(unreadable, roots);
  a.engine().set_fail_scans(false);
  EXPECT_EQ(a.core().merkle_roots(*store), roots);
}

// A node restarted with an empty disk takes replica writes before it has a
// layout (before its join reply). Such a write's Merkle partition is only
// known once the layout is: counted in partition 0's tree, it left a leaf
// no record matches, and the recovering node's rounds with a replica never
// agreed (the simulator found it: seed 448973 chaos, still recovering 60 s
// after healing).
TEST(MerkleUpkeep, AWriteIssuedBeforeTheLayoutCountsInItsOwnPartition) {
  MemoryEngine engine;
  create_store_on_disk(engine, "s", config(1, 1, 1));
  const Layout layout = make_layout({"a"});
  std::string key;  // a key outside partition 0
  for (int index = 0; key.empty(); ++index) {
    const std::string candidate = fmt::format("k{}", index);
    if (partition_of(md5(candidate), layout.partition_bits()) != 0)
      key = candidate;
  }
  NodeCoreOptions options = test_options();
  options.self = NodeId("a");  // (assigning the literal trips a GCC 12 -Wrestrict false positive)
  options.actor = 7;
  NodeCore core(options, engine, StoreCatalog::load(engine).value());
  SiblingSet set;
  set.put(VersionVector(), 9, value("v"));
  core.receive(1000, "b", ReplicaWrite{1, {"s", config(1, 1, 1)}, key, set, "", false});
  const std::vector<WriteEffect> writes = only<WriteEffect>(core.take_effects());
  ASSERT_EQ(writes.size(), 1u) << "the write was not taken";
  core.set_layout(layout);
  const StoreEntry* store = core.catalog().find("s");
  (void)core.merkle_roots(*store);  // trees built while the write is in flight
  ASSERT_TRUE(engine.write(writes[0].batch, writes[0].durable).ok());
  core.write_done(1001, writes[0].id, Status::Ok());
  NodeCore fresh(options, engine, StoreCatalog::load(engine).value());
  fresh.set_layout(layout);
  EXPECT_EQ(core.merkle_roots(*store), fresh.merkle_roots(*fresh.catalog().find("s")))
      << "the maintained trees differ from the ones a scan builds";
}

}  // namespace
}  // namespace ringkv
