// Integration tests of a replicated cluster: real `ringkv serve` processes on
// loopback, joined through the first, with kill -9 and restart, and the
// `ringkv dev` launcher.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <thread>

#include "client/kv_client.h"
#include "cluster_fixture.h"
#include "serve_process.h"
#include "version/context.h"

namespace ringkv {
namespace {

using namespace testing;  // ClusterTest, ServeProcess and the helpers

class FourNodeClusterTest : public ClusterTest {
 protected:
  FourNodeClusterTest() { node_count_ = 4; }
};

// Five nodes with a small ring and fast anti-entropy, so that a whole sweep of
// every partition takes about a second.
class FiveNodeClusterTest : public ClusterTest {
 protected:
  FiveNodeClusterTest() {
    node_count_ = 5;
    extra_arguments_ = {"--partitions", "32", "--anti-entropy-interval-ms", "20"};
  }
  // partition -> the roots reported by the nodes that replicate it.
  std::map<int64_t, std::vector<std::string>> merkle_roots(const std::string& store) {
    std::map<int64_t, std::vector<std::string>> out;
    for (auto& node : nodes_) {
      auto response =
          client_for(*node).send({"GET", fmt::format("/v1/stores/{}/merkle", store), {}, {}});
      if (!response.ok() || response->status != 200)
        return {};
      boost::system::error_code error;
      auto parsed = boost::json::parse(response->body, error);
      if (error)
        return {};
      for (const auto& entry : parsed.at("partitions").as_array()) {
        out[entry.at("partition").as_int64()].push_back(std::string(entry.at("root").as_string()));
      }
    }
    return out;
  }
};

TEST_F(ClusterTest, EveryNodeKnowsEveryMember) {
  for (auto& node : nodes_) {
    for (const char* id : {"n1", "n2", "n3"})
      EXPECT_FALSE(peer_address_seen(*node, id).empty()) << node->output();
  }
}

TEST_F(ClusterTest, WriteWithW2SurvivesKill9AndTheRestartedNodeReadsIt) {
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("s", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  nodes_[2]->kill9();
  // Two of three replicas are enough for w = 2.
  auto put = first.put("s", "k", "survives");
  ASSERT_TRUE(put.ok()) << put.status().to_string();
  // n3 comes back (on new ports); once n1 knows its new address, n3 can
  // coordinate a read: r = 2 merges n3's (empty) copy with a live one.
  nodes_[2] = std::make_unique<ServeProcess>(arguments(3));
  ASSERT_TRUE(nodes_[2]->start()) << nodes_[2]->output();
  const std::string address = after(nodes_[2]->output(), "peers reach this node at ");
  ASSERT_TRUE(eventually([&] {
    return peer_address_seen(*nodes_[0], "n3") == address &&
           peer_address_seen(*nodes_[1], "n3") == address;
  })) << nodes_[2]->output();
  KvClient third = client_for(*nodes_[2]);
  auto got = third.get("s", "k");
  ASSERT_TRUE(got.ok()) << got.status().to_string() << "\n" << nodes_[2]->output();
  EXPECT_EQ(values(*got), (std::vector<std::string>{"survives"}));
}

// A node whose data directory was lost comes back with --join: it must not
// answer reads with its empty copies (with r = 1, every acknowledged key
// read through it was 404 before) until it has been refilled.
TEST_F(ClusterTest, ANodeBackWithAnEmptyDirectoryServesNoEmptyReadsAndIsRefilled) {
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(
      first.create_store("s", StoreConfig{.n = 3, .r = 1, .w = 3, .quorum = QuorumMode::strict})
          .ok());
  constexpr int kKeys = 300;
  for (int index = 0; index < kKeys; ++index) {
    auto put = first.put("s", fmt::format("k{}", index), fmt::format("v{}", index));
    ASSERT_TRUE(put.ok()) << index << ": " << put.status().to_string();
  }
  nodes_[2]->kill9();
  std::filesystem::remove_all(fmt::format("{}/n3", directory_));  // the disk is lost
  nodes_[2] = std::make_unique<ServeProcess>(arguments(3));
  ASSERT_TRUE(nodes_[2]->start()) << nodes_[2]->output();
  KvClient third = client_for(*nodes_[2]);
  // Read every key through it at once, while it refills. It may answer 503
  // (it has not learned the store yet: retry), never "not found".
  int found = 0, retried = 0;
  std::string first_wrong;
  for (int index = 0; index < kKeys; ++index) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      auto got = third.get("s", fmt::format("k{}", index));
      if (!got.ok() && got.status().code() == Code::unavailable) {
        ++retried;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // as Retry-After asks
        continue;
      }
      found += got.ok() && got->found ? 1 : 0;
      if (first_wrong.empty() && !(got.ok() && got->found))
        first_wrong = got.ok() ? "not found" : got.status().to_string();
      break;
    }
  }
  EXPECT_EQ(found, kKeys) << "a node with an empty disk answered for acknowledged keys; first: "
                          << first_wrong;
  std::printf("reads through the wiped node: %d of %d found, %d answers were 503 (retried)\n",
              found, kKeys, retried);
  // It finishes and then holds every key itself.
  ASSERT_TRUE(eventually([&] { return member_field(*nodes_[2], "n3", "state") == "up"; }, 60))
      << boost::json::serialize(cluster_view(*nodes_[2]));
  EXPECT_EQ(metric(*nodes_[2], "ringkv_recoveries_started_total"), 1);
  EXPECT_EQ(metric(*nodes_[2], "ringkv_recoveries_done_total"), 1);
  EXPECT_TRUE(eventually([&] { return keys_held(*nodes_[2], "s") == kKeys; }));
}

// The founding node (started without --join) loses its disk and is started
// again with the same flags: it founds a new, empty cluster, which must not
// take writes silently while the old cluster counts on it.
TEST_F(ClusterTest, AFounderBackWithAnEmptyDirectoryAndNoJoinRefusesWrites) {
  KvClient second = client_for(*nodes_[1]);
  ASSERT_TRUE(second.create_store("s", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  ASSERT_TRUE(second.put("s", "k", "v").ok());
  nodes_[0]->kill9();
  std::filesystem::remove_all(fmt::format("{}/n1", directory_));
  // Its old peer address, where the old cluster still reaches it.
  std::vector<std::string> flags = arguments(1);
  const auto peer_flag = std::find(flags.begin(), flags.end(), "--listen-peer");
  ASSERT_NE(peer_flag, flags.end());
  *(peer_flag + 1) = contact_;
  nodes_[0] = std::make_unique<ServeProcess>(flags);
  ASSERT_TRUE(nodes_[0]->start()) << nodes_[0]->output();
  KvClient founder = client_for(*nodes_[0]);
  ASSERT_TRUE(eventually([&] {
    auto health = founder.send({"GET", "/healthz", {}, {}});
    return health.ok() && health->status == 503 && health->body.find("--join") != std::string::npos;
  })) << nodes_[0]->output();
  EXPECT_NE(nodes_[0]->output().find("data directory was lost"), std::string::npos)
      << nodes_[0]->output();
  if (founder.create_store("t", StoreConfig{.n = 1, .r = 1, .w = 1}).ok()) {
    auto put = founder.put("t", "k", "v");
    ASSERT_FALSE(put.ok()) << "a write acknowledged by a cluster nobody reads from";
    EXPECT_NE(put.status().message().find("--join"), std::string::npos) << put.status().to_string();
  }
}

TEST_F(ClusterTest, BlindWritesThroughDifferentNodesComeBackAsSiblings) {
  KvClient first = client_for(*nodes_[0]);
  KvClient second = client_for(*nodes_[1]);
  KvClient third = client_for(*nodes_[2]);
  ASSERT_TRUE(first.create_store("s", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  ASSERT_TRUE(first.put("s", "k", "from n1").ok());
  ASSERT_TRUE(second.put("s", "k", "from n2").ok());
  auto got = third.get("s", "k");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(values(*got), (std::vector<std::string>{"from n1", "from n2"}));
  // A write with that context, through a third node, supersedes both.
  ASSERT_TRUE(third.put("s", "k", "merged", got->context).ok());
  got = second.get("s", "k");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(values(*got), (std::vector<std::string>{"merged"}));
}

TEST_F(ClusterTest, AQuorumLargerThanTheClusterIsRefusedNotWeakened) {
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("wide", StoreConfig{.n = 5, .r = 1, .w = 4}).ok());
  auto put = first.put("wide", "k", "v");
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("w = 4"), std::string::npos) << put.status().message();
}

// Failure detection, sloppy quorum and hinted handoff between real processes:
// with n4 killed, every write to a sloppy n = 2, w = 2 store still succeeds
// (stand-ins hold n4's copies as hints); once n4 is back, every hint is
// handed off, n4 merges them, and every key reads back through n4.
TEST_F(FourNodeClusterTest, AKilledNodeIsSuspectedItsWritesGoToStandInsAndComeHome) {
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("h", StoreConfig{.n = 2, .r = 1, .w = 2}).ok());
  ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], "n4") == "up"; }));
  nodes_[3]->kill9();
  ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], "n4") == "down"; }))
      << "n1 never suspected the killed n4";
  constexpr int kKeys = 40;
  for (int index = 0; index < kKeys; ++index) {
    auto put = first.put("h", fmt::format("key{}", index), fmt::format("value{}", index));
    ASSERT_TRUE(put.ok()) << "key" << index << ": " << put.status().to_string();
  }
  int64_t held = 0;
  for (int index = 0; index < 3; ++index)
    held += metric(*nodes_[index], "ringkv_hints_pending");
  EXPECT_GT(held, 0) << "no write went to a stand-in";
  EXPECT_GT(metric(*nodes_[0], "ringkv_sloppy_writes_total"), 0);
  // n4 comes back (new ports): suspected no longer, and every hint goes home.
  nodes_[3] = std::make_unique<ServeProcess>(arguments(4));
  ASSERT_TRUE(nodes_[3]->start()) << nodes_[3]->output();
  ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], "n4") == "up"; }));
  ASSERT_TRUE(eventually([&] {
    int64_t pending = 0;
    for (int index = 0; index < 3; ++index)
      pending += metric(*nodes_[index], "ringkv_hints_pending");
    return pending == 0;
  })) << "hints were not handed off";
  int64_t delivered = 0;
  for (int index = 0; index < 3; ++index)
    delivered += metric(*nodes_[index], "ringkv_hints_delivered_total");
  EXPECT_EQ(delivered, held);  // one delivery per key held (no key was written twice)
  EXPECT_GE(metric(*nodes_[3], "ringkv_replica_writes_total"), delivered);
  KvClient fourth = client_for(*nodes_[3]);
  for (int index = 0; index < kKeys; ++index) {
    auto got = fourth.get("h", fmt::format("key{}", index));
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(values(*got), (std::vector<std::string>{fmt::format("value{}", index)}));
  }
  // `ringkv cluster status` shows the same view as a table.
  const auto [code, table] = run_cli("cluster status --server " + nodes_[0]->url());
  EXPECT_EQ(code, 0) << table;
  EXPECT_NE(table.find("NODE"), std::string::npos) << table;
  for (const char* id : {"n1 *", "n2", "n3", "n4"})
    EXPECT_NE(table.find(id), std::string::npos) << id << "\n" << table;
  EXPECT_EQ(table.find("down"), std::string::npos) << table;
}

