// ClusterTest: a cluster of real `ringkv serve` processes on loopback,
// joined through the first, and the helpers the cluster tests share
// (clients, /v1/cluster views, /metrics values, polling).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "client/kv_client.h"
#include "serve_process.h"

namespace ringkv::testing {

inline std::string after(const std::string& text, std::string_view marker) {
  const size_t at = text.find(marker);
  if (at == std::string::npos)
    return {};
  const size_t begin = at + marker.size();
  return text.substr(begin, text.find('\n', begin) - begin);
}

// The sibling values of a read, sorted ("<deleted>" for a tombstone).
inline std::vector<std::string> values(const GetResult& result) {
  std::vector<std::string> out;
  for (const auto& sibling : result.siblings)
    out.push_back(sibling ? *sibling : "<deleted>");
  std::sort(out.begin(), out.end());
  return out;
}

// A client of `node`, sending `token` (an API token) when one is given.
inline KvClient client_for(const ServeProcess& node, const std::string& token = {}) {
  auto options = parse_server_url(node.url());
  EXPECT_TRUE(options.ok());
  options->bearer_token = token;
  return KvClient(*options);
}

// Polls `condition` every 20 ms for up to 20 s: for state that settles over
// the network (a restarted node's new address reaching the others).
inline bool eventually(const std::function<bool()>& condition, int seconds = 20) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < give_up) {
    if (condition())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

// Stops and joins a test's background client when the test returns early
// (a failed ASSERT): destroying a joinable std::thread would abort the whole
// binary and hide every later test's result.
class StopAndJoin {
 public:
  StopAndJoin(std::atomic<bool>& stop, std::thread& thread) : stop_(stop), thread_(thread) {}
  StopAndJoin(const StopAndJoin&) = delete;
  StopAndJoin& operator=(const StopAndJoin&) = delete;
  ~StopAndJoin() {
    stop_ = true;
    if (thread_.joinable())
      thread_.join();
  }

 private:
  std::atomic<bool>& stop_;
  std::thread& thread_;
};

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = make_temp_directory("cluster");
    for (int index = 1; index <= node_count_; ++index) {
      nodes_.push_back(std::make_unique<ServeProcess>(arguments(index)));
      ASSERT_TRUE(nodes_.back()->start()) << nodes_.back()->output();
      if (index == 1) {
        contact_ = after(nodes_.back()->output(), "peers reach this node at ");
        ASSERT_FALSE(contact_.empty()) << nodes_.back()->output();
        // A cluster formed with --auth: the fixture's own requests use its
        // first admin token.
        std::ifstream token_file(fmt::format("{}/n1/admin.token", directory_));
        std::getline(token_file, token_);
      }
    }
    // Joins are layout changes: wait until every node owns its share (the
    // joins close together make one move).
    ASSERT_TRUE(eventually([&] { return balanced_with_all(); }))
        << boost::json::serialize(cluster_view(*nodes_[0]));
  }

  // True when every node's view has no move in progress and a layout in
  // which every node owns partitions.
  bool balanced_with_all() {
    for (auto& node : nodes_) {
      if (!node->running())
        continue;
      const boost::json::value view = cluster_view(*node);
      if (!view.is_object() || !view.as_object().contains("balanced") ||
          !view.at("balanced").as_bool())
        return false;
      for (const auto& member : view.at("members").as_array()) {
        const auto& entry = member.as_object();
        if (!entry.contains("ring_partitions") || entry.at("ring_partitions").as_int64() == 0)
          return false;
      }
    }
    return true;
  }
  void TearDown() override {
    nodes_.clear();
    std::filesystem::remove_all(directory_);
  }

  std::vector<std::string> arguments(int index) const {
    std::vector<std::string> out = {"serve",
                                    "--node-id",
                                    fmt::format("n{}", index),
                                    "--data-dir",
                                    fmt::format("{}/n{}", directory_, index),
                                    "--listen-http",
                                    "127.0.0.1:0",
                                    "--listen-peer",
                                    "127.0.0.1:0",
                                    "--request-timeout-ms",
                                    "3000"};
    if (index > 1)
      out.insert(out.end(), {"--join", contact_});
    out.insert(out.end(), extra_arguments_.begin(), extra_arguments_.end());
    if (per_node_arguments_) {
      const std::vector<std::string> more = per_node_arguments_(index);
      out.insert(out.end(), more.begin(), more.end());
    }
    return out;
  }

  // The peer address `observer` has for member `id` (from /v1/cluster).
  std::string peer_address_seen(ServeProcess& observer, const std::string& id) {
    return member_field(observer, id, "peer");
  }

  // `observer`'s GET /v1/cluster, parsed (null when it does not answer).
  boost::json::value cluster_view(ServeProcess& observer) {
    auto response = client_for(observer, token_).send({"GET", "/v1/cluster", {}, {}});
    if (!response.ok() || response->status != 200)
      return nullptr;
    boost::system::error_code error;
    auto parsed = boost::json::parse(response->body, error);
    return error ? boost::json::value(nullptr) : parsed;
  }
  // The state ("up", "down") `observer` gives member `id`.
  std::string state_seen(ServeProcess& observer, const std::string& id) {
    return member_field(observer, id, "state");
  }
  // A text field of member `id` in `observer`'s /v1/cluster (empty if absent).
  std::string member_field(ServeProcess& observer, const std::string& id, const char* field) {
    const boost::json::value view = cluster_view(observer);
    if (!view.is_object())
      return {};
    for (const auto& member : view.at("members").as_array()) {
      const auto& entry = member.as_object();
      if (entry.at("id").as_string() == id && entry.contains(field))
        return std::string(entry.at(field).as_string());
    }
    return {};
  }
  // This node's record count for `store` (GET /v1/stores/{store}/merkle).
  int64_t keys_held(ServeProcess& node, const std::string& store) {
    auto response =
        client_for(node, token_).send({"GET", fmt::format("/v1/stores/{}/merkle", store), {}, {}});
    if (!response.ok() || response->status != 200)
      return -1;
    return boost::json::parse(response->body).at("keys").as_int64();
  }
  // A counter or gauge from `node`'s /metrics (-1 when absent).
  int64_t metric(ServeProcess& node, std::string_view name) {
    auto response = client_for(node).send({"GET", "/metrics", {}, {}});
    if (!response.ok())
      return -1;
    const std::string marker = fmt::format("\n{} ", name);
    const size_t at = response->body.find(marker);
    if (at == std::string::npos)
      return -1;
    return std::stoll(response->body.substr(at + marker.size()));
  }

  int node_count_ = 3;
  std::vector<std::string> extra_arguments_;
  std::function<std::vector<std::string>(int)> per_node_arguments_;  // node index (1..) -> flags
  std::string directory_;
  std::string contact_;
  std::string token_;  // n1's DATA/admin.token, when the cluster was formed with --auth
  std::vector<std::unique_ptr<ServeProcess>> nodes_;
};

}  // namespace ringkv::testing
