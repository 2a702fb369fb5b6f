// Unit tests of cli/bench_workload.h: the operation mix, the key choice
// (zipfian popularity, uniform coverage, the scramble), reproducibility from
// a seed, the open-loop schedule and how latency is measured, error classes,
// and the table, JSON and progress line.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "cli/bench_workload.h"

namespace ringkv::bench {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kDraws = 1'000'000;

// The share of each operation in kDraws choices of `workload`.
std::map<Operation, double> mix_of(Workload workload) {
  Random random(3);
  std::map<Operation, double> shares;
  for (int draw = 0; draw < kDraws; ++draw)
    shares[choose_operation(workload, random)] += 1.0 / kDraws;
  return shares;
}

TEST(BenchWorkload, ParsesWorkloadsAndDistributions) {
  for (std::string_view name : {"A", "B", "C", "F", "W", "a", "f"}) {
    auto workload = parse_workload(name);
    ASSERT_TRUE(workload.ok()) << name;
    EXPECT_EQ(workload_name(*workload)[0], std::toupper(name[0]));
  }
  const auto bad = parse_workload("D");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("A (50% read, 50% update)"));
  EXPECT_FALSE(parse_workload("AB").ok());
  EXPECT_EQ(*parse_distribution("uniform"), Distribution::uniform);
  EXPECT_EQ(*parse_distribution("zipfian"), Distribution::zipfian);
  EXPECT_THAT(parse_distribution("normal").status().message(), HasSubstr("uniform or zipfian"));
}

TEST(BenchWorkload, EachWorkloadDrawsItsMix) {
  auto a = mix_of(Workload::A);
  EXPECT_NEAR(a[Operation::read], 0.50, 0.01);
  EXPECT_NEAR(a[Operation::update], 0.50, 0.01);
  auto b = mix_of(Workload::B);
  EXPECT_NEAR(b[Operation::read], 0.95, 0.01);
  EXPECT_NEAR(b[Operation::update], 0.05, 0.01);
  EXPECT_NEAR(mix_of(Workload::C)[Operation::read], 1.0, 1e-9);
  auto f = mix_of(Workload::F);
  EXPECT_NEAR(f[Operation::read], 0.50, 0.01);
  EXPECT_NEAR(f[Operation::rmw], 0.50, 0.01);
  EXPECT_NEAR(mix_of(Workload::W)[Operation::insert], 1.0, 1e-9);
  EXPECT_EQ(operations_of(Workload::A),
            (std::vector<Operation>{Operation::read, Operation::update}));
  EXPECT_EQ(operations_of(Workload::F),
            (std::vector<Operation>{Operation::read, Operation::update, Operation::rmw}));
  EXPECT_EQ(operations_of(Workload::W), std::vector<Operation>{Operation::insert});
}

TEST(BenchWorkload, ZetaMatchesTheDirectSum) {
  const double theta = ZipfianGenerator::kYcsbTheta;
  EXPECT_DOUBLE_EQ(zeta(1, theta), 1.0);
  EXPECT_DOUBLE_EQ(zeta(2, theta), 1.0 + std::pow(0.5, theta));
  // Past a million terms the tail is Euler-Maclaurin's.
  const uint64_t n = 3'000'000;
  double direct = 0;
  for (uint64_t i = 1; i <= n; ++i)
    direct += 1.0 / std::pow(double(i), theta);
  EXPECT_NEAR(zeta(n, theta), direct, direct * 1e-10);
}

TEST(BenchWorkload, ZipfianMostPopularRankDrawsItsExpectedShare) {
  const ZipfianGenerator zipfian(1000);
  Random random(11);
  std::vector<uint64_t> counts(1000, 0);
  for (int draw = 0; draw < kDraws; ++draw) {
    const uint64_t rank = zipfian.next(random);
    ASSERT_LT(rank, 1000u);
    ++counts[rank];
  }
  // P(rank 0) = 1 / zeta(1000, 0.99), about 13.4%; P(rank 1) = 0.5^0.99 of it.
  const double top = zipfian.top_share();
  EXPECT_NEAR(top, 1.0 / zeta(1000, 0.99), 1e-12);
  EXPECT_NEAR(double(counts[0]) / kDraws, top, top * 0.02);
  EXPECT_NEAR(double(counts[1]) / kDraws, top * std::pow(0.5, 0.99), top * 0.02);
  EXPECT_GT(counts[1], counts[10]);
  EXPECT_GT(counts[10], counts[500]);
}