// The proof with real processes: a client writes continuously while
// nodes are killed with kill -9 and restarted one at a time; afterwards every
// acknowledged write reads back, no hint is left, and every partition's
// replicas report equal Merkle roots.
TEST_F(FiveNodeClusterTest, WritesDuringKillsAndRestartsAllSurviveAndReplicasConverge) {
  ASSERT_TRUE(client_for(*nodes_[0]).create_store("c", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  std::mutex mutex;
  std::vector<std::string> urls;
  for (auto& node : nodes_)
    urls.push_back(node->url());
  std::atomic<bool> stop{false};
  std::atomic<int> acked_count{0};
  std::vector<std::string> acked;  // written only by the writer until it is joined
  std::thread writer([&] {
    for (int index = 0; !stop; ++index) {
      std::string url;
      {
        std::lock_guard lock(mutex);
        url = urls[index % urls.size()];
      }
      auto options = parse_server_url(url);
      if (!options.ok())
        continue;
      const std::string key = fmt::format("w{}", index);
      if (KvClient(*options).put("c", key, fmt::format("v{}", index)).ok()) {
        acked.push_back(key);
        ++acked_count;
      }
    }
  });
  StopAndJoin writer_guard(stop, writer);
  for (int victim : {1, 2, 3}) {  // n2, n3, n4 in turn
    const std::string id = fmt::format("n{}", victim + 1);
    nodes_[victim]->kill9();
    EXPECT_TRUE(eventually([&] { return state_seen(*nodes_[0], id) == "down"; })) << id;
    const int before = acked_count;
    EXPECT_TRUE(eventually([&] { return acked_count >= before + 30; }))
        << "writes stalled while " << id << " was down";
    nodes_[victim] = std::make_unique<ServeProcess>(arguments(victim + 1));
    ASSERT_TRUE(nodes_[victim]->start()) << nodes_[victim]->output();
    {
      std::lock_guard lock(mutex);
      urls[victim] = nodes_[victim]->url();
    }
    EXPECT_TRUE(eventually([&] { return state_seen(*nodes_[0], id) == "up"; })) << id;
    const int after_restart = acked_count;
    EXPECT_TRUE(eventually([&] { return acked_count >= after_restart + 30; }));
  }
  stop = true;
  writer.join();
  ASSERT_GT(acked.size(), 100u);
  EXPECT_TRUE(eventually([&] {
    int64_t pending = 0;
    for (auto& node : nodes_)
      pending += metric(*node, "ringkv_hints_pending");
    return pending == 0;
  })) << "hints were not handed off";
  std::map<int64_t, std::vector<std::string>> roots;
  EXPECT_TRUE(eventually([&] {
    roots = merkle_roots("c");
    if (roots.size() != 32)
      return false;
    for (const auto& [partition, reported] : roots) {
      if (reported.size() != 3 || reported[0] != reported[1] || reported[1] != reported[2])
        return false;
    }
    return true;
  })) << "replicas' Merkle roots still differ";
  for (size_t index = 0; index < acked.size(); ++index) {
    auto got = client_for(*nodes_[index % nodes_.size()]).get("c", acked[index]);
    ASSERT_TRUE(got.ok()) << acked[index] << ": " << got.status().to_string();
    EXPECT_EQ(values(*got), (std::vector<std::string>{fmt::format("v{}", acked[index].substr(1))}));
  }
  std::printf("%zu writes acknowledged during 3 kill -9 / restart cycles; all read back\n",
              acked.size());
}

// The elastic-cluster scenario of the issue: 3 nodes of capacity 1, a store
// with n = 1 and one with n = 2, thousands of keys and a client writing and
// reading throughout; a fourth node of capacity 2 joins, then an original
// node is removed gracefully (through the CLI) and another is killed and
// removed as dead.
class ElasticClusterTest : public ClusterTest {
 protected:
  // Sweeps every 20 ms and a prune delay of 7 s, so that clock pruning
  // finishes within a test (production: 10 s and 10 min); the delay must be
  // more than twice the request timeout (3 s in these tests).
  ElasticClusterTest() {
    extra_arguments_ = {"--partitions",        "64", "--drop-grace-ms",  "1000",
                        "--sweep-interval-ms", "20", "--prune-delay-ms", "7000"};
  }

  // Record counts of `store` on the running nodes (index -> count).
  std::map<size_t, int64_t> counts(const std::string& store) {
    std::map<size_t, int64_t> out;
    for (size_t index = 0; index < nodes_.size(); ++index) {
      if (nodes_[index]->running())
        out[index] = keys_held(*nodes_[index], store);
    }
    return out;
  }
  int64_t total(const std::map<size_t, int64_t>& per_node) {
    int64_t sum = 0;
    for (const auto& [index, count] : per_node)
      sum += count;
    return sum;
  }
  // Every running node's view is balanced and its layout has `owners` nodes
  // owning partitions.
  bool settled(size_t owners) {
    for (auto& node : nodes_) {
      if (!node->running())
        continue;
      const boost::json::value view = cluster_view(*node);
      if (!view.is_object() || !view.at("balanced").as_bool())
        return false;
      size_t owning = 0;
      for (const auto& member : view.at("members").as_array()) {
        const auto& entry = member.as_object();
        owning += entry.contains("ring_partitions") && entry.at("ring_partitions").as_int64() > 0;
      }
      if (owning != owners)
        return false;
    }
    return true;
  }
};

TEST_F(ElasticClusterTest, AddARemoveAndADeadRemovalMoveDataAndLoseNoAcknowledgedWrite) {
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("one", StoreConfig{.n = 1, .r = 1, .w = 1}).ok());
  ASSERT_TRUE(first.create_store("two", StoreConfig{.n = 2, .r = 1, .w = 2}).ok());
  constexpr int kKeys = 1500;
  for (int index = 0; index < kKeys; ++index) {
    for (const char* store : {"one", "two"}) {
      auto put = client_for(*nodes_[index % 3])
                     .put(store, fmt::format("k{}", index), fmt::format("v{}", index));
      ASSERT_TRUE(put.ok()) << store << " k" << index << ": " << put.status().to_string();
    }
  }
  // A client writing and reading throughout, through the first node (never
  // removed); it records what was acknowledged.
  std::atomic<bool> stop{false};
  std::mutex acked_mutex;
  std::vector<std::string> acked;
  std::atomic<int> read_errors{0}, write_errors{0};
  std::atomic<int64_t> attempted_one{0}, attempted_two{0};
  std::thread traffic([&] {
    KvClient client = client_for(*nodes_[0]);
    for (int index = 0; !stop; ++index) {
      const std::string key = fmt::format("live{}", index);
      const char* store = index % 2 == 0 ? "one" : "two";
      ++(index % 2 == 0 ? attempted_one : attempted_two);
      if (client.put(store, key, "x" + key).ok()) {
        std::lock_guard lock(acked_mutex);
        acked.push_back(std::string(store) + "/" + key);
      } else {
        ++write_errors;
      }
      if (!client.get(store, fmt::format("k{}", index % kKeys)).ok())
        ++read_errors;
    }
  });
  StopAndJoin traffic_guard(stop, traffic);

  // 1. A fourth node with capacity 2 joins (auto-add).
  std::vector<std::string> fourth = arguments(4);
  fourth.insert(fourth.end(), {"--capacity", "2"});
  nodes_.push_back(std::make_unique<ServeProcess>(fourth));
  ASSERT_TRUE(nodes_.back()->start()) << nodes_.back()->output();
  ASSERT_TRUE(eventually([&] {
    // During the move a key has at most two copies (old and new owner);
    // the live client keeps adding keys.
    const int64_t copies = total(counts("one"));
    return settled(4) && copies >= kKeys && copies <= 2 * (kKeys + attempted_one) &&
           counts("one")[3] > 0;
  })) << boost::json::serialize(cluster_view(*nodes_[0]));
  // Old owners drop what moved after the grace period: one copy per key
  // (no more records than keys ever written).
  const auto drop_start = std::chrono::steady_clock::now();
  // (Both stores: the shares below are measured on what the owners keep.)
  ASSERT_TRUE(eventually(
      [&] {
        return total(counts("one")) <= kKeys + attempted_one &&
               total(counts("two")) <= 2 * (kKeys + attempted_two);
      },
      90))
      << total(counts("one")) << " records for at most " << kKeys + attempted_one << " keys, "
      << total(counts("two")) << " n = 2 records for at most " << kKeys + attempted_two << " keys; "
      << [&] {
           std::string out;
           for (auto& node : nodes_)
             out += boost::json::serialize(cluster_view(*node).at("transfers")) + " " +
                    std::to_string(keys_held(*node, "one")) + "\n";
           return out;
         }();
  std::printf("old owners dropped what moved within %.1f s\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - drop_start).count());
  std::map<size_t, int64_t> one = counts("one"), two = counts("two");
  const double others_one = (one[0] + one[1] + one[2]) / 3.0;
  const double others_two = (two[0] + two[1] + two[2]) / 3.0;
  const double ratio_one = one[3] / others_one, ratio_two = two[3] / others_two;
  std::printf(
      "after n4 (capacity 2) joined: n=1 store keys per node %ld %ld %ld | n4 %ld (ratio "
      "%.2f); n=2 store %ld %ld %ld | n4 %ld (ratio %.2f)\n",
      one[0], one[1], one[2], one[3], ratio_one, two[0], two[1], two[2], two[3], ratio_two);
  // Capacity 2 of 5: the first entries of the lists (an n = 1 store) are
  // apportioned by capacity, so n4 heads twice the lists of each other node
  // (25 of 64 against 13 each: 25.6 and 12.8 rounded by largest remainder)...
  std::map<std::string, int64_t> headed;
  const boost::json::value view = cluster_view(*nodes_[0]);
  for (const auto& member : view.at("members").as_array())
    headed[std::string(member.at("id").as_string())] = member.at("ring_first").as_int64();
  const double first_ratio =
      double(headed["n4"]) / ((headed["n1"] + headed["n2"] + headed["n3"]) / 3.0);
  std::printf("lists headed: n1 %ld n2 %ld n3 %ld n4 %ld (ratio %.2f)\n", headed["n1"],
              headed["n2"], headed["n3"], headed["n4"], first_ratio);
  EXPECT_NEAR(first_ratio, 2.0, 0.1);
  // ... and holds about twice the keys: within what ~2,000 keys hashed into 64
  // partitions allow (a few percent per node).
  EXPECT_NEAR(ratio_one, 2.0, 0.25);
  // n = 2: the lists' first two entries are balanced too (4 of 10 entries).
  EXPECT_NEAR(ratio_two, 2.0, 0.25);

  // 2. n2 leaves gracefully, through the CLI; it keeps running.
  auto [code, output] =
      run_cli(fmt::format("cluster apply --remove n2 --wait --wait-timeout-s "
                          "120 --server {}",
                          nodes_[0]->url()));
  ASSERT_EQ(code, 0) << output;
  EXPECT_NE(output.find("balanced"), std::string::npos) << output;
  ASSERT_TRUE(eventually([&] {
    return settled(3) && keys_held(*nodes_[1], "one") == 0 && keys_held(*nodes_[1], "two") == 0;
  })) << "n2 still holds data it does not own: "
      << keys_held(*nodes_[1], "one") << " + " << keys_held(*nodes_[1], "two") << "; settled(3) "
      << settled(3) << "\n"
      << [&] {
           std::string out;
           for (auto& node : nodes_) {
             out += boost::json::serialize(cluster_view(*node)) + "\n";
             for (const char* name :
                  {"ringkv_partitions_dropped_total", "ringkv_anti_entropy_rounds_total",
                   "ringkv_anti_entropy_keys_sent_total", "ringkv_puts_forwarded_total",
                   "ringkv_sloppy_writes_total", "ringkv_stand_in_actors_total",
                   "ringkv_single_use_actors_total", "ringkv_hints_stored_total"})
               out += fmt::format("{} {}\n", name, metric(*node, name));
           }
           return out;
         }();

  // The changes so far reached the members as deltas (the member entries and
  // list entries that changed since the state each had gossiped), not only
  // as whole states.
  int64_t deltas_applied = 0, deltas_refused = 0;
  for (auto& node : nodes_) {
    deltas_applied += std::max<int64_t>(0, metric(*node, "ringkv_layout_deltas_applied_total"));
    deltas_refused += std::max<int64_t>(0, metric(*node, "ringkv_layout_deltas_refused_total"));
  }
  std::printf("layout deltas applied %ld, refused %ld\n", deltas_applied, deltas_refused);
  EXPECT_GT(deltas_applied, 0);

  // 3. n3 dies (kill -9) and is removed as dead: its partitions are rebuilt
  // on the others from the surviving replicas (n = 2); its n = 1 keys had
  // no other copy.
  // The client stops first: an n = 1 write n3 acknowledged between this
  // count and its death would be lost with it, uncounted.
  stop = true;
  traffic.join();
  const int64_t lost_with_n3 = keys_held(*nodes_[2], "one");
  nodes_[2]->kill9();
  ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], "n3") == "down"; }));
  auto [dead_code, dead_output] = run_cli(fmt::format(
      "cluster apply --remove n3 --wait --wait-timeout-s 120 --server {}", nodes_[0]->url()));
  ASSERT_EQ(dead_code, 0) << dead_output;
  ASSERT_TRUE(eventually([&] { return settled(2); }));
  std::printf("live traffic: %zu writes acknowledged, %d writes and %d reads failed\n",
              acked.size(), write_errors.load(), read_errors.load());

  // Nothing acknowledged is lost in the n = 2 store; in the n = 1 store only
  // what lived on the dead node.
  KvClient reader = client_for(*nodes_[0]);
  int64_t missing_one = 0;
  for (int index = 0; index < kKeys; ++index) {
    auto got_two = reader.get("two", fmt::format("k{}", index));
    ASSERT_TRUE(got_two.ok() && got_two->found) << "two/k" << index << " lost";
    auto got_one = reader.get("one", fmt::format("k{}", index));
    ASSERT_TRUE(got_one.ok());
    missing_one += got_one->found ? 0 : 1;
  }
  for (const std::string& entry : acked) {
    const std::string store = entry.substr(0, 3), key = entry.substr(4);
    auto got = reader.get(store, key);
    ASSERT_TRUE(got.ok());
    if (store == "two")
      EXPECT_TRUE(got->found) << entry << " acknowledged but lost";
    else
      missing_one += got->found ? 0 : 1;
  }
  std::printf("n=1 store: %ld keys missing after n3's death; n3 held %ld\n", missing_one,
              lost_with_n3);
  EXPECT_LE(missing_one, lost_with_n3);
  // No node holds data it does not own: one record per n = 1 key, two per
  // n = 2 key, at most (keys written but not acknowledged may or may not exist).
  int64_t acked_two = 0;
  for (const std::string& entry : acked)
    acked_two += entry.rfind("two/", 0) == 0;
  EXPECT_TRUE(eventually([&] {
    const int64_t copies = total(counts("two"));
    return copies >= 2 * (kKeys + acked_two) && copies <= 2 * (kKeys + attempted_two);
  })) << "records of the n=2 store: "
      << total(counts("two")) << ", keys acknowledged " << kKeys + acked_two;
  EXPECT_TRUE(eventually([&] { return total(counts("one")) <= kKeys + attempted_one; }));
}

