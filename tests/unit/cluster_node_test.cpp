// Unit tests of ClusterNode, the real driver of the node core, as a one-node
// cluster over a MemoryEngine with the real CommitQueue thread and a test loop
// that runs completions. Includes the crash test: every write acknowledged
// under `sync` survives a power failure; under `periodic`, exactly what was
// synced is promised.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "common/limits.h"
#include "server/cluster_node.h"
#include "server/commit_queue.h"
#include "server/node_clock.h"
#include "storage/data_key.h"
#include "storage/memory_engine.h"
#include "storage/record_codec.h"
#include "test_loop.h"
#include "version/context.h"

namespace ringkv {
namespace {

constexpr StoreConfig kSyncStore{.n = 1, .r = 1, .w = 1};
constexpr StoreConfig kPeriodicStore{.n = 1, .r = 1, .w = 1, .durability = Durability::periodic};
constexpr StoreConfig kLwwStore{.n = 1, .r = 1, .w = 1, .conflicts = ConflictMode::lww};

class ClusterNodeTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }
  void TearDown() override { close(); }

  void open() {
    queue_ = std::make_unique<CommitQueue>(
        *engine_, [this](auto callback) { loop_.post(std::move(callback)); });
    ClusterNodeOptions options;
    options.self = {"n1", "127.0.0.1:1", "http://127.0.0.1:2", 1, ""};
    options.partition_bits = 4;
    auto node = ClusterNode::open(
        *engine_, *queue_, nullptr, [this] { return ++clock_ms_; },
        [this] { return ++next_actor_; }, options);
    ASSERT_TRUE(node.ok()) << node.status().to_string();
    node_ = std::move(node).value();
    // A new directory forms a one-node cluster: its state is written first.
    ASSERT_TRUE(loop_.run_until([&] { return node_->ready(); }));
  }
  void close() {
    queue_.reset();  // drains the writer thread
    loop_.clear();   // completions are never run, like a process that stops
    node_.reset();
  }

  Result<VersionVector> put(std::string_view store, std::string key, std::string value,
                            VersionVector seen = {}, bool tombstone = false) {
    std::optional<Result<VersionVector>> result;
    node_->put(store, std::move(key), std::move(seen), Version{std::move(value), tombstone, 0},
               [&](PutReply done) {
                 if (done.status.ok())
                   result.emplace(std::move(done.context));
                 else
                   result.emplace(std::move(done.status));
               });
    EXPECT_TRUE(loop_.run_until([&] { return result.has_value(); }));
    return result ? std::move(*result) : Result<VersionVector>(Status(Code::internal, "no result"));
  }

  Result<StoreCatalog::Created> create(std::string_view name, const StoreConfig& config) {
    std::optional<Result<StoreCatalog::Created>> result;
    node_->create_store(name, config, [&](CreateStoreDone done) {
      if (done.status.ok())
        result.emplace(StoreCatalog::Created{done.store, done.created});
      else
        result.emplace(std::move(done.status));
    });
    EXPECT_TRUE(loop_.run_until([&] { return result.has_value(); }));
    return result ? std::move(*result)
                  : Result<StoreCatalog::Created>(Status(Code::internal, "no result"));
  }

  Result<SiblingSet> get(std::string_view store, std::string_view key) {
    std::optional<Result<SiblingSet>> result;
    node_->get(store, std::string(key), [&](GetReply done) {
      if (done.status.ok())
        result.emplace(std::move(done.set));
      else
        result.emplace(std::move(done.status));
    });
    EXPECT_TRUE(loop_.run_until([&] { return result.has_value(); }));
    return result ? std::move(*result) : Result<SiblingSet>(Status(Code::internal, "no result"));
  }