TEST(BenchWorkload, ScrambledZipfianSpreadsHotKeysButKeepsTheirShare) {
  const KeyChooser chooser(Distribution::zipfian, 1000);
  Random random(12);
  std::vector<uint64_t> counts(1000, 0);
  for (int draw = 0; draw < kDraws; ++draw)
    ++counts[chooser.next(random)];
  const uint64_t hottest = std::max_element(counts.begin(), counts.end()) - counts.begin();
  EXPECT_EQ(hottest, chooser.key_of_rank(0));
  // Its share: rank 0's, plus the rare ranks the hash sends to the same key.
  double expected = 0;
  for (uint64_t rank = 0; rank < 1000; ++rank) {
    if (chooser.key_of_rank(rank) == hottest)
      expected += chooser.zipfian().top_share() / std::pow(double(rank + 1), 0.99);
  }
  EXPECT_NEAR(double(counts[hottest]) / kDraws, expected, expected * 0.03);
  // The ten most popular ranks are not the keys 0..9 but spread out.
  std::set<uint64_t> hot;
  for (uint64_t rank = 0; rank < 10; ++rank)
    hot.insert(chooser.key_of_rank(rank));
  EXPECT_GE(hot.size(), 9u);
  EXPECT_GT(*hot.rbegin(), 100u);
}

