// `ringkv bench`: the runner (threads, clocks, the network); the choices and
// the formatting it relies on are the pure functions of bench_workload.h.
// See bench_command.h.
#include "cli/bench_command.h"

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "cli/bench_drivers.h"
#include "cli/bench_workload.h"
#include "cli/token_command.h"
#include "client/kv_client.h"
#include "common/limits.h"
#include "common/store_config.h"

namespace ringkv {
namespace {

using namespace bench;
using Clock = std::chrono::steady_clock;
using Nanos = std::chrono::nanoseconds;

constexpr uint64_t kValueSizeMax = 64 * 1024 * 1024;  // sanity: far above any node's limit

int fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

Nanos to_nanos(double seconds) {
  return Nanos(int64_t(std::llround(seconds * 1e9)));
}

uint64_t to_micros(Nanos duration) {
  return uint64_t(std::max<int64_t>(0, duration.count() / 1000));
}

double to_seconds(Clock::duration duration) {
  return std::chrono::duration<double>(duration).count();
}

// The validated settings every worker reads (never written while they run,
// except `start`, set before their threads start).
struct Plan {
  System system;
  Workload workload;
  Distribution distribution;
  uint64_t keys;
  size_t value_size;
  std::string store;
  Schedule schedule;
  KeyChooser chooser;
  uint64_t seed;
  Nanos warmup;  // offsets from `start`
  Nanos end;
  Clock::time_point start;
};

Status check_numbers(const BenchOptions& options) {
  if (options.keys == 0)
    return {Code::invalid_argument, "--keys must be at least 1"};
  if (options.value_size > kValueSizeMax)
    return {Code::invalid_argument, "--value-size is over 64 MiB"};
  if (!std::isfinite(options.rate) || options.rate < 0)
    return {Code::invalid_argument, "--rate must be requests per second, >= 0 (0: closed loop)"};
  if (options.connections == 0 || options.connections > kConnectionsMaxDefault) {
    return {Code::invalid_argument,
            fmt::format("--connections must be 1 to {} (a node's connection limit)",
                        kConnectionsMaxDefault)};
  }
  if (!std::isfinite(options.duration_s) || options.duration_s <= 0)
    return {Code::invalid_argument, "--duration must be a positive number of seconds"};
  if (!std::isfinite(options.warmup_s) || options.warmup_s < 0)
    return {Code::invalid_argument, "--warmup must be a number of seconds >= 0"};
  return Status::Ok();
}

Result<StoreConfig> store_config(const BenchOptions& options) {
  StoreConfig config{.n = options.n, .r = options.r, .w = options.w};
  if (!parse(options.conflicts, config.conflicts))
    return Status(Code::invalid_argument, "--conflicts must be lww or siblings");
  if (Status status = validate(config); !status.ok())
    return status;
  if (Status status = validate_store_name(options.store); !status.ok())
    return status;
  return config;
}

Result<std::unique_ptr<Plan>> make_plan(const BenchOptions& options) {
  auto system = parse_system(options.system);
  if (!system.ok())
    return system.status();
  auto workload = parse_workload(options.workload);
  if (!workload.ok())
    return workload.status();
  auto distribution = parse_distribution(options.distribution);
  if (!distribution.ok())
    return distribution.status();
  if (Status status = check_numbers(options); !status.ok())
    return status;
  const Nanos warmup = to_nanos(options.warmup_s);
  return std::make_unique<Plan>(
      Plan{*system, *workload, *distribution, options.keys, options.value_size, options.store,
           Schedule(options.rate, options.connections), KeyChooser(*distribution, options.keys),
           options.seed, warmup, warmup + to_nanos(options.duration_s), Clock::time_point()});
}

// A store that exists already can be used without an admin token (which
// creating one needs) when the token may read it.
Status use_existing_store(KvClient& client, const std::string& store, const Status& refused) {
  auto shown = client.show_store(store);
  if (!shown.ok() && refused.message().starts_with("HTTP 401")) {  // it says what to send
    return {Code::permission_denied,
            fmt::format("cannot create store '{}': {}", store, refused.message())};
  }
  if (!shown.ok()) {
    return {Code::permission_denied,
            fmt::format("cannot create store '{}' ({}); create it with an admin token "
                        "(`ringkv store create`) or give --store a store this token may use",
                        store, refused.message())};
  }
  fmt::print(stderr,
             "bench: this token may not create stores; using store '{}' as it is (its "
             "--n/--r/--w/--conflicts were not checked)\n",
             store);
  return Status::Ok();
}

// Creates the store, or checks that an identical one exists. The first
// request of the run: it tells whether the server can be reached at all.
Status prepare_store(KvClient& client, const BenchOptions& options, const StoreConfig& config,
                     const std::string& server) {
  auto created = client.create_store(options.store, config);
  if (created.ok()) {
    fmt::print(stderr, "bench: {} store '{}' (n={} r={} w={} {})\n",
               created->second ? "created" : "using the identical", options.store, config.n,
               config.r, config.w, options.conflicts);
    return Status::Ok();
  }
  const Status& error = created.status();
  if (classify_error(error) == ErrorKind::transport) {
    return {error.code(), fmt::format("cannot reach {}: {}; is `ringkv serve` running there "
                                      "(--server, or RINGKV_SERVER)?",
                                      server, error.message())};
  }
  if (error.code() == Code::already_exists) {
    return {error.code(),
            fmt::format("store '{}' exists with another configuration ({}); give the "
                        "--n/--r/--w/--conflicts it was created with, or another --store",
                        options.store, error.message())};
  }
  if (error.code() == Code::permission_denied)
    return use_existing_store(client, options.store, error);
  return error;
}

// How to open one connection to the system under test.
struct Connect {
  System system = System::ringkv;
  net::HttpClientOptions http;  // ringkv, etcd
  RedisAddress redis;
  uint32_t timeout_ms = 0;
};

std::unique_ptr<Driver> make_driver(const Connect& connect, const std::string& store) {
  switch (connect.system) {
    case System::etcd:
      return make_etcd_driver(connect.http);
    case System::redis:
      return make_redis_driver(connect.redis, connect.timeout_ms);
    case System::ringkv:
      break;
  }
  return make_ringkv_driver(connect.http, store);
}

// etcd and Redis have no store to create: one read tells whether the server
// answers at all.
Status check_reachable(const Connect& connect, const std::string& server) {
  const Status status = make_driver(connect, {})->read(key_name(0), nullptr);
  if (status.ok())
    return status;
  return {status.code(), fmt::format("cannot reach {} at {}: {}", system_name(connect.system),
                                     server, status.message())};
}

// When a request was due and sent (offsets from the start).
struct Timing {
  Nanos due;
  Nanos sent;
};

// How a request ended, and when (offset from the start).
struct Answer {
  Status status;
  Nanos done;
};

// What a worker measured; guarded by its mutex.
struct Tally {
  std::array<OperationStats, kOperationCount> operations;  // the measured window
  OperationStats total;
  std::array<ErrorSummary, kErrorKindCount> errors;
  uint64_t behind_schedule = 0;
  // Since the reporter last looked (warmup too): for the progress line.
  uint64_t done = 0;
  uint64_t failed = 0;
  Histogram last_second;
};

// The load phase's counts, shared by its workers.
struct LoadState {
  std::atomic<uint64_t> written{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<uint32_t> finished{0};
  std::mutex mutex;
  std::string first_error;  // guarded by mutex
};

// One connection: its own driver, random stream and schedule.
class Worker {
 public:
  Worker(const Plan& plan, const Connect& connect, uint32_t connection)
      : plan_(plan),
        connection_(connection),
        driver_(make_driver(connect, plan.store)),
        random_(plan.seed * 0x9E3779B97F4A7C15ULL + connection) {}