  std::vector<std::string> values(std::string_view store, std::string_view key) {
    auto set = get(store, key);
    EXPECT_TRUE(set.ok()) << set.status().to_string();
    std::vector<std::string> out;
    if (!set.ok())
      return out;
    for (const Sibling& sibling : set->siblings()) {
      out.push_back(sibling.version->tombstone ? "<deleted>" : sibling.version->value);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  std::unique_ptr<MemoryEngine> engine_ = std::make_unique<MemoryEngine>();
  TestLoop loop_;
  std::unique_ptr<CommitQueue> queue_;
  std::unique_ptr<ClusterNode> node_;
  uint64_t clock_ms_ = 1000;
  uint64_t next_actor_ = 100;
};

TEST_F(ClusterNodeTest, UnknownStoreIsNotFound) {
  EXPECT_EQ(put("missing", "k", "v").status().code(), Code::not_found);
  EXPECT_EQ(get("missing", "k").status().code(), Code::not_found);
}

TEST_F(ClusterNodeTest, AnOwnEntryTheClusterStateCannotHoldIsRefusedAtStart) {
  // Persisted into the cluster state, it would keep the node from starting
  // again: refused before anything is written.
  ClusterNodeOptions options;
  options.self = {"n1", std::string(1025, 'p'), "http://127.0.0.1:2", 1, ""};
  auto refused = ClusterNode::open(
      *engine_, *queue_, nullptr, [this] { return ++clock_ms_; }, [this] { return ++next_actor_; },
      options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::invalid_argument);
  EXPECT_NE(refused.status().message().find("this node's settings"), std::string::npos)
      << refused.status().message();
}

TEST_F(ClusterNodeTest, StoresAreImmutableAndPersisted) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  auto again = create("s", kSyncStore);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  auto changed = create("s", kPeriodicStore);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), Code::already_exists);
  EXPECT_NE(changed.status().message().find("never changes"), std::string::npos);
  EXPECT_EQ(create("bad", StoreConfig{.n = 2, .r = 3, .w = 1}).status().code(),
            Code::invalid_argument);
  close();
  engine_->crash();  // store creation is fsynced: it survives
  open();
  ASSERT_NE(node_->catalog().find("s"), nullptr);
  EXPECT_EQ(node_->catalog().find("s")->config, kSyncStore);
  EXPECT_EQ(node_->catalog().find("bad"), nullptr);
}

TEST_F(ClusterNodeTest, BlindPutsMakeSiblingsAndContextSupersedesThem) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  ASSERT_TRUE(put("s", "k", "one").ok());
  ASSERT_TRUE(put("s", "k", "two").ok());
  EXPECT_EQ(values("s", "k"), (std::vector<std::string>{"one", "two"}));
  const VersionVector read = get("s", "k")->context();
  ASSERT_TRUE(put("s", "k", "merged", read).ok());
  EXPECT_EQ(values("s", "k"), (std::vector<std::string>{"merged"}));
}

TEST_F(ClusterNodeTest, PutReplyContextNeverCoversUnseenSiblings) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  ASSERT_TRUE(put("s", "k", "first writer").ok());
  auto second = put("s", "k", "second writer");  // blind: never saw the first
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(put("s", "k", "second again", *second).ok());
  // The first writer's value must survive: the second client never saw it.
  const auto found = values("s", "k");
  EXPECT_NE(std::find(found.begin(), found.end(), "first writer"), found.end());
  // Without concurrent siblings the reply covers the new version exactly.
  auto alone = put("s", "solo", "v1");
  ASSERT_TRUE(alone.ok());
  ASSERT_TRUE(put("s", "solo", "v2", *alone).ok());
  EXPECT_EQ(values("s", "solo"), (std::vector<std::string>{"v2"}));
}

TEST_F(ClusterNodeTest, DeleteWithContextLeavesOnlyATombstone) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  ASSERT_TRUE(put("s", "k", "v").ok());
  ASSERT_TRUE(put("s", "k", "", get("s", "k")->context(), true).ok());
  auto set = get("s", "k");
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->all_tombstones());
}

TEST_F(ClusterNodeTest, LwwStoreKeepsOneVersion) {
  ASSERT_TRUE(create("l", kLwwStore).ok());
  ASSERT_TRUE(put("l", "k", "old").ok());
  ASSERT_TRUE(put("l", "k", "new").ok());
  EXPECT_EQ(values("l", "k"), (std::vector<std::string>{"new"}));
}