// Hot keys read-modified-written continuously while a node joins, one is
// reweighted, one leaves and two are killed (-9) and restarted: every key
// stays writable, its clock stays small, nothing acknowledged is lost and no
// node fences itself. (Before bounded clocks, the join alone pushed every hot
// key to the 256-actor cap: each partition an old owner dropped gave it a
// new actor.)
TEST_F(ElasticClusterTest, HotKeysStayWritableWithSmallClocksThroughChangesAndCrashes) {
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("hot3", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  ASSERT_TRUE(first.create_store("hot1", StoreConfig{.n = 1, .r = 1, .w = 1}).ok());
  // Data in every partition, so that each move drops partitions on every
  // old owner (a drop used to give the node a new actor for all its keys).
  ASSERT_TRUE(first.create_store("bulk", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  for (int index = 0; index < 640; ++index)
    ASSERT_TRUE(first.put("bulk", fmt::format("b{}", index), "x").ok());
  constexpr int kHotKeys = 6;
  struct KeyHistory {
    std::string last_acked;              // the value of the last acknowledged put
    std::vector<std::string> uncertain;  // values written after it without an answer
  };
  std::map<std::string, KeyHistory> history;  // "store/key"; the writer's until joined
  std::atomic<bool> stop{false};
  std::atomic<int> acked{0}, failed{0}, clock_refusals{0};
  std::mutex failure_mutex;
  std::string last_failure;
  std::thread writer([&] {
    KvClient client = client_for(*nodes_[0]);  // n1 is never stopped
    for (int round = 0; !stop; ++round) {
      for (const char* store : {"hot3", "hot1"}) {
        for (int index = 0; index < kHotKeys && !stop; ++index) {
          const std::string key = fmt::format("hot{}", index);
          KeyHistory& entry = history[std::string(store) + "/" + key];
          auto read = client.get(store, key);
          const std::string context = read.ok() ? read->context : std::string();
          const std::string value = fmt::format("{}-{}", key, round);
          auto put = client.put(store, key, value, context);
          if (put.ok()) {
            entry.last_acked = value;
            entry.uncertain.clear();
            ++acked;
            continue;
          }
          entry.uncertain.push_back(value);
          ++failed;
          const std::string& message = put.status().message();
          if (message.find("clock") != std::string::npos ||
              message.find("identities") != std::string::npos ||
              message.find("context") != std::string::npos)
            ++clock_refusals;
          std::lock_guard lock(failure_mutex);
          last_failure = message;
        }
      }
    }
  });
  StopAndJoin writer_guard(stop, writer);
  auto progress = [&](const char* step) {
    const int before = acked;
    EXPECT_TRUE(eventually([&] { return acked >= before + 20; }, 60))
        << "writes stalled after " << step << "; last failure: " << [&] {
             std::lock_guard lock(failure_mutex);
             return last_failure;
           }();
  };
  auto cli_ok = [&](const std::string& command) {
    auto [code, output] = run_cli(fmt::format("{} --server {}", command, nodes_[0]->url()));
    EXPECT_EQ(code, 0) << command << ": " << output;
  };
  // Actors stand-ins drew for n = 1 keys while their only replica was down,
  // and single-use actors (a put forwarded to a node whose own layout did
  // not make it a replica yet, around a flip), summed over every node
  // incarnation (a killed node's counts die with it).
  int64_t stand_in_actors = 0, single_use = 0;
  auto count_stand_in_actors = [&](ServeProcess& node) {
    const int64_t drawn = metric(node, "ringkv_stand_in_actors_total");
    EXPECT_GE(drawn, 0) << node.url();
    stand_in_actors += std::max<int64_t>(drawn, 0);
    const int64_t used = metric(node, "ringkv_single_use_actors_total");
    EXPECT_GE(used, 0) << node.url();
    single_use += std::max<int64_t>(used, 0);
  };
  auto restart = [&](size_t index) {
    const std::string id = fmt::format("n{}", index + 1);
    std::vector<std::string> flags = arguments(static_cast<int>(index) + 1);
    if (index == 3)
      flags.insert(flags.end(), {"--capacity", "2"});
    count_stand_in_actors(*nodes_[index]);
    nodes_[index]->kill9();
    ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], id) == "down"; })) << id;
    nodes_[index] = std::make_unique<ServeProcess>(flags);
    ASSERT_TRUE(nodes_[index]->start()) << nodes_[index]->output();
    EXPECT_NE(nodes_[index]->output().find("new actor"), std::string::npos);  // unclean: epoch
    ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], id) == "up"; })) << id;
  };
  progress("start");
  // 1. A fourth node of capacity 2 joins.
  std::vector<std::string> fourth = arguments(4);
  fourth.insert(fourth.end(), {"--capacity", "2"});
  nodes_.push_back(std::make_unique<ServeProcess>(fourth));
  ASSERT_TRUE(nodes_.back()->start()) << nodes_.back()->output();
  ASSERT_TRUE(eventually([&] { return settled(4); }, 90));
  progress("the join");
  // 2. Reweight, 3. a graceful removal (both wait for the move).
  cli_ok("cluster apply --reweight n2=2 --wait --wait-timeout-s 120");
  progress("the reweight");
  cli_ok("cluster apply --remove n3 --wait --wait-timeout-s 120");
  ASSERT_TRUE(eventually([&] { return settled(3); }, 90));
  progress("the removal");
  // 4. Two crashes and restarts of owners.
  restart(1);
  progress("n2's restart");
  restart(3);
  progress("n4's restart");
  // Old owners drop what moved a grace period after each flip; write on
  // until every key has one copy per replica again (the drops happened).
  ASSERT_TRUE(eventually(
      [&] {
        return settled(3) && total(counts("hot1")) == kHotKeys &&
               total(counts("hot3")) == 3 * kHotKeys;
      },
      90))
      << total(counts("hot1")) << " hot1 records, " << total(counts("hot3")) << " hot3 records";
  progress("the drops");
  // With every moved partition dropped, each node reports the change settled.
  EXPECT_TRUE(eventually(
      [&] {
        for (auto& node : nodes_) {
          if (!node->running())
            continue;
          const boost::json::value view = cluster_view(*node);
          if (!view.is_object() || !view.as_object().contains("settled") ||
              !view.at("settled").as_bool())
            return false;
        }
        return true;
      },
      60));
  stop = true;
  writer.join();

  // Every key reads back its last acknowledged value (or a later write that
  // got no answer), and its clock stays small: at most one entry per node
  // that coordinated it (n1..n4) and one more per unclean restart (2). An
  // n = 1 key written while its only replica restarted is numbered by the
  // stand-in that keeps its hint, under one actor per outage: those actors
  // are counted, as are single-use actors.
  for (auto& node : nodes_) {
    if (node->running())
      count_stand_in_actors(*node);
  }
  size_t clock_max = 0, context_bytes_max = 0;
  KvClient reader = client_for(*nodes_[0]);
  for (const auto& [name, entry] : history) {
    const std::string store = name.substr(0, name.find('/'));
    const std::string key = name.substr(name.find('/') + 1);
    auto got = reader.get(store, key);
    ASSERT_TRUE(got.ok()) << name << ": " << got.status().to_string();
    ASSERT_FALSE(entry.last_acked.empty()) << name << " never acknowledged";
    std::vector<std::string> found = values(*got);
    bool present = std::count(found.begin(), found.end(), entry.last_acked) > 0;
    for (const std::string& later : entry.uncertain)
      present = present || std::count(found.begin(), found.end(), later) > 0;
    EXPECT_TRUE(present) << name << ": acknowledged '" << entry.last_acked << "' lost; found "
                         << fmt::format("{}", fmt::join(found, ", "));
    auto clock = decode_context(got->context);
    ASSERT_TRUE(clock.ok()) << name << ": the node's own context: " << clock.status().to_string();
    clock_max = std::max(clock_max, clock->size());
    context_bytes_max = std::max(context_bytes_max, got->context.size());
    const size_t bound =
        4 + 2 + (store == "hot1" ? static_cast<size_t>(single_use + stand_in_actors) : 0);
    EXPECT_LE(clock->size(), bound) << name;
  }
  for (auto& node : nodes_) {
    if (!node->running())
      continue;
    auto health = client_for(*node).send({"GET", "/healthz", {}, {}});
    ASSERT_TRUE(health.ok());
    EXPECT_EQ(health->status, 200) << node->url() << " " << health->body;
  }
  EXPECT_EQ(clock_refusals.load(), 0) << "a put was refused because of a key's clock";
  // With the writes over, clock pruning drops every entry whose versions
  // are all superseded (old epochs, stand-in actors, coordinators whose
  // last write was overwritten): each key's clock names only the actors of
  // its live versions.
  size_t pruned_clock_max = 0, pruned_context_bytes_max = 0;
  std::string unpruned;
  EXPECT_TRUE(eventually(
      [&] {
        pruned_clock_max = pruned_context_bytes_max = 0;
        unpruned.clear();
        for (const auto& [name, entry] : history) {
          const std::string store = name.substr(0, name.find('/'));
          auto got = reader.get(store, name.substr(name.find('/') + 1));
          if (!got.ok())
            return false;
          auto clock = decode_context(got->context);
          if (!clock.ok())
            return false;
          pruned_clock_max = std::max(pruned_clock_max, clock->size());
          pruned_context_bytes_max = std::max(pruned_context_bytes_max, got->context.size());
          if (clock->size() > got->siblings.size())
            unpruned += fmt::format(" {} ({} entries, {} values)", name, clock->size(),
                                    got->siblings.size());
        }
        return unpruned.empty();
      },
      60))
      << "clocks not pruned:" << unpruned;
  std::printf("after pruning: largest clock %zu entries, largest context %zu bytes\n",
              pruned_clock_max, pruned_context_bytes_max);
  std::printf(
      "hot keys: %d puts acknowledged, %d failed (none for a clock); largest clock %zu entries, "
      "largest context %zu bytes (bound 6, and for n = 1 keys %ld stand-in and %ld single-use "
      "actors)\n",
      acked.load(), failed.load(), clock_max, context_bytes_max, static_cast<long>(stand_in_actors),
      static_cast<long>(single_use));
}