  // Writes keys connection, connection + C, ... once each (closed loop).
  void load(LoadState& state);
  // Sends requests on the schedule until the end.
  void run();
  // Adds the counts since the last call to `progress` and `last_second`.
  void drain_progress(Progress& progress, Histogram& last_second);
  // Adds everything measured to `report`.
  void add_to(BenchReport& report);

 private:
  Nanos elapsed() const { return Clock::now() - plan_.start; }
  void run_one(Operation operation, Timing timing, bool measured);
  Answer read(const std::string& key, Timing timing, bool measured, std::string* context);
  Answer write(Operation operation, const std::string& key, std::string_view context, Timing timing,
               bool measured);
  std::string next_key(Operation operation);
  void note_request(Operation operation, const Status& status, Nanos latency, bool measured);
  void note_operation(Operation operation, const Status& status, Nanos latency, bool measured);

  const Plan& plan_;
  const uint32_t connection_;
  std::unique_ptr<Driver> driver_;
  Random random_;
  uint64_t inserts_ = 0;
  std::mutex mutex_;
  Tally tally_;  // guarded by mutex_
};

void Worker::load(LoadState& state) {
  const uint32_t connections = plan_.schedule.connections();
  for (uint64_t key = connection_; key < plan_.keys; key += connections) {
    const Status written =
        driver_->write(key_name(key), random_value(random_, plan_.value_size), {});
    if (written.ok()) {
      ++state.written;
      continue;
    }
    ++state.failed;
    std::lock_guard lock(state.mutex);
    if (state.first_error.empty())
      state.first_error = written.message();
  }
  ++state.finished;
}

void Worker::run() {
  const Schedule& schedule = plan_.schedule;
  for (uint64_t k = 0;; ++k) {
    const Nanos due = schedule.open_loop() ? schedule.due(connection_, k) : elapsed();
    if (due >= plan_.end)
      return;
    if (schedule.open_loop())
      std::this_thread::sleep_until(plan_.start + due);
    const Nanos sent = elapsed();
    if (sent >= plan_.end) {  // behind schedule at the end: count what was never sent
      const uint64_t first_unsent = std::max(k, schedule.due_before(connection_, plan_.warmup));
      std::lock_guard lock(mutex_);
      tally_.behind_schedule += schedule.due_before(connection_, plan_.end) - first_unsent;
      return;
    }
    run_one(choose_operation(plan_.workload, random_), Timing{due, sent}, due >= plan_.warmup);
  }
}

std::string Worker::next_key(Operation operation) {
  if (operation == Operation::insert) {
    return key_name(
        insert_key_number(plan_.keys, plan_.schedule.connections(), connection_, inserts_++));
  }
  return key_name(plan_.chooser.next(random_));
}

void Worker::run_one(Operation operation, Timing timing, bool measured) {
  const std::string key = next_key(operation);
  Answer answer;
  if (operation == Operation::read) {
    answer = read(key, timing, measured, nullptr);
  } else if (operation == Operation::rmw) {
    std::string context;
    answer = read(key, timing, measured, &context);
    if (answer.status.ok()) {
      const Nanos sent = elapsed();  // the PUT part's own latency starts here
      answer = write(Operation::update, key, context, Timing{sent, sent}, measured);
    }
  } else {
    answer = write(operation, key, {}, timing, measured);
  }
  note_operation(operation, answer.status,
                 measured_latency(plan_.schedule, timing.due, timing.sent, answer.done), measured);
}

Answer Worker::read(const std::string& key, Timing timing, bool measured, std::string* context) {
  Status status = driver_->read(key, context);
  const Nanos done = elapsed();
  note_request(Operation::read, status,
               measured_latency(plan_.schedule, timing.due, timing.sent, done), measured);
  return {std::move(status), done};
}

Answer Worker::write(Operation operation, const std::string& key, std::string_view context,
                     Timing timing, bool measured) {
  Status status = driver_->write(key, random_value(random_, plan_.value_size), context);
  const Nanos done = elapsed();
  note_request(operation, status, measured_latency(plan_.schedule, timing.due, timing.sent, done),
               measured);
  return {std::move(status), done};
}

void Worker::note_request(Operation operation, const Status& status, Nanos latency, bool measured) {
  if (!measured)
    return;
  std::lock_guard lock(mutex_);
  OperationStats& stats = tally_.operations[size_t(operation)];
  if (status.ok()) {
    stats.latency_us.record(to_micros(latency));
    return;
  }
  ++stats.errors;
  ErrorSummary& summary = tally_.errors[size_t(classify_error(status))];
  if (summary.count++ == 0) {
    summary.first_message = status.message();
    summary.first_at_us = to_micros(elapsed());
  }
}

void Worker::note_operation(Operation operation, const Status& status, Nanos latency,
                            bool measured) {
  std::lock_guard lock(mutex_);
  if (!status.ok()) {
    ++tally_.failed;
  } else {
    ++tally_.done;
    tally_.last_second.record(to_micros(latency));
  }
  if (!measured)
    return;
  auto count = [&](OperationStats& stats) {
    if (status.ok())
      stats.latency_us.record(to_micros(latency));
    else
      ++stats.errors;
  };
  count(tally_.total);
  if (operation == Operation::rmw)  // its GET and PUT were counted as a read and an update
    count(tally_.operations[size_t(operation)]);
}

void Worker::drain_progress(Progress& progress, Histogram& last_second) {
  std::lock_guard lock(mutex_);
  progress.operations += tally_.done;
  progress.errors += tally_.failed;
  last_second.merge(tally_.last_second);
  tally_.done = 0;
  tally_.failed = 0;
  tally_.last_second.reset();
}

void Worker::add_to(BenchReport& report) {
  std::lock_guard lock(mutex_);
  for (size_t index = 0; index < kOperationCount; ++index) {
    report.operations[index].latency_us.merge(tally_.operations[index].latency_us);
    report.operations[index].errors += tally_.operations[index].errors;
  }
  report.total.latency_us.merge(tally_.total.latency_us);
  report.total.errors += tally_.total.errors;
  for (size_t kind = 0; kind < kErrorKindCount; ++kind)
    merge_into(report.errors[kind], tally_.errors[kind]);
  report.behind_schedule += tally_.behind_schedule;
}

using Workers = std::vector<std::unique_ptr<Worker>>;

void print_load_progress(const LoadState& state, uint64_t keys, Clock::time_point start) {
  const uint64_t written = state.written;
  const double seconds = std::max(to_seconds(Clock::now() - start), 1e-9);
  fmt::print(stderr, "load {:>5.0f} s  {}/{} keys ({:.0f}%)  {:.0f} keys/s  {} errors\n", seconds,
             written, keys, 100.0 * double(written) / double(keys), double(written) / seconds,
             state.failed.load());
}

// --load: every key written once, all connections as fast as they go.
void run_load(Workers& workers, Plan& plan) {
  LoadState state;
  plan.start = Clock::now();
  std::vector<std::thread> threads;
  for (auto& worker : workers)
    threads.emplace_back([&worker, &state] { worker->load(state); });
  auto next_line = plan.start + std::chrono::seconds(1);
  while (state.finished < workers.size()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (Clock::now() >= next_line) {
      print_load_progress(state, plan.keys, plan.start);
      next_line += std::chrono::seconds(1);
    }
  }
  for (auto& thread : threads)
    thread.join();
  const double seconds = to_seconds(Clock::now() - plan.start);
  fmt::print(stderr, "load: {} keys written in {:.1f} s ({:.0f} keys/s), {} failed\n",
             state.written.load(), seconds, double(state.written) / std::max(seconds, 1e-9),
             state.failed.load());
  if (state.failed > 0) {
    fmt::print(stderr, "load: {} writes failed (reads of those keys find nothing); the first: {}\n",
               state.failed.load(), state.first_error);
  }
}

// One progress line a second until the end.
void report_progress(Workers& workers, const Plan& plan) {
  Progress progress;
  for (int second = 1;; ++second) {
    const Nanos offset = std::min<Nanos>(std::chrono::seconds(second), plan.end);
    std::this_thread::sleep_until(plan.start + offset);
    Histogram last_second;
    for (auto& worker : workers)
      worker->drain_progress(progress, last_second);
    progress.elapsed_s = to_seconds(offset);
    progress.warmup = offset <= plan.warmup;
    progress.p99_us =
        last_second.count() > 0 ? std::optional(last_second.percentile(99)) : std::nullopt;
    std::fprintf(stderr, "%s\n", format_progress(progress).c_str());
    if (offset >= plan.end)
      return;
  }
}

BenchReport run_measurement(Workers& workers, Plan& plan, const BenchOptions& options) {
  plan.start = Clock::now();
  std::vector<std::thread> threads;
  for (auto& worker : workers)
    threads.emplace_back([&worker] { worker->run(); });
  report_progress(workers, plan);
  for (auto& thread : threads)
    thread.join();
  BenchReport report;
  report.workload = plan.workload;
  report.distribution = plan.distribution;
  report.keys = plan.keys;
  report.value_size = plan.value_size;
  report.rate = options.rate;
  report.connections = options.connections;
  report.duration_s = options.duration_s;
  report.store = plan.store;
  for (auto& worker : workers)
    worker->add_to(report);
  return report;
}

void print_start(const BenchOptions& options, const ClientFlags& target, const Plan& plan) {
  const std::string pace =
      plan.schedule.open_loop()
          ? fmt::format("{} requests/s over {} connections", options.rate, options.connections)
          : fmt::format("closed loop on {} connections", options.connections);
  fmt::print(stderr, "bench: workload {} ({}) against {}, {}; {}; {} s warmup, then {} s\n",
             workload_name(plan.workload), workload_mix(plan.workload), target.server,
             keys_text(plan.workload, plan.distribution, plan.keys), pace, options.warmup_s,
             options.duration_s);
}

}  // namespace

CLI::App* add_bench_command(CLI::App& app, BenchOptions& options) {
  CLI::App* bench = app.add_subcommand(
      "bench", "load a cluster at a fixed request rate (open loop) and report latency percentiles");
  bench
      ->add_option("--system", options.system,
                   "what --server is: ringkv (http://HOST:PORT), etcd (its JSON gateway, "
                   "http://HOST:PORT) or redis (HOST:PORT); etcd and redis have no stores and "
                   "no contexts (F's read-modify-write is a read, then a blind write)")
      ->capture_default_str();
  bench
      ->add_option("--workload", options.workload,
                   "A: 50% read 50% update; B: 95% read 5% update; C: read only; F: 50% read 50% "
                   "read-modify-write; W: insert only")
      ->capture_default_str();
  bench->add_option("--keys", options.keys, "keys user0 ... user<N-1>")->capture_default_str();
  bench
      ->add_option("--distribution", options.distribution,
                   "which keys are chosen: uniform or zipfian (YCSB's, theta 0.99, scrambled)")
      ->capture_default_str();
  bench->add_option("--value-size", options.value_size, "bytes per value written")
      ->capture_default_str();
  bench->add_flag("--load", options.load,
                  "first write every key once (closed loop), so reads find data");
  bench
      ->add_option("--rate", options.rate,
                   "requests per second over all connections; latency counts from when each "
                   "request was due; 0: closed loop (as fast as answers come)")
      ->capture_default_str();
  bench->add_option("--connections", options.connections, "connections, one thread each")
      ->capture_default_str();
  bench->add_option("--duration", options.duration_s, "seconds measured")->capture_default_str();
  bench->add_option("--warmup", options.warmup_s, "seconds run first and not measured")
      ->capture_default_str();
  bench->add_flag("--json", options.json, "print the results as one JSON object");
  bench->add_option("--store", options.store, "store to use; created if absent")
      ->capture_default_str();
  bench->add_option("--n", options.n, "replicas, if the store is created")->capture_default_str();
  bench->add_option("--r", options.r, "read quorum, if the store is created")
      ->capture_default_str();
  bench->add_option("--w", options.w, "write quorum, if the store is created")
      ->capture_default_str();
  bench
      ->add_option("--conflicts", options.conflicts,
                   "if the store is created: lww (updates, blind as in YCSB, replace) or siblings "
                   "(blind updates pile up as concurrent versions, to 64 a key)")
      ->capture_default_str();
  bench->add_option("--seed", options.seed, "seed of the operation, key and value choices")
      ->capture_default_str();
  return bench;
}

int run_bench(const BenchOptions& options, const ClientFlags& target) {
  auto plan = make_plan(options);
  if (!plan.ok())
    return fail(plan.status());
  auto config = store_config(options);
  if (!config.ok())
    return fail(config.status());
  Plan& run_plan = **plan;
  Connect connect;
  connect.system = run_plan.system;
  connect.timeout_ms = target.timeout_ms;
  if (run_plan.system == System::redis) {
    auto address = parse_redis_address(target.server);
    if (!address.ok())
      return fail(address.status());
    connect.redis = std::move(*address);
  } else {
    auto client = client_options(target);
    if (!client.ok())
      return fail(client.status());
    connect.http = std::move(*client);
  }
  if (run_plan.system == System::ringkv) {
    KvClient setup(connect.http);
    if (Status status = prepare_store(setup, options, *config, target.server); !status.ok())
      return fail(status);
  } else if (Status status = check_reachable(connect, target.server); !status.ok()) {
    return fail(status);
  }
  Workers workers;
  for (uint32_t connection = 0; connection < options.connections; ++connection)
    workers.push_back(std::make_unique<Worker>(run_plan, connect, connection));
  if (options.load)
    run_load(workers, run_plan);
  print_start(options, target, run_plan);
  const BenchReport report = run_measurement(workers, run_plan, options);
  if (options.json)
    std::printf("%s\n", format_json(report).c_str());
  else
    std::fputs(format_table(report).c_str(), stdout);
  std::fflush(stdout);  // the table before the problems when both go to one terminal
  std::fputs(format_problems(report).c_str(), stderr);
  return 0;
}

}  // namespace ringkv