TEST_F(ClusterNodeTest, ConcurrentPutsToOneKeyAreSerialisedNotLost) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  constexpr int kWriters = 50;
  int completed = 0;
  for (int index = 0; index < kWriters; ++index) {
    node_->put("s", "hot", {}, Version{fmt::format("w{}", index), false, 0}, [&](PutReply reply) {
      EXPECT_TRUE(reply.status.ok());
      ++completed;
    });
  }
  ASSERT_TRUE(loop_.run_until([&] { return completed == kWriters; }));
  EXPECT_EQ(values("s", "hot").size(), static_cast<size_t>(kWriters));
  EXPECT_EQ(node_->stats().keys_waiting, static_cast<uint64_t>(kWriters - 1));
}

TEST_F(ClusterNodeTest, FailedFsyncFencesWritesButNotReads) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  ASSERT_TRUE(put("s", "k", "before").ok());
  engine_->set_fail_syncs(true);
  auto failed = put("s", "k", "during");
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), Code::unavailable);
  engine_->set_fail_syncs(false);  // the disk "recovers": we still refuse (fsyncgate)
  auto after = put("s", "k", "after");
  ASSERT_FALSE(after.ok());
  EXPECT_NE(after.status().message().find("restart"), std::string::npos);
  EXPECT_FALSE(node_->write_fence().ok());
  EXPECT_FALSE(values("s", "k").empty());  // reads still served
  EXPECT_EQ(create("t", kSyncStore).status().code(), Code::unavailable);
}

TEST_F(ClusterNodeTest, SiblingLimitRefusesBlindPutsButNotMerges) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  for (size_t index = 0; index < kSiblingsMax; ++index) {
    ASSERT_TRUE(put("s", "k", fmt::format("v{}", index)).ok());
  }
  auto refused = put("s", "k", "one too many");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::too_large);
  EXPECT_NE(refused.status().message().find("merge"), std::string::npos);
  EXPECT_EQ(values("s", "k").size(), kSiblingsMax);  // nothing written
  ASSERT_TRUE(put("s", "k", "merged", get("s", "k")->context()).ok());
  EXPECT_EQ(values("s", "k"), (std::vector<std::string>{"merged"}));
}

TEST_F(ClusterNodeTest, ForgedHugeCounterIsRefusedAndTheKeyStaysUsable) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  ASSERT_TRUE(put("s", "k", "v").ok());
  VersionVector forged;
  forged.raise(node_->identity().actor, kCounterMax);
  auto refused = put("s", "k", "x", forged);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::invalid_argument);
  EXPECT_EQ(values("s", "k"), (std::vector<std::string>{"v"}));
  ASSERT_TRUE(put("s", "k", "w", get("s", "k")->context()).ok());
}

TEST_F(ClusterNodeTest, UnknownActorsInContextsAreBoundedPerKey) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  for (int round = 0; round < 3; ++round) {
    VersionVector many;
    for (ActorId actor = 1; actor <= kActorsPerKeyMax; ++actor)
      many.raise(actor + round * 1000, 1);
    ASSERT_TRUE(put("s", "k", fmt::format("r{}", round), many).ok());
  }
  auto set = get("s", "k");
  ASSERT_TRUE(set.ok());
  EXPECT_LE(set->entries().size(), kActorsPerKeyMax);
  // Every context the node hands out is one it accepts.
  auto decoded = decode_context(encode_context(set->context()));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(values("s", "k").size(), 3u);
}

TEST_F(ClusterNodeTest, AKeyWhoseClockNamesManyActorsStaysWritable) {
  // A clock that grew past the context cap by merges (300 actors, as hinted
  // handoff and repair can bring) must neither refuse puts because of its own
  // history nor hand out a context the node then rejects.
  ASSERT_TRUE(create("s", kSyncStore).ok());
  std::vector<SiblingSet::ActorEntry> entries;
  for (ActorId actor = 1000; actor < 1300; ++actor)
    entries.push_back({actor, 3, {}});
  entries.back().versions.push_back(Version{"old", false, 0});
  SiblingSet big;
  ASSERT_TRUE(SiblingSet::from_entries(entries, big));
  const StoreEntry* store = node_->find_store("s").value();
  WriteBatch batch;
  batch.push_back({Column::data, encode_data_key(store->id, "hot"), encode_record(big)});
  ASSERT_TRUE(engine_->write(batch, true).ok());

  auto blind = put("s", "hot", "blind");
  ASSERT_TRUE(blind.ok()) << blind.status().to_string();  // was: 503 "names 256 node identities"
  auto read = get("s", "hot");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(values("s", "hot"), (std::vector<std::string>{"blind", "old"}));
  const std::string token = encode_context(read->client_context());
  auto decoded = decode_context(token);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string() << " (" << token.size() << " bytes)";
  // The capped context still names both live versions, so writing back with
  // it resolves the conflict.
  ASSERT_TRUE(put("s", "hot", "merged", *decoded).ok());
  EXPECT_EQ(values("s", "hot"), (std::vector<std::string>{"merged"}));
}

