// The pure parts of `ringkv bench` (cli/bench_command.h runs them): the
// YCSB-style workload mixer (which operation, which key, which value), the
// open-loop schedule, how a latency is measured, how errors are classed, and
// the results as a table, JSON and a progress line. No I/O, no clocks: every
// choice comes from a seeded ringkv::Random, every time is an offset given by
// the caller, so the same seed and times give the same answers.
//
// Workloads (YCSB's core workloads, plus a pure write one):
//   A  50% read, 50% update        B  95% read, 5% update      C  read only
//   F  50% read, 50% read-modify-write (a GET, then a PUT with its context)
//   W  insert only: every write names a key never written before
//
// Thread safety: the generators (ZipfianGenerator, KeyChooser, Schedule) are
// immutable after construction and safe to share; the Random passed in is the
// caller's own. Everything else is a plain value or a pure function.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/histogram.h"
#include "common/random.h"
#include "common/status.h"

namespace ringkv::bench {

enum class Workload { A, B, C, F, W };
enum class Operation { read, update, insert, rmw };
inline constexpr size_t kOperationCount = 4;
enum class Distribution { uniform, zipfian };

// "A" (or "a") -> Workload::A; invalid_argument naming the choices otherwise.
Result<Workload> parse_workload(std::string_view text);
Result<Distribution> parse_distribution(std::string_view text);
std::string_view workload_name(Workload workload);              // "A"
std::string_view workload_mix(Workload workload);               // "50% read, 50% update"
std::string_view operation_name(Operation operation);           // "read"
std::string_view distribution_name(Distribution distribution);  // "zipfian"
// The operations a workload reports, in table order (F: read, update, rmw,
// an rmw's GET and PUT counting as a read and an update too).
std::vector<Operation> operations_of(Workload workload);

// A uniform double in [0, 1) from 53 random bits.
double unit_interval(Random& random);
// The next operation of `workload`.
Operation choose_operation(Workload workload, Random& random);

// sum_{i=1}^{n} 1 / i^theta: exact up to a million terms, the Euler-Maclaurin
// tail beyond (relative error below 1e-12), so a billion keys cost no more
// than a million.
double zeta(uint64_t n, double theta);

// YCSB's ZipfianGenerator (Gray et al., "Quickly generating billion-record
// synthetic databases"): ranks in [0, items), rank 0 the most popular,
// P(rank r) ~ 1 / (r + 1)^theta.
class ZipfianGenerator {
 public:
  static constexpr double kYcsbTheta = 0.99;
  // REQUIRES: items >= 1, 0 < theta < 1.
  explicit ZipfianGenerator(uint64_t items, double theta = kYcsbTheta);
  uint64_t next(Random& random) const;
  uint64_t items() const { return items_; }
  // P(rank 0) = 1 / zeta(items, theta), exactly as the generator draws it.
  double top_share() const { return 1.0 / zeta_n_; }

 private:
  uint64_t items_;
  double theta_;
  double alpha_;
  double zeta_n_;
  double eta_;
  double half_pow_theta_;  // 0.5^theta: the share of rank 1 is this / zeta_n_
};

// YCSB's 64-bit FNV-1a of the eight little-endian bytes of `value`.
uint64_t fnv1a64(uint64_t value);

// Key numbers in [0, keys): uniform, or zipfian ranks scrambled as YCSB's
// ScrambledZipfianGenerator does (fnv1a64(rank) % keys) so the popular keys
// are not user0, user1, ... but spread over the key space (and the ring).
class KeyChooser {
 public:
  // REQUIRES: keys >= 1.
  KeyChooser(Distribution distribution, uint64_t keys);
  uint64_t next(Random& random) const;
  // The key number zipfian rank `rank` maps to (the identity when uniform).
  uint64_t key_of_rank(uint64_t rank) const;
  const ZipfianGenerator& zipfian() const { return zipfian_; }

