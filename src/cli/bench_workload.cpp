// The pure parts of `ringkv bench`; see bench_workload.h.
#include "cli/bench_workload.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>

#include "common/check.h"

namespace ringkv::bench {
namespace {

namespace json = boost::json;

constexpr uint64_t kZetaExactTerms = 1'000'000;
constexpr std::string_view kValueAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

double milliseconds(uint64_t microseconds) {
  return double(microseconds) / 1000.0;
}

double per_second(uint64_t count, double seconds) {
  return seconds > 0 ? double(count) / seconds : 0.0;
}

// sum_{i=a}^{b} i^-theta by Euler-Maclaurin (integral, end points, first
// derivative term); a is large, so the next term is below 1e-20.
double zeta_tail(double a, double b, double theta) {
  const double integral = (std::pow(b, 1 - theta) - std::pow(a, 1 - theta)) / (1 - theta);
  const double ends = (std::pow(a, -theta) + std::pow(b, -theta)) / 2;
  const double slope = theta * (std::pow(a, -theta - 1) - std::pow(b, -theta - 1)) / 12;
  return integral + ends + slope;
}

std::string table_row(std::string_view name, const OperationStats& stats, double seconds) {
  const Histogram& latency = stats.latency_us;
  return fmt::format("{:<10} {:>10} {:>8} {:>10.1f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f} {:>9.3f}\n",
                     name, latency.count(), stats.errors, per_second(latency.count(), seconds),
                     milliseconds(latency.percentile(50)), milliseconds(latency.percentile(90)),
                     milliseconds(latency.percentile(99)), milliseconds(latency.percentile(99.9)),
                     milliseconds(latency.max()));
}

json::object stats_json(const OperationStats& stats, double seconds) {
  const Histogram& latency = stats.latency_us;
  return json::object{{"count", latency.count()},
                      {"errors", stats.errors},
                      {"ops_per_s", per_second(latency.count(), seconds)},
                      {"mean_ms", latency.mean() / 1000.0},
                      {"p50_ms", milliseconds(latency.percentile(50))},
                      {"p90_ms", milliseconds(latency.percentile(90))},
                      {"p99_ms", milliseconds(latency.percentile(99))},
                      {"p99_9_ms", milliseconds(latency.percentile(99.9))},
                      {"max_ms", milliseconds(latency.max())}};
}

std::string rate_text(const BenchReport& report) {
  if (report.rate <= 0)
    return fmt::format("closed loop on {} connections", report.connections);
  return fmt::format("{} requests/s over {} connections", report.rate, report.connections);
}

}  // namespace

Result<Workload> parse_workload(std::string_view text) {
  static constexpr std::array kAll = {Workload::A, Workload::B, Workload::C, Workload::F,
                                      Workload::W};
  for (Workload workload : kAll) {
    const std::string_view name = workload_name(workload);
    if (text.size() == 1 && std::toupper(static_cast<unsigned char>(text[0])) == name[0])
      return workload;
  }
  return Status(Code::invalid_argument,
                fmt::format("--workload '{}' is not one of A (50% read, 50% update), B (95% read), "
                            "C (read only), F (read-modify-write), W (insert only)",
                            text));
}

Result<Distribution> parse_distribution(std::string_view text) {
  if (text == "uniform")
    return Distribution::uniform;
  if (text == "zipfian")
    return Distribution::zipfian;
  return Status(Code::invalid_argument,
                fmt::format("--distribution '{}' is not uniform or zipfian", text));
}

std::string_view workload_name(Workload workload) {
  static constexpr std::array<std::string_view, 5> kNames = {"A", "B", "C", "F", "W"};
  return kNames[size_t(workload)];
}

std::string_view workload_mix(Workload workload) {
  switch (workload) {
    case Workload::A:
      return "50% read, 50% update";
    case Workload::B:
      return "95% read, 5% update";
    case Workload::C:
      return "100% read";
    case Workload::F:
      return "50% read, 50% read-modify-write";
    case Workload::W:
      return "100% insert";
  }
  return "";
}

std::string_view operation_name(Operation operation) {
  static constexpr std::array<std::string_view, kOperationCount> kNames = {"read", "update",
                                                                           "insert", "rmw"};
  return kNames[size_t(operation)];
}

std::string_view distribution_name(Distribution distribution) {
  return distribution == Distribution::uniform ? "uniform" : "zipfian";
}

std::vector<Operation> operations_of(Workload workload) {
  switch (workload) {
    case Workload::A:
    case Workload::B:
      return {Operation::read, Operation::update};
    case Workload::C:
      return {Operation::read};
    case Workload::F:
      return {Operation::read, Operation::update, Operation::rmw};
    case Workload::W:
      return {Operation::insert};
  }
  return {};
}

double unit_interval(Random& random) {
  return double(random.next() >> 11) * 0x1.0p-53;
}

Operation choose_operation(Workload workload, Random& random) {
  switch (workload) {
    case Workload::A:
      return unit_interval(random) < 0.5 ? Operation::read : Operation::update;
    case Workload::B:
      return unit_interval(random) < 0.95 ? Operation::read : Operation::update;
    case Workload::C:
      return Operation::read;
    case Workload::F:
      return unit_interval(random) < 0.5 ? Operation::read : Operation::rmw;
    case Workload::W:
      return Operation::insert;
  }
  return Operation::read;
}

double zeta(uint64_t n, double theta) {
  double sum = 0;
  const uint64_t exact = std::min(n, kZetaExactTerms);
  for (uint64_t i = 1; i <= exact; ++i)
    sum += 1.0 / std::pow(double(i), theta);
  if (n > exact)
    sum += zeta_tail(double(exact + 1), double(n), theta);
  return sum;
}

ZipfianGenerator::ZipfianGenerator(uint64_t items, double theta)
    : items_(items),
      theta_(theta),
      alpha_(1.0 / (1.0 - theta)),
      zeta_n_(zeta(items, theta)),
      eta_(0),
      half_pow_theta_(std::pow(0.5, theta)) {
  RINGKV_ASSERT(items >= 1, "a zipfian generator needs at least one item");
  RINGKV_ASSERT(theta > 0 && theta < 1, "the zipfian constant is in (0, 1)");
  // With one or two items next() never reaches the formula (and eta would divide by zero).
  if (items_ > 2) {
    const double zeta_2 = 1 + half_pow_theta_;
    eta_ = (1 - std::pow(2.0 / double(items_), 1 - theta_)) / (1 - zeta_2 / zeta_n_);
  }
}

uint64_t ZipfianGenerator::next(Random& random) const {
  const double u = unit_interval(random);
  const double uz = u * zeta_n_;
  if (uz < 1.0)
    return 0;
  if (uz < 1.0 + half_pow_theta_)
    return std::min<uint64_t>(1, items_ - 1);
  const auto rank = uint64_t(double(items_) * std::pow(eta_ * u - eta_ + 1, alpha_));
  return std::min(rank, items_ - 1);
}

uint64_t fnv1a64(uint64_t value) {
  uint64_t hash = 0xCBF29CE484222325ULL;
  for (int byte = 0; byte < 8; ++byte) {
    hash ^= value & 0xff;
    hash *= 1099511628211ULL;
    value >>= 8;
  }
  return hash;
}

KeyChooser::KeyChooser(Distribution distribution, uint64_t keys)
    : distribution_(distribution),
      keys_(keys),
      // A uniform chooser never draws from it: one item costs nothing to set up.
      zipfian_(distribution == Distribution::zipfian ? keys : 1) {}

uint64_t KeyChooser::next(Random& random) const {
  if (distribution_ == Distribution::uniform)
    return random.below(keys_);
  return key_of_rank(zipfian_.next(random));
}

uint64_t KeyChooser::key_of_rank(uint64_t rank) const {
  return distribution_ == Distribution::uniform ? rank : fnv1a64(rank) % keys_;
}

std::string key_name(uint64_t number) {
  return fmt::format("user{}", number);
}

uint64_t insert_key_number(uint64_t keys, uint32_t connections, uint32_t connection,
                           uint64_t sequence) {
  return keys + sequence * connections + connection;
}

std::string random_value(Random& random, size_t size) {
  std::string value(size, '\0');
  uint64_t bits = 0;
  for (size_t index = 0; index < size; ++index) {
    if (index % 10 == 0)
      bits = random.next();  // ten 6-bit letters per draw
    value[index] = kValueAlphabet[bits & 63];
    bits >>= 6;
  }
  return value;
}

Schedule::Schedule(double total_rate, uint32_t connections)
    : rate_(total_rate), connections_(connections) {
  RINGKV_ASSERT(total_rate >= 0, "a rate is not negative");
  RINGKV_ASSERT(connections >= 1, "a schedule needs a connection");
}

Schedule::Nanos Schedule::due(uint32_t connection, uint64_t k) const {
  RINGKV_ASSERT(open_loop(), "a closed loop has no schedule");
  const double slot = double(k) * connections_ + connection;
  return Nanos(int64_t(std::llround(slot * 1e9 / rate_)));
}

uint64_t Schedule::due_before(uint32_t connection, Nanos offset) const {
  if (!open_loop() || offset.count() <= 0)
    return 0;
  const double slots = double(offset.count()) * 1e-9 * rate_ - connection;
  auto count = uint64_t(std::max(0.0, std::ceil(slots / connections_)));
  // The estimate may be off by one where rounding to nanoseconds moved a due time.
  while (count > 0 && due(connection, count - 1) >= offset)
    --count;
  while (due(connection, count) < offset)
    ++count;
  return count;
}

Schedule::Nanos measured_latency(const Schedule& schedule, Schedule::Nanos due,
                                 Schedule::Nanos sent, Schedule::Nanos done) {
  return done - (schedule.open_loop() ? due : sent);
}

std::string_view error_kind_name(ErrorKind kind) {
  static constexpr std::array<std::string_view, kErrorKindCount> kNames = {"4xx", "5xx",
                                                                           "transport", "other"};
  return kNames[size_t(kind)];
}

ErrorKind classify_error(const Status& status) {
  const std::string& message = status.message();
  if (message.size() >= 8 && message.starts_with("HTTP ")) {
    if (message[5] == '4')
      return ErrorKind::http_4xx;
    if (message[5] == '5')
      return ErrorKind::http_5xx;
    return ErrorKind::other;
  }
  if (status.code() == Code::unavailable || status.code() == Code::io_error)
    return ErrorKind::transport;
  return ErrorKind::other;
}

void merge_into(ErrorSummary& into, const ErrorSummary& other) {
  if (other.count == 0)
    return;
  if (into.count == 0 || other.first_at_us < into.first_at_us) {
    into.first_message = other.first_message;
    into.first_at_us = other.first_at_us;
  }
  into.count += other.count;
}

std::string keys_text(Workload workload, Distribution distribution, uint64_t keys) {
  if (workload == Workload::W)
    return fmt::format("new keys from {}", key_name(keys));
  return fmt::format("{} over {} keys", distribution_name(distribution), keys);
}

std::string format_table(const BenchReport& report) {
  std::string out =
      fmt::format("workload {} ({}) on store '{}': {}, {}-byte values, {}, {} s measured\n",
                  workload_name(report.workload), workload_mix(report.workload), report.store,
                  keys_text(report.workload, report.distribution, report.keys), report.value_size,
                  rate_text(report), report.duration_s);
  out +=
      fmt::format("{:<10} {:>10} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "operation",
                  "count", "errors", "ops/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms");
  for (Operation operation : operations_of(report.workload)) {
    out += table_row(operation_name(operation), report.operations[size_t(operation)],
                     report.duration_s);
  }
  out += table_row("total", report.total, report.duration_s);
  return out;
}

std::string format_json(const BenchReport& report) {
  json::object operations;
  for (Operation operation : operations_of(report.workload)) {
    operations[operation_name(operation)] =
        stats_json(report.operations[size_t(operation)], report.duration_s);
  }
  json::object errors;
  for (size_t kind = 0; kind < kErrorKindCount; ++kind) {
    const ErrorSummary& summary = report.errors[kind];
    json::object entry{{"count", summary.count}};
    if (summary.count > 0)
      entry["first"] = summary.first_message;
    errors[error_kind_name(ErrorKind(kind))] = std::move(entry);
  }
  const json::object out{{"workload", workload_name(report.workload)},
                         {"mix", workload_mix(report.workload)},
                         {"store", report.store},
                         {"distribution", distribution_name(report.distribution)},
                         {"keys", report.keys},
                         {"value_size", report.value_size},
                         {"rate", report.rate},
                         {"connections", report.connections},
                         {"duration_s", report.duration_s},
                         {"operations", std::move(operations)},
                         {"total", stats_json(report.total, report.duration_s)},
                         {"errors", std::move(errors)},
                         {"behind_schedule", report.behind_schedule}};
  return json::serialize(out);
}

std::string format_problems(const BenchReport& report) {
  std::string out;
  for (size_t kind = 0; kind < kErrorKindCount; ++kind) {
    const ErrorSummary& summary = report.errors[kind];
    if (summary.count == 0)
      continue;
    out += fmt::format("{} errors ({}): the first: {}\n", error_kind_name(ErrorKind(kind)),
                       summary.count, summary.first_message);
  }
  if (report.behind_schedule > 0) {
    out += fmt::format(
        "behind schedule: {} requests due in the run were never sent: the server or this client "
        "could not keep up with --rate {}; lower --rate, or add --connections if the server "
        "has room\n",
        report.behind_schedule, report.rate);
  }
  return out;
}

std::string format_progress(const Progress& progress) {
  const double seconds = std::max(progress.elapsed_s, 1e-9);
  const std::string p99 = progress.p99_us ? fmt::format("{:.3f} ms", milliseconds(*progress.p99_us))
                                          : std::string("- (no answer)");
  return fmt::format("bench {:>5.0f} s {:<8}  {:>9.0f} ops/s  {} errors  p99 {}",
                     progress.elapsed_s, progress.warmup ? "(warmup)" : "",
                     double(progress.operations) / seconds, progress.errors, p99);
}

}  // namespace ringkv::bench