// A data directory whose layout was written before the replica lists (format
// 1: one owner per partition) starts when every store keeps its replicas
// under the converted lists, and is refused with a clear message when a store
// would not (n above 3: the old walk chose other nodes past the third).
TEST_F(ClusterNodeTest, ALayoutOfFormatOneStartsOnlyWhenEveryStoreKeepsItsReplicas) {
  ASSERT_TRUE(create("three", StoreConfig{.n = 3, .r = 1, .w = 1}).ok());
  close();
  auto stored = engine_->get(Column::meta, kClusterStateKey);
  ASSERT_TRUE(stored.ok() && stored.value());
  const ClusterState state = decode_cluster_state(*stored.value()).value();
  // The same layout in format 1: the owners are the lists' first entries.
  const Layout& layout = state.layout;
  const std::string lists_format = encode_layout(layout);
  const size_t list_bytes = size_t{layout.partition_count()} * layout.width();  // < 128 nodes
  std::string owners_format = lists_format.substr(0, lists_format.size() - 1 - list_bytes);
  owners_format[0] = '\x01';
  for (uint32_t partition = 0; partition < layout.partition_count(); ++partition)
    owners_format.push_back(static_cast<char>(layout.list(partition)[0]));
  auto write_state = [&] {
    std::string bytes = encode_cluster_state(state);
    const size_t at = bytes.find(lists_format);
    ASSERT_NE(at, std::string::npos);
    ASSERT_LT(lists_format.size(), 128u);  // one length byte before it, in both
    ASSERT_LT(owners_format.size(), 128u);
    bytes.replace(at - 1, 1 + lists_format.size(),
                  std::string(1, static_cast<char>(owners_format.size())) + owners_format);
    WriteBatch batch;
    batch.push_back({Column::meta, std::string(kClusterStateKey), bytes});
    ASSERT_TRUE(engine_->write(batch, true).ok());
  };
  write_state();
  auto reopen = [&] {
    queue_ = std::make_unique<CommitQueue>(
        *engine_, [this](auto callback) { loop_.post(std::move(callback)); });
    ClusterNodeOptions options;
    options.self = {"n1", "127.0.0.1:1", "http://127.0.0.1:2", 1, ""};
    options.partition_bits = 4;
    return ClusterNode::open(
        *engine_, *queue_, nullptr, [this] { return ++clock_ms_; },
        [this] { return ++next_actor_; }, options);
  };
  {
    auto opened = reopen();
    ASSERT_TRUE(opened.ok()) << opened.status().to_string();  // n = 1 and 3 keep their replicas
  }
  // A store with n = 4, in a directory written by the older layout.
  {
    StoreCatalog catalog = StoreCatalog::load(*engine_).value();
    auto plan = catalog.plan_create("four", StoreConfig{.n = 4, .r = 1, .w = 1});
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    ASSERT_TRUE(engine_->write(plan->batch, true).ok());
  }
  write_state();
  auto refused = reopen();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("layout format 1"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("'four' has n = 4"), std::string::npos);
}