TEST_F(ClusterTest, ClusterChangesExplainBadInputAndADryRunChangesNothing) {
  const std::string server = "--server " + nodes_[0]->url();
  auto [code, output] = run_cli("cluster plan --reweight n3 " + server);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("--reweight 'n3': give ID=CAP"), std::string::npos) << output;
  std::tie(code, output) = run_cli("cluster plan --add zz " + server);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("'zz' is not a member"), std::string::npos) << output;
  std::tie(code, output) = run_cli("cluster cancel " + server);
  EXPECT_EQ(code, 1);
  EXPECT_NE(output.find("no change is in progress"), std::string::npos) << output;
  // The API: malformed bodies are 400s that say what a change looks like.
  KvClient client = client_for(*nodes_[0]);
  auto response = client.send({"POST", "/v1/cluster/changes", {}, "{\"add\": 3}"});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 400);
  EXPECT_NE(response->body.find("'add' must be a list"), std::string::npos) << response->body;
  response = client.send({"POST", "/v1/cluster/changes", {}, "{\"capacity\": {\"n1\": 0}}"});
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 400) << response->body;
  // A dry run plans a reweight and commits nothing.
  std::tie(code, output) = run_cli("cluster plan --reweight n3=2 --json " + server, false);
  ASSERT_EQ(code, 0) << output;
  const auto plan = boost::json::parse(output);
  EXPECT_FALSE(plan.at("committed").as_bool());
  // Three nodes, lists of three: every node is in every list, so a store with
  // n = 3 copies nothing; the first entries follow the capacities (n = 1).
  EXPECT_EQ(plan.at("plan").at("moved_replicas").as_int64(), 0);
  EXPECT_GT(plan.at("plan").at("moved_by_n").as_array()[0].as_int64(), 0);
  EXPECT_EQ(cluster_view(*nodes_[0]).at("target_version").as_int64(), 0) << "nothing committed";
  // With data in the cluster the plan estimates what it copies; the text
  // shows every node's share now and next, and the copies per n.
  ASSERT_TRUE(client.create_store("plan", StoreConfig{.n = 1, .r = 1, .w = 1}).ok());
  for (int index = 0; index < 200; ++index)
    ASSERT_TRUE(client.put("plan", fmt::format("k{}", index), std::string(1000, 'x')).ok());
  ASSERT_TRUE(eventually([&] {
    std::tie(code, output) = run_cli("cluster plan --reweight n3=2 --json " + server, false);
    const auto again = boost::json::parse(output);
    return code == 0 && again.at("plan").as_object().contains("estimated_bytes") &&
           again.at("plan").at("estimated_bytes").as_int64() > 0;
  })) << output;
  std::tie(code, output) = run_cli("cluster plan --reweight n3=2 " + server);
  ASSERT_EQ(code, 0) << output;
  std::printf("%s", output.c_str());
  EXPECT_NE(output.find("SHARE NEXT"), std::string::npos) << output;
  EXPECT_NE(output.find("for a store with n = 1:"), std::string::npos) << output;
  EXPECT_NE(output.find("estimated copy:"), std::string::npos) << output;
}