TEST(BenchWorkload, UniformCoversEveryKeyEvenly) {
  const KeyChooser chooser(Distribution::uniform, 100);
  Random random(13);
  std::vector<uint64_t> counts(100, 0);
  for (int draw = 0; draw < kDraws; ++draw)
    ++counts[chooser.next(random)];
  for (uint64_t key = 0; key < 100; ++key)  // 10,000 expected; 5% is five standard deviations
    EXPECT_NEAR(double(counts[key]), 10'000, 500) << key;
}

TEST(BenchWorkload, AFixedSeedReproducesTheSameRun) {
  const KeyChooser chooser(Distribution::zipfian, 100'000);
  auto run = [&](uint64_t seed) {
    Random random(seed);
    std::vector<std::string> choices;
    for (int draw = 0; draw < 1000; ++draw) {
      const Operation operation = choose_operation(Workload::A, random);
      choices.push_back(std::string(operation_name(operation)) + " " +
                        key_name(chooser.next(random)) + " " + random_value(random, 16));
    }
    return choices;
  };
  EXPECT_EQ(run(42), run(42));
  EXPECT_NE(run(42), run(43));
}

TEST(BenchWorkload, KeysAndValuesLookLikeYcsbs) {
  EXPECT_EQ(key_name(0), "user0");
  EXPECT_EQ(key_name(99'999), "user99999");
  Random random(1);
  const std::string value = random_value(random, 100);
  EXPECT_EQ(value.size(), 100u);
  for (char letter : value)
    EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(letter)) || letter == '-' || letter == '_');
  EXPECT_EQ(random_value(random, 0), "");
  // Inserts of different connections never collide, and never hit a loaded key.
  std::set<uint64_t> inserted;
  for (uint32_t connection = 0; connection < 4; ++connection) {
    for (uint64_t sequence = 0; sequence < 100; ++sequence)
      inserted.insert(insert_key_number(1000, 4, connection, sequence));
  }
  EXPECT_EQ(inserted.size(), 400u);
  EXPECT_EQ(*inserted.begin(), 1000u);
}

TEST(BenchSchedule, ConnectionsAreStaggeredIntoOneEvenSchedule) {
  const Schedule schedule(100, 4);  // one request every 10 ms in all; each connection every 40
  ASSERT_TRUE(schedule.open_loop());
  EXPECT_EQ(schedule.due(0, 0), nanoseconds(0));
  EXPECT_EQ(schedule.due(1, 0), milliseconds(10));
  EXPECT_EQ(schedule.due(3, 0), milliseconds(30));
  EXPECT_EQ(schedule.due(0, 1), milliseconds(40));
  EXPECT_EQ(schedule.due(2, 25), milliseconds(1020));
  std::set<int64_t> all;
  uint64_t total = 0;
  for (uint32_t connection = 0; connection < 4; ++connection) {
    const uint64_t count = schedule.due_before(connection, milliseconds(1000));
    EXPECT_EQ(count, 25u);
    total += count;
    for (uint64_t k = 0; k < count; ++k)
      all.insert(schedule.due(connection, k).count());
  }
  EXPECT_EQ(total, 100u);
  EXPECT_EQ(all.size(), 100u);  // every 10 ms slot exactly once
  EXPECT_EQ(*all.rbegin(), nanoseconds(milliseconds(990)).count());
}

TEST(BenchSchedule, DueCountsMatchRateTimesDuration) {
  const Schedule schedule(200, 16);
  uint64_t total = 0;
  for (uint32_t connection = 0; connection < 16; ++connection)
    total += schedule.due_before(connection, std::chrono::seconds(2));
  EXPECT_EQ(total, 400u);
  const Schedule odd(3, 2);  // a rate below the connection count's, not a whole divisor
  EXPECT_EQ(odd.due(1, 0), nanoseconds(333'333'333));
  EXPECT_EQ(
      odd.due_before(0, std::chrono::seconds(10)) + odd.due_before(1, std::chrono::seconds(10)),
      30u);
  EXPECT_EQ(odd.due_before(1, nanoseconds(333'333'333)), 0u);  // due exactly then: not before
  EXPECT_EQ(odd.due_before(1, nanoseconds(333'333'334)), 1u);
  EXPECT_FALSE(Schedule(0, 8).open_loop());
  EXPECT_EQ(Schedule(0, 8).due_before(0, std::chrono::seconds(5)), 0u);
}

TEST(BenchSchedule, AWorkerBehindScheduleMeasuresFromTheDueTime) {
  const Schedule open(1000, 1);
  // Due at 100 ms; the worker was stuck on a slow answer until 350 ms, so it
  // sent then; the answer took 10 ms. The 250 ms it waited count.
  EXPECT_EQ(measured_latency(open, milliseconds(100), milliseconds(350), milliseconds(360)),
            milliseconds(260));
  // On time: the same as from the send.
  EXPECT_EQ(measured_latency(open, milliseconds(100), milliseconds(100), milliseconds(103)),
            milliseconds(3));
  // A closed loop has no due time: from the send.
  const Schedule closed(0, 1);
  EXPECT_EQ(measured_latency(closed, milliseconds(100), milliseconds(350), milliseconds(360)),
            milliseconds(10));
}

TEST(BenchErrors, FailuresAreClassedByHttpStatusOrTransport) {
  EXPECT_EQ(classify_error(Status(Code::unavailable, "HTTP 503 overloaded: queue full")),
            ErrorKind::http_5xx);
  EXPECT_EQ(classify_error(Status(Code::internal, "HTTP 500 error: boom")), ErrorKind::http_5xx);
  EXPECT_EQ(classify_error(Status(Code::too_large, "HTTP 413 too_large: siblings")),
            ErrorKind::http_4xx);
  EXPECT_EQ(classify_error(Status(Code::permission_denied, "HTTP 401 unauthorized: token")),
            ErrorKind::http_4xx);
  EXPECT_EQ(classify_error(Status(Code::unavailable, "cannot connect to 127.0.0.1:1: refused")),
            ErrorKind::transport);
  EXPECT_EQ(classify_error(Status(Code::io_error, "read: end of stream")), ErrorKind::transport);
  EXPECT_EQ(classify_error(Status(Code::internal, "server sent a malformed sibling list")),
            ErrorKind::other);

  ErrorSummary merged;
  merge_into(merged, ErrorSummary{2, "later", 500});
  merge_into(merged, ErrorSummary{1, "earliest", 100});
  merge_into(merged, ErrorSummary{});
  EXPECT_EQ(merged.count, 3u);
  EXPECT_EQ(merged.first_message, "earliest");
}

BenchReport sample_report() {
  BenchReport report;
  report.workload = Workload::A;
  report.keys = 200;
  report.value_size = 100;
  report.rate = 200;
  report.connections = 16;
  report.duration_s = 2;
  report.store = "bench";
  // Microseconds below 256 are recorded exactly: the printed numbers are exact too.
  for (uint64_t value : {100u, 200u, 250u, 255u}) {
    report.operations[size_t(Operation::read)].latency_us.record(value);
    report.total.latency_us.record(value);
  }
  report.operations[size_t(Operation::update)].latency_us.record(150);
  report.operations[size_t(Operation::update)].errors = 1;
  report.total.latency_us.record(150);
  report.total.errors = 1;
  report.errors[size_t(ErrorKind::http_5xx)] = {1, "HTTP 503 overloaded: retry", 10};
  return report;
}

TEST(BenchFormat, TheTableHasOneRowPerOperationOfTheWorkload) {
  const std::string table = format_table(sample_report());
  EXPECT_THAT(table, HasSubstr("workload A (50% read, 50% update) on store 'bench'"));
  EXPECT_THAT(table, HasSubstr("200 requests/s over 16 connections"));
  EXPECT_THAT(table, HasSubstr("p99.9 ms"));
  EXPECT_THAT(table,
              HasSubstr("read                4        0        2.0     0.200     0.255     0.255"));
  EXPECT_THAT(table, HasSubstr("update              1        1"));
  EXPECT_THAT(table, HasSubstr("total               5        1        2.5"));
  EXPECT_THAT(table, Not(HasSubstr("rmw")));
  EXPECT_THAT(table, Not(HasSubstr("insert")));
}

TEST(BenchFormat, TheJsonHoldsTheSameNumbers) {
  const boost::json::value parsed = boost::json::parse(format_json(sample_report()));
  const auto& operations = parsed.at("operations").as_object();
  EXPECT_EQ(operations.size(), 2u);
  const auto& read = operations.at("read").as_object();
  EXPECT_EQ(read.at("count").to_number<uint64_t>(), 4u);
  EXPECT_EQ(read.at("errors").to_number<uint64_t>(), 0u);
  EXPECT_DOUBLE_EQ(read.at("ops_per_s").as_double(), 2.0);
  EXPECT_DOUBLE_EQ(read.at("p50_ms").as_double(), 0.2);
  EXPECT_DOUBLE_EQ(read.at("max_ms").as_double(), 0.255);
  EXPECT_DOUBLE_EQ(read.at("mean_ms").as_double(), 0.20125);
  EXPECT_TRUE(read.contains("p99_9_ms"));
  EXPECT_EQ(operations.at("update").at("errors").to_number<uint64_t>(), 1u);
  EXPECT_EQ(parsed.at("total").at("count").to_number<uint64_t>(), 5u);
  EXPECT_EQ(parsed.at("errors").at("5xx").at("count").to_number<uint64_t>(), 1u);
  EXPECT_EQ(parsed.at("errors").at("5xx").at("first").as_string(), "HTTP 503 overloaded: retry");
  EXPECT_EQ(parsed.at("errors").at("transport").at("count").to_number<uint64_t>(), 0u);
  EXPECT_EQ(parsed.at("workload").as_string(), "A");
  EXPECT_EQ(parsed.at("behind_schedule").to_number<uint64_t>(), 0u);
}

TEST(BenchFormat, ProblemsAndProgressSayWhatHappened) {
  BenchReport report = sample_report();
  EXPECT_EQ(format_problems(report), "5xx errors (1): the first: HTTP 503 overloaded: retry\n");
  report.behind_schedule = 12;
  EXPECT_THAT(format_problems(report), HasSubstr("12 requests due in the run were never sent"));
  EXPECT_THAT(format_problems(report), HasSubstr("lower --rate"));
  report.errors = {};
  report.behind_schedule = 0;
  EXPECT_EQ(format_problems(report), "");

  const std::string line = format_progress(
      Progress{.elapsed_s = 4, .warmup = true, .operations = 4000, .errors = 2, .p99_us = 1234});
  EXPECT_THAT(line, HasSubstr("4 s (warmup)"));
  EXPECT_THAT(line, HasSubstr("1000 ops/s"));
  EXPECT_THAT(line, HasSubstr("2 errors"));
  EXPECT_THAT(line, HasSubstr("p99 1.234 ms"));
  EXPECT_THAT(
      format_progress(Progress{.elapsed_s = 5, .operations = 10, .errors = 500, .p99_us = {}}),
      HasSubstr("p99 - (no answer)"));
  EXPECT_EQ(keys_text(Workload::W, Distribution::zipfian, 1000), "new keys from user1000");
  EXPECT_EQ(keys_text(Workload::A, Distribution::uniform, 1000), "uniform over 1000 keys");
}

}  // namespace
}  // namespace ringkv::bench