TEST_F(ClusterNodeTest, ANodeRemovedFromItsClusterReturnsWithItsOldDataOnlyAfterAShortStop) {
  close();
  auto stored = engine_->get(Column::meta, kClusterStateKey);
  ASSERT_TRUE(stored.ok() && stored.value());
  ClusterState state = decode_cluster_state(*stored.value()).value();
  for (Member& member : state.members)
    member.role = MemberRole::removed;  // an operator removed n1 while it was away
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kClusterStateKey), encode_cluster_state(state)});
  ASSERT_TRUE(engine_->write(batch, true).ok());
  queue_ = std::make_unique<CommitQueue>(
      *engine_, [this](auto callback) { loop_.post(std::move(callback)); });
  ClusterNodeOptions options;
  options.self = {"n1", "127.0.0.1:1", "http://127.0.0.1:2", 1, ""};
  options.partition_bits = 4;
  options.core.prune_delay_ms = 60'000;
  // Last alive a prune delay ago: the members may have collected deletes
  // without it since.
  options.last_alive_ms = clock_ms_ - 60'000;
  auto refused = ClusterNode::open(
      *engine_, *queue_, nullptr, [this] { return ++clock_ms_; }, [this] { return ++next_actor_; },
      options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("was removed from its cluster"), std::string::npos)
      << refused.status().message();
  EXPECT_NE(refused.status().message().find("move the directory away"), std::string::npos);
  // Never recorded alive: refused too.
  options.last_alive_ms = 0;
  EXPECT_FALSE(ClusterNode::open(
                   *engine_, *queue_, nullptr, [this] { return ++clock_ms_; },
                   [this] { return ++next_actor_; }, options)
                   .ok());
  // Alive a moment ago (a crash, a restart): it comes back, as a removed
  // member, to hand over what it holds; its members still ask it before
  // they collect anything.
  options.last_alive_ms = clock_ms_ - 1000;
  auto back = ClusterNode::open(
      *engine_, *queue_, nullptr, [this] { return ++clock_ms_; }, [this] { return ++next_actor_; },
      options);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(find_member((*back)->cluster_state(), "n1")->role, MemberRole::removed);
}

TEST_F(ClusterNodeTest, ARunningNodeRecordsItsTimeForItsNextStart) {
  // The record a removed node's restart is judged by (open()): written every
  // quarter of the prune delay while the node runs, durably.
  const uint64_t interval = NodeCoreOptions{}.prune_delay_ms / 4;
  node_->tick();  // the first record
  clock_ms_ += interval + 1000;
  node_->tick();  // due again
  const uint64_t recorded_at = clock_ms_;
  node_->tick();     // not due yet
  close();           // drains the queue
  engine_->crash();  // only what was synced survives
  auto clock = NodeClock::start(
      *engine_, [] { return uint64_t{0}; }, [] { return uint64_t{0}; });
  ASSERT_TRUE(clock.ok()) << clock.status().to_string();
  EXPECT_EQ(clock->previous_ms(), recorded_at);
  open();
}

TEST_F(ClusterNodeTest, CorruptRecordIsNeverOverwritten) {
  ASSERT_TRUE(create("s", kSyncStore).ok());
  ASSERT_TRUE(put("s", "k", "v").ok());
  const StoreId id = node_->catalog().find("s")->id;
  ASSERT_TRUE(engine_->write({{Column::data, encode_data_key(id, "k"), "garbage"}}, true).ok());
  EXPECT_EQ(put("s", "k", "new").status().code(), Code::corruption);
  EXPECT_EQ(*engine_->get(Column::data, encode_data_key(id, "k")).value(), "garbage");
}

TEST_F(ClusterNodeTest, ActorIsKeptAfterCleanStopAndReplacedAfterCrash) {
  const ActorId first = node_->identity().actor;
  EXPECT_TRUE(node_->identity().fresh_directory);
  close();
  ASSERT_TRUE(mark_clean_shutdown(*engine_).ok());
  open();
  EXPECT_EQ(node_->identity().actor, first);
  EXPECT_FALSE(node_->identity().new_actor);
  close();  // no clean mark: as after a crash
  open();
  EXPECT_NE(node_->identity().actor, first);
  EXPECT_TRUE(node_->identity().new_actor);
  EXPECT_FALSE(node_->identity().fresh_directory);
}

