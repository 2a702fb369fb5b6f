// Integration tests of `ringkv ring plan`: the built binary on real files, for
// the heterogeneous 12-node cluster of docs/BENCHMARKS.md, then one node added
// with --previous, then a bad node file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "serve_process.h"

namespace ringkv {
namespace {

using ringkv::testing::run_cli;
using ::testing::HasSubstr;

// 3 zones of 4 nodes with capacities 1, 1, 2, 4 (as in ring_assignment_test).
std::string twelve_node_file() {
  std::string text = "# 12 nodes, capacities 1, 2 and 4, across 3 zones\n";
  const int capacities[] = {1, 1, 2, 4};
  for (int zone = 0; zone < 3; ++zone) {
    for (int index = 0; index < 4; ++index) {
      text += "\n[[node]]\nid = \"node-" + std::to_string(zone) + "-" + std::to_string(index) +
              "\"\ncapacity = " + std::to_string(capacities[index]) + "\nzone = \"zone-" +
              std::to_string(zone) + "\"\n";
    }
  }
  return text;
}

void write(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

boost::json::object parse_object(const std::string& text) {
  boost::system::error_code error;
  auto value = boost::json::parse(text, error);
  EXPECT_FALSE(error) << text;
  return !error && value.is_object() ? value.as_object() : boost::json::object{};
}

class RingPlanTest : public ::testing::Test {
 protected:
  void SetUp() override { directory_ = testing::make_temp_directory("ring_plan"); }
  void TearDown() override { std::filesystem::remove_all(directory_); }
  std::string path(const std::string& name) const { return directory_ + "/" + name; }

  std::string directory_;
};

TEST_F(RingPlanTest, PlansTwelveNodesThenAddsOne) {
  write(path("nodes.toml"), twelve_node_file());
  auto [code, output] = run_cli("ring plan --nodes " + path("nodes.toml") +
                                    " --partitions 1024 --n 3 --json --out " + path("v1.layout"),
                                false);
  ASSERT_EQ(code, 0) << output;
  std::printf("12 nodes: %s", output.c_str());
  boost::json::object plan = parse_object(output);
  EXPECT_EQ(plan.at("partitions").to_number<int64_t>(), 1024);
  EXPECT_EQ(plan.at("n").to_number<int64_t>(), 3);
  EXPECT_EQ(plan.at("width").to_number<int64_t>(), 3);
  EXPECT_EQ(plan.at("moved_replicas").to_number<int64_t>(), 3 * 1024);
  EXPECT_EQ(plan.at("moved_lower_bound").to_number<int64_t>(), 3 * 1024);
  EXPECT_LE(plan.at("max_partition_share_error").to_number<double>(), 0.02);
  EXPECT_LE(plan.at("max_replica_share_error").to_number<double>(), 0.05);
  EXPECT_LE(plan.at("max_replica_quota_error").to_number<double>(), 0.02);
  EXPECT_EQ(plan.at("zone_short_lists").to_number<int64_t>(), 0);  // 3 zones for n = 3
  EXPECT_GE(plan.at("assignment_ms").to_number<double>(), 0.0);
  const boost::json::array& nodes = plan.at("nodes").as_array();
  ASSERT_EQ(nodes.size(), 12u);
  std::set<std::string> ids, zones;
  int64_t partitions = 0, replica_partitions = 0;
  for (const auto& value : nodes) {
    const boost::json::object& node = value.as_object();
    ids.insert(std::string(node.at("id").as_string()));
    zones.insert(std::string(node.at("zone").as_string()));
    const int64_t capacity = node.at("capacity").to_number<int64_t>();
    EXPECT_TRUE(capacity == 1 || capacity == 2 || capacity == 4);
    partitions += node.at("partitions").to_number<int64_t>();
    replica_partitions += node.at("replica_partitions").to_number<int64_t>();
  }
  EXPECT_EQ(ids.size(), 12u);
  EXPECT_EQ(zones, (std::set<std::string>{"zone-0", "zone-1", "zone-2"}));
  EXPECT_EQ(partitions, 1024);
  EXPECT_EQ(replica_partitions, 3 * 1024);
  ASSERT_TRUE(std::filesystem::exists(path("v1.layout")));
  EXPECT_FALSE(std::filesystem::exists(path("v1.layout.tmp")));

  // One node (capacity 2) joins zone-1: a plan from the previous layout.
  write(path("grown.toml"),
        twelve_node_file() + "\n[[node]]\nid = \"node-new\"\ncapacity = 2\nzone = \"zone-1\"\n");
  std::tie(code, output) =
      run_cli("ring plan --nodes " + path("grown.toml") + " --previous " + path("v1.layout") +
                  " --n 3 --json --out " + path("v2.layout"),
              false);
  ASSERT_EQ(code, 0) << output;
  std::printf("add one node: %s", output.c_str());
  plan = parse_object(output);
  EXPECT_EQ(plan.at("nodes").as_array().size(), 13u);
  EXPECT_EQ(plan.at("version").to_number<int64_t>(), 2);
  EXPECT_EQ(plan.at("added_nodes").as_array(), (boost::json::array{"node-new"}));
  const int64_t moved = plan.at("moved_replicas").to_number<int64_t>();
  const int64_t lower_bound = plan.at("moved_lower_bound").to_number<int64_t>();
  EXPECT_GT(lower_bound, 0);
  EXPECT_GE(moved, lower_bound);
  EXPECT_LE(double(moved), 1.1 * double(lower_bound));
  // Every n up to the width, and each node's share before the change.
  ASSERT_EQ(plan.at("moved_by_n").as_array().size(), 3u);
  for (size_t n = 0; n < 3; ++n) {
    const int64_t moved_n = plan.at("moved_by_n").as_array()[n].to_number<int64_t>();
    const int64_t bound_n = plan.at("moved_lower_bound_by_n").as_array()[n].to_number<int64_t>();
    EXPECT_GE(moved_n, bound_n);
    EXPECT_LE(double(moved_n), 1.1 * double(bound_n)) << "n = " << n + 1;
  }
  for (const auto& value : plan.at("nodes").as_array()) {
    const boost::json::object& node = value.as_object();
    const bool is_new = node.at("id").as_string() == "node-new";
    EXPECT_EQ(node.at("replicas_before").to_number<int64_t>() == 0, is_new);
  }

  // The human summary of the same change.
  std::tie(code, output) = run_cli("ring plan --nodes " + path("grown.toml") + " --previous " +
                                   path("v1.layout") + " --n 3");
  ASSERT_EQ(code, 0) << output;
  std::printf("%s", output.c_str());
  EXPECT_THAT(output, HasSubstr("node-new"));
  EXPECT_THAT(output, HasSubstr("replicas to copy:"));
  EXPECT_THAT(output, HasSubstr("repl before"));
  EXPECT_THAT(output, HasSubstr("assignment time:"));

  // Q is fixed by the previous layout.
  std::tie(code, output) = run_cli("ring plan --nodes " + path("grown.toml") + " --previous " +
                                   path("v1.layout") + " --partitions 2048 --n 3");
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("--partitions 2048 does not match the 1024 partitions"));
}

TEST_F(RingPlanTest, BadInputIsAnErrorThatNamesTheLineOrFlag) {
  write(path("bad.toml"),
        "[[node]]\nid = \"a\"\ncapacity = 1\n\n[[node]]\nid = \"b\"\n"
        "capacity = 0\n");
  auto [code, output] = run_cli("ring plan --nodes " + path("bad.toml") + " --partitions 64 --n 1");
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("bad.toml line 7: node \"b\": 'capacity' must be"));

  write(path("two.toml"),
        "[[node]]\nid = \"a\"\ncapacity = 1\n[[node]]\nid = \"b\"\n"
        "capacity = 1\n");
  std::tie(code, output) =
      run_cli("ring plan --nodes " + path("two.toml") + " --partitions 64 --n 3");
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("--n 3 is larger than the 2 active nodes"));
  std::tie(code, output) =
      run_cli("ring plan --nodes " + path("two.toml") + " --partitions 1000 --n 1");
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("--partitions must be a power of two"));
  std::tie(code, output) = run_cli("ring plan --nodes " + path("two.toml") + " --n 1 --json");
  EXPECT_EQ(code, 0) << output;  // a new cluster gets the default Q
  EXPECT_THAT(output, HasSubstr("\"partitions\":1024"));
  std::tie(code, output) = run_cli("ring plan --nodes " + path("two.toml") + " --previous " +
                                   path("bad.toml") + " --n 1");
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("is not a ring layout"));
  std::tie(code, output) = run_cli("ring plan --nodes " + path("two.toml") +
                                   " --partitions 64 --n 1 --out " + path("missing/dir/x"));
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("cannot write layout '" + path("missing/dir/x") + "'"));
}

}  // namespace
}  // namespace ringkv
