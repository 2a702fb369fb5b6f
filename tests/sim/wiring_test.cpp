// The simulator runs the production node (server/cluster_node.h): faults
// injected into its simulated world reach the code paths `ringkv serve`
// runs. A malformed peer frame is refused by the node's own decoder; a full
// write queue refuses with the production queue's rules and fences nothing;
// a wall clock stepped back is absorbed by the NodeClock at the next start.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>

#include "sim/sim_cluster.h"
#include "sim_helpers.h"

namespace ringkv::sim {
namespace {

StoreConfig strict_store() {
  StoreConfig config;
  config.n = 3;
  config.r = 2;
  config.w = 2;
  return config;
}

// A cluster of three nodes, every one a replica of every key of a store with n = 3.
SimOptions three_nodes(uint64_t seed) {
  SimOptions options;
  options.seed = seed;
  options.node_count = 3;
  return options;
}

Status put_and_wait(SimCluster& cluster, const NodeId& via, const std::string& key,
                    const std::string& value) {
  std::optional<Status> answer;
  Version version;
  version.value = value;
  cluster.put(via, "s", key, {}, version,
              [&answer](const PutReply& reply) { answer = reply.status; });
  cluster.run_until(cluster.now() + 5000);
  return answer.value_or(Status(Code::internal, "no answer"));
}

TEST(Wiring, AMalformedFrameReachesTheNodesDecoderAndIsDropped) {
  SimOptions options = three_nodes(21);
  SimCluster cluster(options);
  create(cluster, "s", strict_store());
  // Bytes no peer encoder produces: the node's receive_frame refuses them
  // and counts them, as it does for a frame off a TCP connection.
  cluster.send_payload("n1", "n2", std::string("\xff\xfe not a peer message", 22));
  cluster.send_payload("n3", "n2", std::string());
  cluster.run_until(cluster.now() + 1000);
  EXPECT_EQ(cluster.frames_undecodable("n2"), 2u);
  EXPECT_EQ(cluster.frames_undecodable("n1"), 0u);
  EXPECT_EQ(cluster.stats().frames_refused, 2u);
  // ... and goes on serving.
  EXPECT_TRUE(put_and_wait(cluster, "n2", "k", "v").ok());
}

TEST(Wiring, AFullWriteQueueRefusesWithTheProductionRulesAndFencesNothing) {
  SimOptions options = three_nodes(22);
  // Room for two batches, and slow disks: a burst overflows every queue.
  options.write_queue.queued_max = 2;
  options.disk_latency_min_ms = 20;
  options.disk_latency_max_ms = 40;
  SimCluster cluster(options);
  create(cluster, "s", strict_store());
  int answered = 0;
  int acknowledged = 0;
  // One put every 4 ms, round robin: more than the disks take.
  const uint64_t start = cluster.now();
  for (int index = 0; index < 60; ++index) {
    cluster.at(start + 4 * uint64_t(index), [&cluster, &answered, &acknowledged, index] {
      Version version;
      version.value = fmt::format("v{}", index);
      cluster.put(cluster.node_ids()[index % 3], "s", fmt::format("k{}", index), {}, version,
                  [&](const PutReply& reply) {
                    ++answered;
                    acknowledged += reply.status.ok() ? 1 : 0;
                  });
    });
  }
  cluster.run_until(cluster.now() + 10'000);
  EXPECT_EQ(answered, 60);
  // The queues refused (CommitGroups::admit: overloaded) ...
  EXPECT_GT(cluster.stats().writes_refused, 0u);
  // ... which is load shedding, not a storage failure: no node fenced, some
  // puts got through, and each node stops cleanly (nothing fenced, no write
  // left waiting for room), keeping its actor.
  EXPECT_GT(acknowledged, 0);
  EXPECT_LT(acknowledged, 60);
  for (const NodeId& id : cluster.node_ids()) {
    EXPECT_TRUE(cluster.is_up(id));
    EXPECT_FALSE(cluster.is_fenced(id)) << id;
  }
  const uint64_t crashes = cluster.stats().crashes;
  cluster.stop_clean("n3");
  EXPECT_EQ(cluster.stats().clean_stops, 1u);
  EXPECT_EQ(cluster.stats().crashes, crashes);
  cluster.restart("n3");
  EXPECT_TRUE(put_and_wait(cluster, "n1", "after", "v").ok());
}

TEST(Wiring, ANearlyFullDiskRefusesWritesWithoutAFenceAndTheNodeCatchesUpWhenSpaceIsBack) {
  // The nemesis filled a real node's disk: RocksDB would fail the write and
  // fence the node until restart, so the queue refuses first
  // (CommitQueue's space guard, as SimWriteQueue applies it here).
  SimOptions options = three_nodes(24);
  SimCluster cluster(options);
  create(cluster, "s", strict_store());
  cluster.set_disk_nearly_full("n1", true);
  // n1 coordinates: its own copy is refused and retried, n2 and n3 make w.
  EXPECT_TRUE(put_and_wait(cluster, "n1", "k", "v1").ok());
  EXPECT_TRUE(put_and_wait(cluster, "n2", "k2", "v2").ok());
  EXPECT_GT(cluster.stats().writes_refused, 0u);
  EXPECT_FALSE(cluster.is_fenced("n1"));
  EXPECT_TRUE(cluster.local_copy("n1", "s", "k").empty());
  cluster.set_disk_nearly_full("n1", false);
  // Space is back: the refused copies arrive (the coordinator's retry at
  // once, the replica's at anti-entropy's sweep over the 64 partitions),
  // and nothing was fenced.
  cluster.run_until(cluster.now() + 1000);
  EXPECT_FALSE(cluster.local_copy("n1", "s", "k").empty());
  cluster.run_until(cluster.now() + 90'000);
  EXPECT_FALSE(cluster.local_copy("n1", "s", "k").empty());
  EXPECT_FALSE(cluster.local_copy("n1", "s", "k2").empty());
  EXPECT_FALSE(cluster.is_fenced("n1"));
  EXPECT_TRUE(put_and_wait(cluster, "n1", "k3", "v3").ok());
}

TEST(Wiring, AWallClockSteppedBackDoesNotLowerTheNextStartsGeneration) {
  SimOptions options = three_nodes(23);
  SimCluster cluster(options);
  create(cluster, "s", strict_store());
  cluster.run_until(cluster.now() + 5000);
  // An hour back, then a clean restart: the NodeClock starts above what the
  // last run recorded, so the members take the new heartbeats at once and
  // never hold n2 for down. (Started at the stepped wall clock, its
  // generation would be below the last one: its heartbeats are ignored
  // and the members suspect it for seconds.)
  cluster.step_wall_clock("n2", -3600 * 1000);
  cluster.stop_clean("n2");
  cluster.restart("n2");
  ASSERT_TRUE(cluster.is_up("n2"));
  int suspected = 0;
  for (int step = 0; step < 100; ++step) {
    cluster.run_until(cluster.now() + 100);
    suspected += cluster.believes_down("n1", "n2") || cluster.believes_down("n3", "n2") ? 1 : 0;
  }
  EXPECT_EQ(suspected, 0);
  EXPECT_TRUE(put_and_wait(cluster, "n2", "k", "v").ok());
}

}  // namespace
}  // namespace ringkv::sim
