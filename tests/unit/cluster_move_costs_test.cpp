// Scripted tests of what a move costs the rest of the node: hot keys' clocks
// stay small through repeated moves and restarts, and the streaming throttle
// backs off while foreground writes slow down.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>

#include "rebalance_net.h"

namespace ringkv {
namespace {

using namespace testing_core;

// Four nodes and 128 partitions, so that each reweight moves (and drops)
// many partitions; an n = 1 store of hot keys.
class HotKeyMovesTest : public ::testing::Test {
 protected:
  HotKeyMovesTest() {
    const ClusterState start =
        state_of({member("a"), member("b"), member("c"), member("d")}, /*partition_bits=*/7);
    ActorId actor = 7;
    for (const char* id : {"a", "b", "c", "d"})
      net_.add(id, start, actor++).create("s", config(1, 1, 1));
    (void)net_.pump();
  }
  Net net_;
};

TEST_F(HotKeyMovesTest, HotKeysKeepSmallClocksThroughRepeatedMoves) {
  // Hot keys written (read-modify-write, through every node in turn) while
  // the layout changes six times: every drop used to take a new actor, so
  // each key's clock grew by an entry per partition its owner dropped.
  const std::vector<std::string> ids = {"a", "b", "c", "d"};
  std::map<std::string, VersionVector> contexts;
  uint64_t request = 100;
  auto write_all = [&](int round) {
    for (int index = 0; index < 8; ++index) {
      const std::string key = fmt::format("hot{}", index);
      Harness& via = net_.at(ids[(round + index) % ids.size()]);
      via.core().put(via.now_, ++request, "s", key, contexts[key],
                     value(fmt::format("r{}", round)));
      bool answered = false;
      for (const Effect& effect : net_.pump()) {
        if (const auto* reply = std::get_if<PutReply>(&effect)) {
          ASSERT_TRUE(reply->status.ok()) << key << ": " << reply->status.message();
          contexts[key] = reply->context;
          answered = true;
        }
      }
      ASSERT_TRUE(answered) << key;
    }
  };
  for (int round = 0; round < 6; ++round) {
    ClusterChange reweight;
    reweight.capacity.push_back({ids[round / 2], round % 2 == 0 ? 3u : 1u});
    ASSERT_TRUE(change(net_.at("b"), reweight).status.ok());
    for (int step = 0; step < 60; ++step) {  // move, flip, grace, drops; written throughout
      (void)net_.run(100);
      write_all(round);
    }
  }
  uint64_t dropped = 0;
  for (const std::string& id : ids)
    dropped += net_.at(id).core().stats().partitions_dropped;
  EXPECT_GE(dropped, 8u) << "the moves must drop partitions for this test to mean anything";
  for (const auto& [key, context] : contexts) {
    // At most one entry per node that coordinated the key.
    EXPECT_LE(context.size(), ids.size()) << key << " after " << dropped << " partitions dropped";
    for (const std::string& id : ids) {
      const StoreEntry* store = net_.at(id).core().catalog().find("s");
      auto bytes = net_.at(id).engine().get(Column::data, encode_data_key(store->id, key));
      if (bytes.ok() && bytes.value()) {
        const SiblingSet set = decode_record(*bytes.value()).value();
        EXPECT_LE(set.entries().size(), ids.size()) << key << " on " << id;
        EXPECT_EQ(set.sibling_count(), 1u) << key << " on " << id;  // each write saw the last
      }
    }
  }
}

// The target for bounded clocks: 20 layout changes, 20 unclean
// restarts (each a new actor) and over 100,000 writes on hot keys of an
// n = 1 and an n = 3 store. Once the writes stop, clock pruning leaves each
// key's clock with the actors of its live versions only.
TEST(HotKeyClocks, TwentyChangesAndTwentyUncleanRestartsLeaveOnlyLiveActors) {
  NodeCoreOptions options = rebalance_options();
  options.tombstone_sweep_interval_ms = 20;  // collection on: the counter floor
  options.prune_delay_ms = 1000;
  const std::vector<std::string> ids = {"a", "b", "c", "d"};
  const ClusterState start =
      state_of({member("a"), member("b"), member("c"), member("d")}, /*partition_bits=*/5);
  Net net;
  ActorId actor = 7;
  for (const std::string& id : ids) {
    Harness& node = net.add(id, start, actor++, options);
    node.create("one", config(1, 1, 1));
    node.create("three", config(3, 2, 2));
  }
  (void)net.pump();
  std::map<std::string, VersionVector> contexts;  // "store/key"
  uint64_t request = 100, writes = 0;
  size_t clock_max = 0;
  auto write_all = [&](uint64_t turn) {
    for (const char* store : {"one", "three"}) {
      for (int index = 0; index < 8; ++index) {
        const std::string key = fmt::format("hot{}", index);
        VersionVector& context = contexts[std::string(store) + "/" + key];
        Harness& via = net.at(ids[(turn + index) % ids.size()]);
        via.core().put(via.now_, ++request, store, key, context, value(fmt::format("w{}", turn)));
        bool answered = false;
        for (const Effect& effect : net.pump()) {
          if (const auto* reply = std::get_if<PutReply>(&effect)) {
            ASSERT_TRUE(reply->status.ok())
                << store << "/" << key << ": " << reply->status.message();
            context = reply->context;
            clock_max = std::max(clock_max, context.size());
            answered = true;
          }
        }
        ASSERT_TRUE(answered) << store << "/" << key;
        ++writes;
      }
    }
  };
  uint64_t turn = 0;
  for (int round = 0; round < 20; ++round) {
    ClusterChange reweight;
    reweight.capacity.push_back({ids[round % ids.size()], round % 2 == 0 ? 3u : 1u});
    ASSERT_TRUE(change(net.at("b"), reweight).status.ok()) << "round " << round;
    net.at(ids[(round + 1) % ids.size()]).restart_as(1000 + round);  // unclean: a new epoch
    for (int step = 0; step < 60; ++step) {
      (void)net.run(100);
      for (int again = 0; again < 7; ++again)
        write_all(++turn);
      if (::testing::Test::HasFatalFailure())
        return;
    }
  }
  ASSERT_GE(writes, 100'000u);
  (void)net.run(60'000);  // quiet: the moves end, the sweeps prune
  size_t final_max = 0;
  for (const auto& [name, context] : contexts) {
    const std::string store = name.substr(0, name.find('/'));
    const std::string key = name.substr(name.find('/') + 1);
    for (const std::string& id : ids) {
      const StoreEntry* entry = net.at(id).core().catalog().find(store);
      auto bytes = net.at(id).engine().get(Column::data, encode_data_key(entry->id, key));
      if (!bytes.ok() || !bytes.value())
        continue;
      const SiblingSet set = decode_record(*bytes.value()).value();
      EXPECT_EQ(set.sibling_count(), 1u) << name << " on " << id;  // each write saw the last
      EXPECT_EQ(set.entries().size(), 1u) << name << " on " << id << ": only the live actor";
      final_max = std::max(final_max, set.entries().size());
    }
  }
  uint64_t pruned = 0;
  for (const std::string& id : ids)
    pruned += net.at(id).core().stats().clock_entries_pruned;
  std::printf(
      "%lu writes, 20 changes, 20 unclean restarts: largest context during the run %zu "
      "entries, every record at the end %zu entry (%lu entries pruned)\n",
      static_cast<unsigned long>(writes), clock_max, final_max, static_cast<unsigned long>(pruned));
  // Bound during the run: the four nodes plus the epochs not yet pruned.
  EXPECT_LE(clock_max, ids.size() + 20);
}

// A move big enough to watch the throttle for seconds: c joins a and b,
// which hold 15,000 keys of 2,000 bytes (n = 1); c streams 4,000-byte chunks
// under a 3 MB/s ceiling (1.33 ms per chunk, far below the 50 ms tick, and
// not a whole number of ms).
class StreamingThrottleTest : public ::testing::Test {
 protected:
  StreamingThrottleTest() {
    options_.transfer_chunk_bytes = 4000;
    options_.transfer_bytes_per_sec = 3'000'000;
    const ClusterState start =
        state_of({member("a"), member("b"), member("c", MemberRole::standby)});
    for (const auto& [id, actor] : {std::pair{"a", 7}, {"b", 8}, {"c", 9}})
      net_.add(id, start, actor, options_).create("s", config(1, 1, 1));
    (void)net_.pump();
    const PreferenceTable table = PreferenceTable::build(start.layout, 1);
    for (int index = 0; index < 15000; ++index) {
      const std::string key = fmt::format("bulk{}", index);
      SiblingSet set;
      set.put(VersionVector(), 7, value(std::string(2000, 'x')));
      net_.at(start.layout.nodes()[table.nodes_for_key(key)[0]].id).store_record("s", key, set);
    }
  }

  // c's streaming rate now (bytes/s, the throttle's).
  uint64_t rate() { return c().core().rebalance_view(c().now_).rate_bytes_per_sec; }
  Harness& c() { return net_.at("c"); }
  // Starts the move and runs until c has merged its first chunk.
  void start_move() {
    ASSERT_TRUE(change(net_.at("a"), add("c")).status.ok());
    for (int step = 0; step < 100 && c().core().stats().transfer_chunks == 0; ++step)
      (void)net_.run(50);
    ASSERT_GT(c().core().stats().transfer_chunks, 0u) << "streaming never started";
  }
  // A client's write replicated to c, then 50 ms pass: it completes at once
  // (quick) or only after those 50 ms (slow).
  void foreground_write(bool quick) {
    SiblingSet set;
    set.put(VersionVector(), 8, value("fg"));
    c().core().receive(c().now_, "b",
                       ReplicaWrite{++op_, {"s", config(1, 1, 1)}, "fg", set, {}, false});
    if (quick)
      (void)net_.pump();
    (void)net_.run(50);
  }

  NodeCoreOptions options_ = rebalance_options();
  Net net_;
  uint64_t op_ = 1000;
};

// With no client load a receiver streams at its throttle's ceiling, not at
// what the node's tick lets through: it waited for the next rebalance tick
// (100 ms) whenever a chunk's share of the rate was not yet spent, so four
// chunks per tick went through whatever the ceiling (25 MB/s on a 1 GiB
// move with a 64 MiB/s ceiling).
TEST_F(StreamingThrottleTest, AnIdleReceiverStreamsAtTheThrottleCeiling) {
  start_move();
  const uint64_t before = c().core().stats().transfer_bytes;
  (void)net_.run(1000);
  ASSERT_NE(c().core().target(), nullptr) << "the move ended too soon to measure";
  const double rate = (c().core().stats().transfer_bytes - before) / 1.0;
  EXPECT_GE(rate, 0.8 * options_.transfer_bytes_per_sec) << "bytes per second streamed";
  EXPECT_LE(rate, 1.2 * options_.transfer_bytes_per_sec) << "bytes per second streamed";
}

// The streaming throttle yields to clients: while the receiver's foreground
// writes take longer than before the move, it halves its rate (down to a
// floor, so the move still ends); once they are quick again, it climbs back
// to the configured ceiling.
TEST_F(StreamingThrottleTest, TheThrottleBacksOffWhileForegroundWritesAreSlowThenRecovers) {
  const uint64_t ceiling = options_.transfer_bytes_per_sec;
  start_move();
  for (int step = 0; step < 10; ++step)
    foreground_write(/*quick=*/true);
  ASSERT_NE(c().core().target(), nullptr) << "the move ended too soon to test";
  EXPECT_EQ(rate(), ceiling) << "quick foreground writes: full rate";
  EXPECT_EQ(c().core().stats().transfer_backoffs, 0u);
  uint64_t lowest = ceiling;
  for (int step = 0; step < 60; ++step) {
    foreground_write(/*quick=*/false);
    lowest = std::min(lowest, rate());
  }
  EXPECT_GT(c().core().stats().transfer_backoffs, 0u);
  EXPECT_LE(lowest, ceiling / 4) << "slow foreground writes: the rate backs off";
  EXPECT_GE(lowest, ceiling / 64) << "never below the floor";
  ASSERT_NE(c().core().target(), nullptr) << "the move ended too soon to test";
  uint64_t recovered = 0;
  for (int step = 0; step < 400 && recovered < ceiling && c().core().target() != nullptr; ++step) {
    foreground_write(/*quick=*/true);
    recovered = rate();
  }
  EXPECT_EQ(recovered, ceiling) << "quick again: back to the ceiling";
  (void)net_.run(60000);
  EXPECT_EQ(c().core().target(), nullptr) << "the move ends";
}

// After a back-off the rate climbs back gradually while clients keep
// writing (by 1/16 of the ceiling per 100 ms), not at once: it climbed by an
// eighth of the ceiling per chunk, so a few quick chunks after a back-off
// it streamed at the ceiling again and the clients' latency with it.
TEST_F(StreamingThrottleTest, AfterABackOffTheRateClimbsBackGraduallyUnderLoad) {
  start_move();
  for (int step = 0; step < 10; ++step)
    foreground_write(/*quick=*/true);
  for (int step = 0; step < 40; ++step)
    foreground_write(/*quick=*/false);
  const uint64_t backed_off = rate();
  ASSERT_LE(backed_off, options_.transfer_bytes_per_sec / 4) << "slow writes: backed off";
  // Quick writes again: once their mean is back to the quiet level (it lags
  // the slow ones by a few seconds at one write per 50 ms), the rate climbs.
  for (int step = 0; step < 200 && rate() <= backed_off; ++step)
    foreground_write(/*quick=*/true);
  const uint64_t climbing = rate();
  ASSERT_GT(climbing, backed_off) << "quick writes again: the rate never climbed";
  for (int step = 0; step < 20; ++step)
    foreground_write(/*quick=*/true);
  ASSERT_NE(c().core().target(), nullptr) << "the move ended too soon to measure";
  EXPECT_LE(rate(), climbing + options_.transfer_bytes_per_sec * 11 / 16)
      << "a second later: at most 10/16 of the ceiling more";
}

}  // namespace
}  // namespace ringkv