// The crash test. Random puts (blind and with contexts) to a few keys of a
// sync store and a periodic store; at a random point the power fails. Every
// put acknowledged in the sync store must survive, and in the periodic store
// every put acknowledged before the last completed sync.
TEST_F(ClusterNodeTest, CrashLosesNoAcknowledgedSyncWrite) {
  size_t total_checked = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 random(seed);
    ASSERT_TRUE(create("sync", kSyncStore).ok());
    ASSERT_TRUE(create("periodic", kPeriodicStore).ok());
    struct Acked {
      std::string store, key, value;
      std::vector<std::string> read;  // values its context covered (read before the put)
      bool synced = false;
    };
    std::vector<Acked> acked;
    // Every put issued, acknowledged or not: (store, key) -> [(value, values its context covered)].
    std::map<std::pair<std::string, std::string>,
             std::vector<std::pair<std::string, std::vector<std::string>>>>
        issued;
    int outstanding = 0;
    const int operations = 200;
    const int crash_after = static_cast<int>(random() % operations);
    for (int index = 0; index < operations; ++index) {
      const bool periodic = random() % 2 == 0;
      std::string store = periodic ? "periodic" : "sync";
      std::string key = fmt::format("k{}", random() % 5);
      std::string value = fmt::format("s{}-{}", seed, index);
      VersionVector seen;
      std::vector<std::string> read;
      if (random() % 3 == 0) {  // read-modify-write
        seen = get(store, key)->context();
        read = values(store, key);
      }
      ++outstanding;
      issued[{store, key}].push_back({value, read});
      node_->put(store, key, seen, Version{value, false, 0},
                 [&, store, key, value, read](PutReply reply) {
                   --outstanding;
                   if (reply.status.ok())
                     acked.push_back({store, key, value, read});
                 });
      if (random() % 10 == 0) {
        // A periodic sync: what was acknowledged before it is now promised.
        ASSERT_TRUE(loop_.run_until([&] { return outstanding == 0; }));
        const size_t acked_before = acked.size();
        bool synced = false;
        queue_->request_sync([&](Status status) {
          EXPECT_TRUE(status.ok());
          synced = true;
        });
        ASSERT_TRUE(loop_.run_until([&] { return synced; }));
        for (size_t at = 0; at < acked_before; ++at)
          acked[at].synced = true;
      }
      if (index == crash_after)
        break;
      if (random() % 4 == 0) {
        ASSERT_TRUE(loop_.run_until([&] { return outstanding == 0; }));
      }
    }
    // Run a random number of pending completions, then cut the power.
    const int target = outstanding - static_cast<int>(random() % (outstanding + 1));
    ASSERT_TRUE(loop_.run_until([&] { return outstanding <= target; }));
    engine_->crash();
    engine_->set_fail_writes(true);  // the dead machine writes nothing more
    close();
    engine_->set_fail_writes(false);
    open();
    auto promised = [](const Acked& write) { return write.store == "sync" || write.synced; };
    // A value is accounted for when it is present, or when a write that read
    // it (and so superseded it) is accounted for — acknowledged or not, since
    // an unacknowledged write may still have become durable before the crash.
    std::set<std::string> accounted;
    for (const auto& [store_key, writes] : issued) {
      const auto found = values(store_key.first, store_key.second);
      std::vector<std::string> frontier(found.begin(), found.end());
      while (!frontier.empty()) {
        const std::string value = frontier.back();
        frontier.pop_back();
        if (!accounted.insert(value).second)
          continue;
        for (const auto& [written, read] : writes) {
          if (written == value)
            frontier.insert(frontier.end(), read.begin(), read.end());
        }
      }
    }
    size_t checked = 0;
    for (const Acked& write : acked) {
      if (!promised(write))
        continue;
      ++checked;
      EXPECT_TRUE(accounted.count(write.value) == 1)
          << write.store << "/" << write.key << " lost acknowledged " << write.value;
    }
    total_checked += checked;
    // Start the next seed on a fresh disk.
    close();
    engine_ = std::make_unique<MemoryEngine>();
    open();
  }
  EXPECT_GT(total_checked, 100u);  // the test really checked acknowledged writes
}

TEST_F(ClusterNodeTest, PeriodicWritesAfterLastSyncAreLostOnCrash) {
  ASSERT_TRUE(create("p", kPeriodicStore).ok());
  ASSERT_TRUE(put("p", "k", "synced").ok());
  bool synced = false;
  queue_->request_sync([&](Status status) { synced = status.ok(); });
  ASSERT_TRUE(loop_.run_until([&] { return synced; }));
  ASSERT_TRUE(put("p", "k2", "acknowledged, not yet synced").ok());
  engine_->crash();
  close();
  open();
  EXPECT_EQ(values("p", "k"), (std::vector<std::string>{"synced"}));
  EXPECT_TRUE(values("p", "k2").empty());
}

}  // namespace
}  // namespace ringkv