TEST(DevCluster, StartsThreeNodesWithTheDefaultStoreAndStopsThemCleanly) {
  const std::string directory = make_temp_directory("dev");
  ServeProcess dev(
      {"dev", "--nodes", "3", "--data-dir", directory, "--http-port", "0", "--peer-port", "0"});
  ASSERT_TRUE(dev.start()) << dev.output();
  // Secure by default: HTTPS with a certificate from the dev CA, and an
  // admin token, both named in the lines it prints.
  ASSERT_EQ(dev.url().rfind("https://", 0), 0u) << dev.output();
  const std::string ca = directory + "/certs/ca.crt";
  std::ifstream token_file(directory + "/node1/admin.token");
  std::string token;
  std::getline(token_file, token);
  ASSERT_EQ(token.rfind("rkv_", 0), 0u) << dev.output();
  auto client_options = [&](const std::string& url) {
    auto options = parse_server_url(url);
    EXPECT_TRUE(options.ok()) << url;
    options->ca_file = ca;
    options->bearer_token = token;
    return *options;
  };
  auto anonymous = client_options(dev.url());
  anonymous.bearer_token.clear();
  EXPECT_EQ(KvClient(anonymous).list_stores().status().code(), Code::permission_denied);
  KvClient client(client_options(dev.url()));
  auto store = client.show_store("default");
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  EXPECT_NE(store->find("\"n\":3"), std::string::npos) << *store;
  EXPECT_NE(store->find("\"w\":2"), std::string::npos) << *store;
  auto written = client.put("default", "greeting", "hello");
  ASSERT_TRUE(written.ok()) << written.status().to_string();
  const std::string output = dev.output();
  EXPECT_NE(output.find("ringkv dev cluster: 3 nodes"), std::string::npos) << output;
  EXPECT_NE(
      output.find("curl --cacert " + ca + " -H \"Authorization: Bearer $RINGKV_TOKEN\" -X PUT"),
      std::string::npos)
      << output;
  EXPECT_NE(output.find("export RINGKV_TOKEN=$(cat " + directory + "/node1/admin.token)"),
            std::string::npos)
      << output;
  // Peers speak mutual TLS with certificates dev made in its directory.
  EXPECT_NE(output.find("peers speak mutual TLS"), std::string::npos) << output;
  EXPECT_TRUE(std::filesystem::exists(directory + "/certs/node3.key"));
  std::ifstream node_log(directory + "/node1.log");
  const std::string log((std::istreambuf_iterator<char>(node_log)),
                        std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("peers: mutual TLS"), std::string::npos) << log;
  // The third node answers for the key written through the first.
  const std::string line = after(output, "  node3   ");
  const std::string third_url = line.substr(0, line.find(' '));
  auto got = KvClient(client_options(third_url)).get("default", "greeting");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(values(*got), (std::vector<std::string>{"hello"}));
  EXPECT_EQ(dev.stop(), 0) << dev.output();
  EXPECT_NE(dev.output().find("all nodes stopped cleanly"), std::string::npos) << dev.output();
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace ringkv
