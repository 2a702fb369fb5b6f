// ringkv_sim: runs simulation seeds and prints what the checkers found.
//   ringkv_sim --seed 7 --faults chaos          replay one run exactly
//   ringkv_sim --seeds 1-100 --faults all       many runs, a summary line each
//   ringkv_sim --seed 7 --membership            with joins, removals, reweights, cancels
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>

#include "sim/scenario.h"

int main(int argc, char** argv) {
  using namespace ringkv::sim;
  CLI::App app{"ringkv_sim: deterministic simulation of a 5-node ringkv cluster under faults"};
  uint64_t seed = 1;
  std::string seeds;
  std::string faults = "chaos";
  uint64_t fault_ms = ScenarioOptions{}.fault_ms;
  app.add_option("--seed", seed, "the seed of one run");
  app.add_option("--seeds", seeds, "a range of seeds, FIRST-LAST (instead of --seed)");
  app.add_option("--faults", faults, "calm, lossy, partitions, crashes, disks, chaos or all");
  app.add_option("--fault-ms", fault_ms, "simulated time under load and faults");
  bool membership = false;
  app.add_flag("--membership", membership,
               "also add, remove, reweight nodes and cancel changes during the load");
  CLI11_PARSE(app, argc, argv);
  uint64_t first = seed, last = seed;
  if (!seeds.empty() && std::sscanf(seeds.c_str(), "%lu-%lu", &first, &last) != 2) {
    std::fprintf(stderr, "--seeds must look like 1-100, not '%s'\n", seeds.c_str());
    return 2;
  }
  std::vector<FaultMix> mixes;
  if (faults == "all") {
    mixes.assign(std::begin(kFaultMixes), std::end(kFaultMixes));
  } else {
    FaultMix mix;
    if (!parse(faults, mix)) {
      std::fprintf(stderr,
                   "unknown --faults '%s' (calm, lossy, partitions, crashes, disks, chaos, all)\n",
                   faults.c_str());
      return 2;
    }
    mixes.push_back(mix);
  }
  int failed = 0;
  for (FaultMix mix : mixes) {
    for (uint64_t current = first; current <= last; ++current) {
      ScenarioOptions options;
      options.seed = current;
      options.faults = mix;
      options.fault_ms = fault_ms;
      options.membership = membership;
      const ScenarioResult result = run_scenario(options);
      std::printf(
          "seed %lu faults %s: %lu ms simulated, puts ok %lu / indeterminate %lu / rejected %lu, "
          "gets ok %lu / failed %lu, checked %lu, messages %lu (dropped %lu), crashes %lu, clean "
          "stops %lu, "
          "read "
          "repairs %lu, suspicions %lu, hints stored %lu / delivered %lu, changes %lu, flips %lu, "
          "keys streamed %lu, partitions dropped %lu, clock entries pruned %lu, convergence %lu "
          "ms, trace %016lx, "
          "violations %zu\n",
          current, to_string(mix), result.simulated_ms, result.puts_ok, result.puts_indeterminate,
          result.puts_rejected, result.gets_ok, result.gets_failed, result.operations_checked,
          result.messages, result.messages_dropped, result.crashes, result.clean_stops,
          result.read_repairs, result.suspicions, result.hints_stored, result.hints_delivered,
          result.membership_changes, result.layout_flips, result.transfer_keys,
          result.partitions_dropped, result.clock_entries_pruned, result.convergence_ms,
          result.trace_hash, result.violations.size());
      for (const std::string& violation : result.violations)
        std::printf("  VIOLATION %s\n", violation.c_str());
      if (!result.violations.empty()) {
        std::printf("  replay: %s\n", replay_command(options).c_str());
        ++failed;
      }
    }
  }
  return failed == 0 ? 0 : 1;
}