#include "server/serve_config.h"

namespace ringkv {
namespace {

// Clock pruning drops an entry after two agreements --prune-delay-ms apart;
// what a request carries can be as old as its timeout plus a frame's age
// (half the delay) when it lands: a read repair gathered before the first
// agreement and sent after the second brought a superseded value back (the
// simulator found it with a delay of half the request timeout: seeds 600064
// and 600197 partitions). So the delay must exceed twice the timeout.
// Secure by default: an address other machines reach gets TLS, or the
// operator says --insecure; loopback needs neither.
TEST(ServeConfigTest, AnAddressOthersReachWithoutTlsIsRefusedUnlessInsecure) {
  ServeConfig config;
  config.node_id = "n1";
  EXPECT_TRUE(validate(config).ok()) << "127.0.0.1 by default";
  config.listen_http = "0.0.0.0:8080";
  config.listen_peer = "10.0.0.5:7070";
  const Status refused = validate(config);
  EXPECT_EQ(refused.code(), Code::invalid_argument);
  EXPECT_NE(refused.message().find("plain HTTP on 0.0.0.0:8080"), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("plain TCP on 10.0.0.5:7070"), std::string::npos);
  EXPECT_NE(refused.message().find("--insecure"), std::string::npos);
  config.tls_cert_file = "c.pem";
  config.tls_key_file = "k.pem";
  EXPECT_NE(validate(config).message().find("peers would speak plain TCP"), std::string::npos);
  config.peer_ca_file = "ca.crt";
  config.peer_cert_file = "n1.crt";
  config.peer_key_file = "n1.key";
  EXPECT_TRUE(validate(config).ok()) << validate(config).message();
  EXPECT_EQ(exposed_without_tls(config), "");
  ServeConfig plain;
  plain.node_id = "n1";
  plain.listen_http = "[::]:8080";
  plain.insecure = true;
  EXPECT_TRUE(validate(plain).ok()) << validate(plain).message();
  EXPECT_NE(exposed_without_tls(plain), "");
}

// A TOML value of the wrong type is an error naming the key, never a
// conversion: toml++'s value<T>() took `true` and `2.0` for an integer and 1
// for a boolean, and a float too large for an integer was undefined
// behaviour (found by fuzz/fuzz_serve_config.cpp).
TEST(ServeConfigTest, ATomlValueOfTheWrongTypeIsRefusedNotConverted) {
  for (const std::string text : {"capacity = true", "capacity = 2.0", "insecure = 1",
                                 "periodic_sync_interval_ms = 1e30", "auth = \"yes\""}) {
    ServeConfig config;
    const Status status = load_config_text(text, "node.toml", config);
    EXPECT_EQ(status.code(), Code::invalid_argument) << text;
    const std::string key = text.substr(0, text.find(' '));
    EXPECT_NE(status.message().find(key), std::string::npos) << status.message();
  }
  ServeConfig config;
  ASSERT_TRUE(load_config_text("capacity = 2\ninsecure = true\nauth = true\npeer_crl = \"x.crl\"",
                               "node.toml", config)
                  .ok());
  EXPECT_EQ(config.capacity, 2u);
  EXPECT_TRUE(config.insecure);
  EXPECT_TRUE(config.auth);
  EXPECT_EQ(config.peer_crl_file, "x.crl");
}

TEST(ServeConfigTest, APruneDelayNotOverTwiceTheRequestTimeoutIsRefused) {
  ServeConfig config;
  config.node_id = "n1";
  ASSERT_TRUE(validate(config).ok()) << validate(config).message();
  config.request_timeout_ms = 2000;
  config.prune_delay_ms = 4000;
  const Status refused = validate(config);
  EXPECT_EQ(refused.code(), Code::invalid_argument);
  EXPECT_NE(refused.message().find("--prune-delay-ms"), std::string::npos) << refused.message();
  EXPECT_NE(refused.message().find("--request-timeout-ms"), std::string::npos);
  config.prune_delay_ms = 4001;
  EXPECT_TRUE(validate(config).ok()) << validate(config).message();
}

}  // namespace
}  // namespace ringkv
