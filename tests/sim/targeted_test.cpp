// Targeted simulations of the self-healing mechanisms, each alone: hinted
// handoff with anti-entropy off, anti-entropy with hints off, and the
// failure detector's detection time and false suspicions. Each prints the
// figures docs/BENCHMARKS.md reports (simulated time, so they are exact for
// a seed and independent of the machine).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <optional>

#include "sim/sim_cluster.h"
#include "sim_helpers.h"

namespace ringkv::sim {
namespace {

StoreConfig sloppy(uint32_t n, uint32_t r, uint32_t w) {
  StoreConfig config;
  config.n = n;
  config.r = r;
  config.w = w;
  config.quorum = QuorumMode::sloppy;
  return config;
}

struct Acked {
  std::string key;
  Dot dot;
};

// Puts key0..key{count-1} through nodes other than `avoid`, waits for every
// answer, and returns the acknowledged ones.
std::vector<Acked> write_keys(SimCluster& cluster, const std::string& store, int count,
                              const NodeId& avoid) {
  std::vector<NodeId> through;
  for (const NodeId& id : cluster.node_ids()) {
    if (id != avoid)
      through.push_back(id);
  }
  std::vector<Acked> acked;
  int answered = 0;
  for (int index = 0; index < count; ++index) {
    const std::string key = fmt::format("key{}", index);
    Version version;
    version.value = fmt::format("value{}", index);
    cluster.put(through[index % through.size()], store, key, {}, version,
                [&acked, &answered, key](const PutReply& reply) {
                  ++answered;
                  if (reply.status.ok())
                    acked.push_back({key, reply.dot});
                });
  }
  cluster.run_until(cluster.now() + 5000);
  EXPECT_EQ(answered, count);
  return acked;
}

TEST(Targeted, HandoffDeliversEveryHintOnceTheReplicaReturns) {
  SimOptions options;
  options.seed = 7;
  options.anti_entropy_interval_ms = 0;  // handoff alone
  SimCluster cluster(options);
  create(cluster, "s", sloppy(3, 2, 2));
  cluster.crash("n2");
  cluster.run_until(cluster.now() + 6000);  // everyone suspects n2
  const std::vector<Acked> acked = write_keys(cluster, "s", 300, "n2");
  EXPECT_EQ(acked.size(), 300u) << "a sloppy store must stay writable with one node down";
  const uint64_t held = cluster.hints_pending();
  EXPECT_GT(held, 0u);
  const uint64_t restarted_at = cluster.now();
  cluster.restart("n2");
  uint64_t delivered_at = 0;
  while (cluster.now() < restarted_at + 60'000 && delivered_at == 0) {
    cluster.run_until(cluster.now() + 100);
    if (cluster.hints_pending() == 0)
      delivered_at = cluster.now();
  }
  ASSERT_NE(delivered_at, 0u) << cluster.hints_pending() << " hints never handed off";
  size_t owned = 0;
  size_t home = 0;
  for (const Acked& put : acked) {
    const auto replicas = cluster.replicas("s", put.key);
    if (std::find(replicas.begin(), replicas.end(), "n2") == replicas.end())
      continue;
    ++owned;
    const bool arrived = cluster.replica_copy("n2", "s", put.key).context().covers(put.dot);
    home += arrived ? 1 : 0;
    EXPECT_TRUE(arrived) << put.key << " did not reach n2";
  }
  EXPECT_GT(owned, 0u);
  std::printf(
      "handoff: %zu acknowledged writes for n2 while it was down, %lu hints held by stand-ins, "
      "all delivered %.1f s (simulated) after n2 restarted; n2 holds %zu of %zu\n",
      owned, held, double(delivered_at - restarted_at) / 1000, home, owned);
}

TEST(Targeted, AntiEntropyAloneRepairsEveryDivergentKey) {
  SimOptions options;
  options.seed = 8;
  options.hints_bytes_max = 0;  // stand-ins refuse hints: only anti-entropy can repair
  options.anti_entropy_interval_ms = 100;
  SimCluster cluster(options);
  create(cluster, "s", sloppy(3, 1, 2));
  // n2 is cut off; writes reach the other replicas only.
  for (const NodeId& other : cluster.node_ids()) {
    if (other != "n2") {
      cluster.block("n2", other);
      cluster.block(other, "n2");
    }
  }
  cluster.run_until(cluster.now() + 6000);
  const std::vector<Acked> acked = write_keys(cluster, "s", 300, "n2");
  ASSERT_GT(acked.size(), 0u);
  cluster.heal_network();
  const SimCluster::Stats before = cluster.stats();
  auto divergent_keys = [&] {
    size_t out = 0;
    for (const Acked& put : acked) {
      SiblingSet all;
      const auto replicas = cluster.replicas("s", put.key);
      for (const NodeId& replica : replicas)
        all.merge(cluster.replica_copy(replica, "s", put.key));
      for (const NodeId& replica : replicas) {
        if (!(cluster.replica_copy(replica, "s", put.key) == all)) {
          ++out;
          break;
        }
      }
    }
    return out;
  };
  const size_t divergent = divergent_keys();
  EXPECT_GT(divergent, 0u);
  const uint64_t healed_at = cluster.now();
  uint64_t converged_at = 0;
  while (cluster.now() < healed_at + 120'000 && converged_at == 0) {
    cluster.run_until(cluster.now() + 500);
    if (divergent_keys() == 0)
      converged_at = cluster.now();
  }
  ASSERT_NE(converged_at, 0u) << divergent_keys() << " keys still differ after 120 s";
  for (const Acked& put : acked) {
    for (const NodeId& replica : cluster.replicas("s", put.key))
      EXPECT_TRUE(cluster.replica_copy(replica, "s", put.key).context().covers(put.dot));
  }
  const SimCluster::Stats after = cluster.stats();
  EXPECT_EQ(after.hints_stored, 0u);
  const uint64_t repaired = after.ae_keys_repaired - before.ae_keys_repaired;
  const uint64_t bytes = after.ae_bytes_sent - before.ae_bytes_sent;
  EXPECT_GE(repaired, divergent);
  std::printf(
      "anti-entropy alone: %zu of %zu keys divergent after healing, all repaired %.1f s "
      "(simulated) later; %lu keys repaired, %lu keys and %lu bytes sent (%.0f bytes per "
      "repaired key)\n",
      divergent, acked.size(), double(converged_at - healed_at) / 1000, repaired,
      after.ae_keys_sent - before.ae_keys_sent, bytes, double(bytes) / double(repaired));
}

TEST(Targeted, AfterA30SecondPartitionEveryReplicaConvergesWithoutReads) {
  SimOptions options;
  options.seed = 10;  // default settings: hints on, one anti-entropy round per second per node
  SimCluster cluster(options);
  create(cluster, "s", sloppy(3, 2, 2));
  const std::vector<NodeId> left = {"n1", "n2"};
  const std::vector<NodeId> right = {"n3", "n4", "n5"};
  for (const NodeId& a : left) {
    for (const NodeId& b : right) {
      cluster.block(a, b);
      cluster.block(b, a);
    }
  }
  const uint64_t cut_at = cluster.now();
  cluster.run_until(cut_at + 6000);
  // Both sides keep taking writes (sloppy), some to the same keys.
  std::vector<Acked> acked = write_keys(cluster, "s", 200, "");
  cluster.run_until(cut_at + 30'000);
  cluster.heal_network();
  const uint64_t healed_at = cluster.now();
  auto converged = [&] {
    if (cluster.hints_pending() != 0)
      return false;
    for (const Acked& put : acked) {
      SiblingSet all;
      for (const NodeId& id : cluster.node_ids())
        all.merge(cluster.local_copy(id, "s", put.key));
      for (const NodeId& replica : cluster.replicas("s", put.key)) {
        if (!(cluster.replica_copy(replica, "s", put.key) == all))
          return false;
      }
    }
    return true;
  };
  uint64_t converged_at = 0;
  while (converged_at == 0 && cluster.now() < healed_at + 300'000) {
    cluster.run_until(cluster.now() + 250);
    if (converged())
      converged_at = cluster.now();
  }
  ASSERT_NE(converged_at, 0u) << "not converged 300 s after healing";
  for (const Acked& put : acked) {
    for (const NodeId& replica : cluster.replicas("s", put.key))
      EXPECT_TRUE(cluster.replica_copy(replica, "s", put.key).context().covers(put.dot));
  }
  const SimCluster::Stats stats = cluster.stats();
  std::printf(
      "30 s partition (n1 n2 | n3 n4 n5), %zu writes acknowledged on both sides: every replica "
      "converged %.2f s (simulated) after healing, without reads (%lu hints delivered, %lu "
      "anti-entropy repairs)\n",
      acked.size(), double(converged_at - healed_at) / 1000, stats.hints_delivered,
      stats.ae_keys_repaired);
}

TEST(Targeted, FailureDetectorDetectsACrashInSecondsAndDoesNotCryWolf) {
  SimOptions options;
  options.seed = 9;  // the default network: 1-10 ms of delay, reordering
  SimCluster cluster(options);
  cluster.run_until(60'000);
  const uint64_t false_suspicions = cluster.stats().suspicions;
  EXPECT_EQ(false_suspicions, 0u) << "false suspicions on a healthy network";
  const uint64_t crashed_at = cluster.now();
  cluster.crash("n3");
  std::map<NodeId, uint64_t> detected;
  while (detected.size() < 4 && cluster.now() < crashed_at + 30'000) {
    cluster.run_until(cluster.now() + 10);
    for (const NodeId& observer : cluster.node_ids()) {
      if (observer != "n3" && detected.count(observer) == 0 &&
          cluster.believes_down(observer, "n3"))
        detected[observer] = cluster.now() - crashed_at;
    }
  }
  ASSERT_EQ(detected.size(), 4u) << "not every node suspected the crashed n3 within 30 s";
  uint64_t total = 0;
  uint64_t slowest = 0;
  for (const auto& [observer, after] : detected) {
    total += after;
    slowest = std::max(slowest, after);
    EXPECT_LT(after, 10'000u) << observer;
  }
  // A lossy, jittery network for a minute: count the false suspicions.
  SimOptions lossy = options;
  lossy.network = NetworkFaults{1, 40, 10, 0};
  SimCluster noisy(lossy);
  noisy.run_until(60'000);
  std::printf(
      "failure detector: crash detected after %.2f s on average, %.2f s at the slowest (4 "
      "observers); false suspicions in 60 s: %lu on a 1-10 ms network, %lu with 10%% loss and "
      "1-40 ms delay (5 nodes)\n",
      double(total) / 4000, double(slowest) / 1000, false_suspicions, noisy.stats().suspicions);
}

}  // namespace
}  // namespace ringkv::sim

namespace ringkv::sim {
namespace {

TEST(Targeted, ANodeBackWithAnEmptyDiskServesNoReadsUntilItIsRefilled) {
  // Every key is on all three replicas (w = 3), then one replica comes back
  // with an empty disk. With r = 1 a read answered by it alone would be a
  // 404 for an acknowledged key; while it recovers it must refuse reads,
  // and it must end up holding every key again.
  SimOptions options;
  options.seed = 11;
  options.node_count = 3;
  options.anti_entropy_interval_ms = 0;  // the refill is the recovery's alone
  SimCluster cluster(options);
  StoreConfig config = sloppy(3, 1, 3);
  config.quorum = QuorumMode::strict;
  create(cluster, "s", config);
  const std::vector<Acked> acked = write_keys(cluster, "s", 200, "");
  ASSERT_EQ(acked.size(), 200u);
  cluster.restart_empty("n2");
  cluster.run_until(cluster.now() + 300);  // joined again; recovering
  const NodeCore::RecoveryView started = cluster.recovery("n2");
  EXPECT_TRUE(started.recovering) << "a node that lost its data must not serve reads";
  int found = 0, answered = 0;
  for (const Acked& key : acked) {
    cluster.get("n2", "s", key.key, [&](const GetReply& reply) {
      ++answered;
      found += reply.status.ok() && reply.set.sibling_count() > 0 ? 1 : 0;
    });
  }
  cluster.run_until(cluster.now() + 5000);
  EXPECT_EQ(answered, 200);
  EXPECT_EQ(found, 200) << "reads through the recovering node lost acknowledged keys";
  // Recovery finishes and the node holds every key again.
  for (int step = 0; step < 120 && cluster.recovery("n2").recovering; ++step)
    cluster.run_until(cluster.now() + 500);
  const NodeCore::RecoveryView done = cluster.recovery("n2");
  EXPECT_FALSE(done.recovering);
  int held = 0;
  for (const Acked& key : acked)
    held += cluster.replica_copy("n2", "s", key.key).sibling_count() > 0 ? 1 : 0;
  EXPECT_EQ(held, 200);
  std::printf(
      "recovery of an empty node: %lu partitions, %d of 200 keys refilled, done by %lu ms\n",
      static_cast<unsigned long>(done.partitions_total), held,
      static_cast<unsigned long>(cluster.now()));
}

}  // namespace
}  // namespace ringkv::sim

namespace ringkv::sim {
namespace {

TEST(Targeted, ARecoveringNodeComparesWithNMinusWPlusOneReplicasOfAStrictStore) {
  // Every key is on n1 and n2 only (w = 2, n3 was down). n2 comes back with
  // an empty disk while n1 is down: agreeing with n3 alone, which holds
  // nothing, must not end its recovery, or reads of n2 and n3 (r = 2) find
  // acknowledged keys missing.
  SimOptions options;
  options.seed = 12;
  options.node_count = 3;
  options.anti_entropy_interval_ms = 0;  // the refill is the recovery's alone
  SimCluster cluster(options);
  StoreConfig config = sloppy(3, 2, 2);
  config.quorum = QuorumMode::strict;
  create(cluster, "s", config);
  cluster.crash("n3");
  const std::vector<Acked> acked = write_keys(cluster, "s", 100, "n3");
  ASSERT_EQ(acked.size(), 100u);
  cluster.restart("n3");
  cluster.crash("n1");
  cluster.restart_empty("n2");
  cluster.run_until(cluster.now() + 30'000);
  EXPECT_TRUE(cluster.recovery("n2").recovering)
      << "recovered from one replica of three (n - w + 1 = 2) that held none of the keys";
  cluster.restart("n1");
  for (int step = 0; step < 120 && cluster.recovery("n2").recovering; ++step)
    cluster.run_until(cluster.now() + 500);
  EXPECT_FALSE(cluster.recovery("n2").recovering);
  int held = 0;
  for (const Acked& key : acked)
    held += cluster.replica_copy("n2", "s", key.key).sibling_count() > 0 ? 1 : 0;
  EXPECT_EQ(held, 100);
}

}  // namespace
}  // namespace ringkv::sim
