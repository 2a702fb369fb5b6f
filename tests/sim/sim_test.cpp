// Simulation tests: seeded runs of a 5-node cluster under each fault mix,
// judged by the checkers of sim/scenario.h. A failure prints the violations
// and the command that replays the run exactly.
//
// Under CTest (the ASan build) a smaller fixed set: seeds 1..RINGKV_SIM_SEEDS
// (default 24) per mix, 192 runs, and 128 more with membership changes; set
// RINGKV_SIM_FIRST_SEED to explore other seeds. scripts/sim.sh runs the full
// regression set (1..63, 1..40 with membership) and rotating seeds in a
// release build.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "sim/scenario.h"

namespace ringkv::sim {
namespace {

uint64_t env_or(const char* name, uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr ? std::strtoull(text, nullptr, 10) : fallback;
}

}  // namespace

// Test names and failure messages show the mix by name.
void PrintTo(FaultMix mix, std::ostream* out) {
  *out << to_string(mix);
}

namespace {

class SimulationTest : public ::testing::TestWithParam<FaultMix> {};

TEST_P(SimulationTest, CheckersFindNoViolation) {
  const uint64_t first = env_or("RINGKV_SIM_FIRST_SEED", 1);
  const uint64_t count = env_or("RINGKV_SIM_SEEDS", 24);
  ScenarioResult total;
  uint64_t failed_seeds = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    ScenarioOptions options;
    options.seed = seed;
    options.faults = GetParam();
    const ScenarioResult result = run_scenario(options);
    total.simulated_ms += result.simulated_ms;
    total.operations_checked += result.operations_checked;
    total.puts_ok += result.puts_ok;
    total.puts_indeterminate += result.puts_indeterminate;
    total.gets_ok += result.gets_ok;
    total.crashes += result.crashes;
    total.empty_restarts += result.empty_restarts;
    total.read_repairs += result.read_repairs;
    total.hints_stored += result.hints_stored;
    total.hints_delivered += result.hints_delivered;
    total.suspicions += result.suspicions;
    total.ae_keys_repaired += result.ae_keys_repaired;
    total.tombstones_collected += result.tombstones_collected;
    total.clock_entries_pruned += result.clock_entries_pruned;
    total.convergence_ms = std::max(total.convergence_ms, result.convergence_ms);
    total.messages_dropped += result.messages_dropped;
    for (const std::string& violation : result.violations)
      ADD_FAILURE() << violation;
    if (!result.violations.empty()) {
      ++failed_seeds;
      ADD_FAILURE() << "replay: " << replay_command(options);
    }
  }
  std::printf(
      "faults %s: %lu seeds, %.0f simulated s, %lu operations checked (puts ok %lu, "
      "indeterminate %lu; gets ok %lu), crashes %lu (%lu with an empty disk), messages dropped "
      "%lu, read repairs %lu, "
      "suspicions %lu, hints stored %lu / delivered %lu, anti-entropy repairs %lu, tombstones "
      "collected %lu, clock entries pruned %lu, slowest "
      "convergence %.1f s, failed seeds %lu\n",
      to_string(GetParam()), count, total.simulated_ms / 1000.0, total.operations_checked,
      total.puts_ok, total.puts_indeterminate, total.gets_ok, total.crashes, total.empty_restarts,
      total.messages_dropped, total.read_repairs, total.suspicions, total.hints_stored,
      total.hints_delivered, total.ae_keys_repaired, total.tombstones_collected,
      total.clock_entries_pruned, total.convergence_ms / 1000.0, failed_seeds);
  // A run that checked nothing proves nothing.
  EXPECT_GT(total.operations_checked, count * 50);
}

INSTANTIATE_TEST_SUITE_P(FaultMixes, SimulationTest, ::testing::ValuesIn(kFaultMixes),
                         [](const auto& info) { return std::string(to_string(info.param)); });

// The same mixes with membership changes under the load (ScenarioOptions::
// membership): joins, graceful and dead removals, reweights and cancels,
// committed through random nodes so that they race. Seeds 1..
// RINGKV_SIM_MEMBERSHIP_SEEDS (default 16) per mix: 128 runs under ASan
// (scripts/sim.sh runs 1..40 and rotating seeds in a release build).
class MembershipSimulationTest : public ::testing::TestWithParam<FaultMix> {};

TEST_P(MembershipSimulationTest, CheckersFindNoViolationAndEveryMoveCompletes) {
  const uint64_t first = env_or("RINGKV_SIM_FIRST_SEED", 1);
  const uint64_t count = env_or("RINGKV_SIM_MEMBERSHIP_SEEDS", 16);
  ScenarioResult total;
  uint64_t failed_seeds = 0;
  for (uint64_t seed = first; seed < first + count; ++seed) {
    ScenarioOptions options;
    options.seed = seed;
    options.faults = GetParam();
    options.membership = true;
    const ScenarioResult result = run_scenario(options);
    total.operations_checked += result.operations_checked;
    total.membership_changes += result.membership_changes;
    total.layout_flips += result.layout_flips;
    total.transfer_keys += result.transfer_keys;
    total.partitions_dropped += result.partitions_dropped;
    total.crashes += result.crashes;
    total.convergence_ms = std::max(total.convergence_ms, result.convergence_ms);
    for (const std::string& violation : result.violations)
      ADD_FAILURE() << violation;
    if (!result.violations.empty()) {
      ++failed_seeds;
      ADD_FAILURE() << "replay: " << replay_command(options);
    }
  }
  std::printf(
      "faults %s with membership changes: %lu seeds, %lu operations checked, %lu changes, %lu "
      "layout flips, %lu keys streamed, %lu partitions dropped, crashes %lu, slowest "
      "convergence %.1f s, failed seeds %lu\n",
      to_string(GetParam()), count, total.operations_checked, total.membership_changes,
      total.layout_flips, total.transfer_keys, total.partitions_dropped, total.crashes,
      total.convergence_ms / 1000.0, failed_seeds);
  // Runs that changed nothing, or moved nothing, prove nothing about moves.
  EXPECT_GT(total.operations_checked, count * 50);
  EXPECT_GT(total.membership_changes, count);
  EXPECT_GT(total.layout_flips, count / 2);
  EXPECT_GT(total.transfer_keys, 0u);
  EXPECT_GT(total.partitions_dropped, 0u);
}

INSTANTIATE_TEST_SUITE_P(FaultMixes, MembershipSimulationTest, ::testing::ValuesIn(kFaultMixes),
                         [](const auto& info) { return std::string(to_string(info.param)); });

TEST(SimulationDeterminism, SameSeedSameTraceOtherSeedOtherTrace) {
  ScenarioOptions options;
  options.seed = 7;
  options.faults = FaultMix::chaos;
  const ScenarioResult first = run_scenario(options);
  const ScenarioResult again = run_scenario(options);
  EXPECT_EQ(first.trace_hash, again.trace_hash);
  EXPECT_EQ(first.puts_ok, again.puts_ok);
  EXPECT_EQ(first.operations_checked, again.operations_checked);
  options.seed = 8;
  EXPECT_NE(run_scenario(options).trace_hash, first.trace_hash);
}

}  // namespace
}  // namespace ringkv::sim
