// Integration tests of `ringkv bench`: the built binary against one real
// `ringkv serve` on loopback. Workload A at 200 requests/s for 2 s sends
// about 400 requests, all answered; workload F reports its read-modify-writes;
// a server that is not there is exit code 1 before any run.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "serve_process.h"

namespace ringkv {
namespace {

using ::testing::HasSubstr;
using testing::make_temp_directory;
using testing::run_cli;
using testing::ServeProcess;

namespace json = boost::json;

class BenchCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = make_temp_directory("bench");
    server_ = std::make_unique<ServeProcess>(
        std::vector<std::string>{"serve", "--data-dir", data_dir_, "--listen-http", "127.0.0.1:0",
                                 "--listen-peer", "127.0.0.1:0"});
    ASSERT_TRUE(server_->start()) << server_->output();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(data_dir_);
  }

  // Runs a bench of `workload` at 200 requests/s for 2 s and returns its JSON.
  json::object bench(const std::string& workload) {
    auto [code, output] = run_cli("bench --server " + server_->url() + " --workload " + workload +
                                      " --keys 200 --rate 200 --duration 2 --warmup 0 --load "
                                      "--json --n 1 --r 1 --w 1",
                                  false);
    EXPECT_EQ(code, 0) << output;
    boost::system::error_code error;
    const json::value parsed = json::parse(output, error);
    EXPECT_FALSE(error) << output;
    return !error && parsed.is_object() ? parsed.as_object() : json::object{};
  }

  std::string data_dir_;
  std::unique_ptr<ServeProcess> server_;
};

double number(const json::object& object, std::string_view field) {
  return object.at(field).to_number<double>();
}

// p50 <= p99 <= max, and no request failed.
void expect_sound(const json::object& stats, std::string_view name) {
  EXPECT_GT(number(stats, "count"), 0) << name;
  EXPECT_EQ(number(stats, "errors"), 0) << name;
  EXPECT_LE(number(stats, "p50_ms"), number(stats, "p99_ms")) << name;
  EXPECT_LE(number(stats, "p99_ms"), number(stats, "max_ms")) << name;
}

TEST_F(BenchCliTest, WorkloadAKeepsTheRateWithoutErrors) {
  const json::object result = bench("A");
  ASSERT_TRUE(result.contains("operations")) << json::serialize(result);
  const json::object& operations = result.at("operations").as_object();
  ASSERT_TRUE(operations.contains("read") && operations.contains("update"));
  expect_sound(operations.at("read").as_object(), "read");
  expect_sound(operations.at("update").as_object(), "update");
  const json::object& total = result.at("total").as_object();
  expect_sound(total, "total");
  // 200 requests/s for 2 s: about 400.
  EXPECT_NEAR(number(total, "count"), 400, 80) << json::serialize(result);
  EXPECT_EQ(number(total, "count"), number(operations.at("read").as_object(), "count") +
                                        number(operations.at("update").as_object(), "count"));
  for (const auto& [kind, summary] : result.at("errors").as_object())
    EXPECT_EQ(number(summary.as_object(), "count"), 0) << kind;
  // The client kept the schedule: at most 1% of the requests due were never
  // sent (a request due in the run's last milliseconds while every connection
  // is busy; CI runs this under sanitizers beside other tests, and one such
  // request in 400 was seen there).
  EXPECT_LE(number(result, "behind_schedule"), 4) << json::serialize(result);
}

TEST_F(BenchCliTest, WorkloadFCountsReadModifyWritesAndTheirParts) {
  const json::object result = bench("F");
  ASSERT_TRUE(result.contains("operations")) << json::serialize(result);
  const json::object& operations = result.at("operations").as_object();
  ASSERT_TRUE(operations.contains("rmw")) << json::serialize(result);
  const json::object& rmw = operations.at("rmw").as_object();
  expect_sound(rmw, "rmw");
  expect_sound(operations.at("read").as_object(), "read");
  // Every rmw's PUT is an update; its GET a read besides the plain reads.
  EXPECT_EQ(number(operations.at("update").as_object(), "count"), number(rmw, "count"));
  EXPECT_GT(number(operations.at("read").as_object(), "count"), number(rmw, "count"));
  EXPECT_NEAR(number(result.at("total").as_object(), "count"), 400, 80);
}

TEST_F(BenchCliTest, AServerThatIsNotThereIsAnErrorBeforeTheRun) {
  const std::string url = server_->url();
  server_.reset();  // the port is now closed
  auto [code, output] = run_cli("bench --server " + url + " --duration 1 --warmup 0");
  EXPECT_EQ(code, 1) << output;
  EXPECT_THAT(output, HasSubstr("cannot reach " + url));
  auto [bad_code, bad_output] = run_cli("bench --server " + url + " --workload Q");
  EXPECT_EQ(bad_code, 1) << bad_output;
  EXPECT_THAT(bad_output, HasSubstr("--workload 'Q' is not one of"));
}

}  // namespace
}  // namespace ringkv
