// Micro-benchmarks of the ring: preference list lookups and assignment time.
// Reproduce: cmake --preset release && cmake --build --preset release --target ring_bench
//            && build/release/bench/ring_bench
// The assignment cases also report balance and moves as counters, so one run
// gives the numbers docs/BENCHMARKS.md tabulates.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "ring/assignment.h"
#include "ring/preference_list.h"

namespace ringkv {
namespace {

// `count` nodes with capacities 1, 2, 4 in turn, spread over `zones` zones
// (runs of three, so every zone holds every capacity).
std::vector<RingNode> make_nodes(int count, int zones) {
  std::vector<RingNode> nodes;
  const uint32_t capacities[] = {1, 2, 4};
  for (int index = 0; index < count; ++index) {
    nodes.push_back({"node-" + std::to_string(index), capacities[index % 3],
                     "zone-" + std::to_string((index / 3) % zones), NodeState::active});
  }
  return nodes;
}

Layout make_layout(int count, uint32_t partition_bits) {
  return plan_assignment(Layout::empty(partition_bits), make_nodes(count, 3), 3)->layout;
}

std::vector<std::string> make_keys() {
  std::vector<std::string> keys;
  for (int index = 0; index < 4096; ++index)
    keys.push_back("user:" + std::to_string(index * 7919));
  return keys;
}

// md5 + partition + table slice: what a coordinator does per request.
void BM_PreferenceListForKey(benchmark::State& state) {
  const PreferenceTable table = PreferenceTable::build(make_layout(12, 10), 3);
  const std::vector<std::string> keys = make_keys();
  size_t next = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.nodes_for_key(keys[next++ & 4095]).data());
  }
}
BENCHMARK(BM_PreferenceListForKey);

// The table slice alone (the md5 already known).
void BM_PreferenceListForPartition(benchmark::State& state) {
  const PreferenceTable table = PreferenceTable::build(make_layout(12, 10), 3);
  uint32_t partition = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.nodes(partition).data());
    partition = (partition + 389) & 1023;
  }
}
BENCHMARK(BM_PreferenceListForPartition);

void BM_PreferenceTableBuild(benchmark::State& state) {
  const Layout layout =
      make_layout(static_cast<int>(state.range(0)), static_cast<uint32_t>(state.range(1)));
  for (auto _ : state)
    benchmark::DoNotOptimize(PreferenceTable::build(layout, 3));
}
BENCHMARK(BM_PreferenceTableBuild)->Args({12, 10})->Args({1000, 16})->Unit(benchmark::kMillisecond);

// A store with n above the width (4, 5) on 1,000 nodes in three zones and
// one node alone in a fourth: each list of n = 4 must reach the rare zone.
void BM_PreferenceTableBuildPastWidth(benchmark::State& state) {
  std::vector<RingNode> nodes = make_nodes(999, 3);
  nodes.push_back({"rare", 1, "zone-rare", NodeState::active});
  std::sort(nodes.begin(), nodes.end(),
            [](const RingNode& left, const RingNode& right) { return left.id < right.id; });
  const Layout layout =
      plan_assignment(Layout::empty(static_cast<uint32_t>(state.range(1))), nodes, 3)->layout;
  for (auto _ : state)
    benchmark::DoNotOptimize(PreferenceTable::build(layout, static_cast<uint32_t>(state.range(0))));
}
BENCHMARK(BM_PreferenceTableBuildPastWidth)
    ->Args({4, 12})
    ->Args({4, 16})
    ->Args({5, 16})
    ->Unit(benchmark::kMillisecond);

void BM_ExtendedPreferenceList(benchmark::State& state) {
  const Layout layout = make_layout(100, 12);
  uint32_t partition = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(extended_preference_list(layout, partition, 3, 6));
    partition = (partition + 389) & 4095;
  }
}
BENCHMARK(BM_ExtendedPreferenceList);

void report(benchmark::State& state, const AssignmentPlan& plan) {
  state.counters["moved"] = double(plan.moved_replicas);
  state.counters["lower_bound"] = double(plan.moved_lower_bound);
  state.counters["partition_err"] = plan.balance.max_partition_share_error;
  state.counters["replica_err"] = plan.balance.max_replica_share_error;
  state.counters["replica_vs_quota"] = plan.max_replica_quota_error;
  state.counters["missed"] = plan.zone_repeats + plan.over_quota;
}

// Times plan_assignment from `before` to `nodes` (n = 3) and reports its quality.
void time_plans(benchmark::State& state, const Layout& before, const std::vector<RingNode>& nodes) {
  for (auto _ : state) {
    auto plan = plan_assignment(before, nodes, 3);
    benchmark::DoNotOptimize(plan.ok());
    state.PauseTiming();
    report(state, *plan);
    state.ResumeTiming();
  }
}

// The cluster sizes of every assignment benchmark: node count, partition bits.
void cluster_sizes(benchmark::internal::Benchmark* family) {
  family->Args({10, 10})->Args({100, 12})->Args({1000, 14})->Args({1000, 16})->Args({10000, 16});
  family->Unit(benchmark::kMillisecond);
}

// A new cluster: args = node count, partition bits.
void BM_AssignNewCluster(benchmark::State& state) {
  const std::vector<RingNode> nodes = make_nodes(static_cast<int>(state.range(0)), 3);
  const Layout empty = Layout::empty(static_cast<uint32_t>(state.range(1)));
  time_plans(state, empty, nodes);
}
BENCHMARK(BM_AssignNewCluster)->Apply(cluster_sizes);

// One node (capacity 2) joins: args = node count, partition bits.
void BM_AssignAddOneNode(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const Layout before = make_layout(count, static_cast<uint32_t>(state.range(1)));
  std::vector<RingNode> nodes = make_nodes(count, 3);
  nodes.push_back({"node-joining", 2, "zone-1", NodeState::active});
  time_plans(state, before, nodes);
}
BENCHMARK(BM_AssignAddOneNode)->Apply(cluster_sizes);

// One node (the eighth: capacity 4) leaves the table.
void BM_AssignRemoveOneNode(benchmark::State& state) {
  const int count = static_cast<int>(state.range(0));
  const Layout before = make_layout(count, static_cast<uint32_t>(state.range(1)));
  std::vector<RingNode> nodes = make_nodes(count, 3);
  nodes.erase(nodes.begin() + 7);
  time_plans(state, before, nodes);
}
BENCHMARK(BM_AssignRemoveOneNode)->Apply(cluster_sizes);

}  // namespace
}  // namespace ringkv

BENCHMARK_MAIN();
