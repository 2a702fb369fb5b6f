// `ringkv bench`: an open-loop load generator for a running cluster.
//
//   ringkv bench --server http://127.0.0.1:8080 --workload A --rate 2000 --load
//
// It creates the store (--store, default "bench") if absent, optionally
// writes every key once (--load), then runs --connections threads, each with
// its own keep-alive KvClient, for --warmup then --duration seconds. Each
// connection follows a fixed schedule (bench_workload.h, Schedule) and
// measures latency from when a request was due, not when it was sent, so a
// stalled server shows in the percentiles (wrk2's answer to coordinated
// omission); --rate 0 runs a closed loop instead. A progress line goes to
// stderr every second; the results go to stdout as a table, or JSON with
// --json. Failed requests are counted by kind and never stop the run.
//
// --system etcd or redis loads one of those instead, with the same workloads
// and schedule (cli/bench_drivers.h): etcd's JSON gateway at --server
// http://HOST:PORT, Redis at --server HOST:PORT (or redis://HOST:PORT). They
// have no stores (none is created) and no contexts, so workload F's
// read-modify-write is a read, then a blind write.
//
// Exit codes: 0 the run completed (even with failed requests); 1 bad options,
// or the server could not be reached (or refused the store) before the run.
//
// Thread safety: run_bench starts and joins its own threads; call it from one.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/client_flags.h"

#include <cstdint>
#include <string>

namespace ringkv {

struct BenchOptions {
  std::string system = "ringkv";  // ringkv, etcd or redis
  std::string workload = "A";
  uint64_t keys = 100'000;
  std::string distribution = "zipfian";
  uint64_t value_size = 100;
  bool load = false;
  double rate = 1000;  // requests per second over all connections; 0: closed loop
  uint32_t connections = 16;
  double duration_s = 30;
  double warmup_s = 5;
  bool json = false;
  std::string store = "bench";
  uint32_t n = 3;
  uint32_t r = 2;
  uint32_t w = 2;
  std::string conflicts = "lww";
  uint64_t seed = 1;
};

// Registers `bench` under `app`; the caller adds the client flags.
CLI::App* add_bench_command(CLI::App& app, BenchOptions& options);

// Runs it; returns the exit code.
int run_bench(const BenchOptions& options, const ClientFlags& target);

}  // namespace ringkv