 private:
  Distribution distribution_;
  uint64_t keys_;
  ZipfianGenerator zipfian_;
};

// "user<number>", as YCSB names its keys.
std::string key_name(uint64_t number);
// The key number of `connection`'s `sequence`-th insert (workload W): past the
// loaded keys, interleaved so no two connections ever write the same key.
uint64_t insert_key_number(uint64_t keys, uint32_t connections, uint32_t connection,
                           uint64_t sequence);
// `size` random characters from a 64-letter printable alphabet (A-Z a-z 0-9 - _).
std::string random_value(Random& random, size_t size);

// When each request is due (wrk2's open loop). `total_rate` requests per
// second are spread evenly over `connections`: request k of connection c is
// due (k * connections + c) / total_rate seconds after the start, i.e. each
// connection sends every connections / total_rate seconds, the connections
// staggered so that the whole run sends one request every 1 / total_rate.
// total_rate 0 is a closed loop: no schedule, each connection sends as fast
// as its answers come back.
class Schedule {
 public:
  using Nanos = std::chrono::nanoseconds;
  // REQUIRES: total_rate >= 0, connections >= 1.
  Schedule(double total_rate, uint32_t connections);
  bool open_loop() const { return rate_ > 0; }
  double rate() const { return rate_; }
  uint32_t connections() const { return connections_; }
  // Request `k` of `connection`'s due time after the start. REQUIRES: open_loop().
  Nanos due(uint32_t connection, uint64_t k) const;
  // How many of `connection`'s requests are due before `offset`.
  uint64_t due_before(uint32_t connection, Nanos offset) const;

 private:
  double rate_;
  uint32_t connections_;
};

// The latency to record for a request due at `due`, sent at `sent`, answered
// at `done` (offsets from the start). Open loop: from the due time, so a
// worker that fell behind (a stalled server) records the wait it caused too
// and coordinated omission cannot hide the stall. Closed loop: from the send.
Schedule::Nanos measured_latency(const Schedule& schedule, Schedule::Nanos due,
                                 Schedule::Nanos sent, Schedule::Nanos done);

// How a request failed: by HTTP status class, or below HTTP.
enum class ErrorKind { http_4xx, http_5xx, transport, other };
inline constexpr size_t kErrorKindCount = 4;
std::string_view error_kind_name(ErrorKind kind);  // "4xx", "5xx", "transport", "other"
// A KvClient failure's kind: "HTTP 503 ..." is 5xx; unavailable or io_error
// without an HTTP status is transport (no connection, TLS, deadline); the
// rest (an answer the client could not read) is other.
ErrorKind classify_error(const Status& status);

// A count of failures of one kind and the earliest one's message.
struct ErrorSummary {
  uint64_t count = 0;
  std::string first_message;
  uint64_t first_at_us = 0;  // when the first was seen (from the start): merge keeps the earliest
};
void merge_into(ErrorSummary& into, const ErrorSummary& other);

// One operation's results: successes' latencies in µs, and failures.
struct OperationStats {
  Histogram latency_us;
  uint64_t errors = 0;
};

// What a run measured, and the settings needed to read it.
struct BenchReport {
  Workload workload = Workload::A;
  Distribution distribution = Distribution::zipfian;
  uint64_t keys = 0;
  size_t value_size = 0;
  double rate = 0;  // 0: closed loop
  uint32_t connections = 0;
  double duration_s = 0;  // the measured window (warmup excluded)
  std::string store;
  std::array<OperationStats, kOperationCount> operations;  // indexed by Operation
  OperationStats total;                              // scheduled operations (an rmw counts once)
  std::array<ErrorSummary, kErrorKindCount> errors;  // failed requests, by kind
  uint64_t behind_schedule = 0;  // requests due in the window but not sent by its end
};

// "zipfian over 100000 keys", or for workload W "new keys from user100000".
std::string keys_text(Workload workload, Distribution distribution, uint64_t keys);
// The table: a line describing the run, then one row per operation of the
// workload and a total: count, errors, ops/s, p50, p90, p99, p99.9 and max
// in milliseconds.
std::string format_table(const BenchReport& report);
// The same as one JSON object: the settings (workload, mix, store,
// distribution, keys, value_size, rate, connections, duration_s), then
// "operations": {name: stats}, "total": stats, where stats is {count, errors,
// ops_per_s, mean_ms, p50_ms, p90_ms, p99_ms, p99_9_ms, max_ms}; "errors":
// {kind: {count, first}} ("first" only when count > 0) and behind_schedule.
std::string format_json(const BenchReport& report);
// One line per error kind seen: its count and first message; then a line
// when the client could not keep to the rate. Empty when all went well.
std::string format_problems(const BenchReport& report);

// What the progress line shows, once per second.
struct Progress {
  double elapsed_s = 0;
  bool warmup = false;
  uint64_t operations = 0;  // completed since the start
  uint64_t errors = 0;      // failed since the start
  // Of the operations answered in the last second; nullopt when none was.
  std::optional<uint64_t> p99_us;
};
std::string format_progress(const Progress& progress);

}  // namespace ringkv::bench
