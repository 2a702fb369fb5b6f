// Placement quality over many random node tables, like the property tests'
// (1..500 nodes, capacities 1..16, 0..6 zones, width n = 1..5, about 4
// partitions per node), new and after one random change (add, remove,
// reweight). Prints, per class of table, how many plans missed a rule (a list
// repeating a zone or an entry above a quota) and the worst and mean replicas
// moved against the lower bound, for n = width.
// Reproduce: build/release/bin/ring_stats [seed] [tables]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "ring/assignment.h"

namespace ringkv {
namespace {

struct ClassStats {
  const char* name;
  int tables = 0;
  int missed_new = 0;
  int missed_change = 0;
  double worst_ratio = 0;
  double ratio_sum = 0;
  int ratios = 0;
};

int run(uint64_t seed, int tables) {
  std::mt19937_64 random(seed);
  ClassStats stats[] = {{"fewer zones than n"}, {"exactly n zones"}, {"more zones than n"}};
  for (int table_index = 0; table_index < tables; ++table_index) {
    const size_t node_count = 1 + random() % 500;
    const int zone_count = static_cast<int>(random() % 7);
    const uint32_t n = 1 + random() % 5;
    uint32_t bits = 6;
    while (bits < 10 && (size_t{1} << bits) < node_count * 4)
      ++bits;
    auto zone = [&] { return zone_count ? "zone-" + std::to_string(random() % zone_count) : ""; };
    std::vector<RingNode> nodes;
    for (size_t index = 0; index < node_count; ++index) {
      const auto capacity = static_cast<uint32_t>(1 + random() % 16);
      nodes.push_back({"node-" + std::to_string(index), capacity, zone(), NodeState::active});
    }
    const auto plan = plan_assignment(Layout::empty(bits), nodes, n);
    if (!plan.ok())
      return std::fprintf(stderr, "plan failed: %s\n", plan.status().message().c_str()), 1;
    std::vector<RingNode> changed = nodes;
    const auto kind = random() % 3;
    if (kind == 0 || changed.size() == 1)
      changed.push_back(
          {"added", static_cast<uint32_t>(1 + random() % 16), zone(), NodeState::active});
    else if (kind == 1)
      changed.erase(changed.begin() + static_cast<long>(random() % changed.size()));
    else
      changed[random() % changed.size()].capacity = static_cast<uint32_t>(1 + random() % 16);
    const auto after = plan_assignment(plan->layout, changed, n);
    if (!after.ok())
      return std::fprintf(stderr, "plan failed: %s\n", after.status().message().c_str()), 1;
    const uint32_t zones = plan->layout.listed_zone_count();
    const uint32_t width = plan->layout.width();
    ClassStats& cls = stats[zones < width ? 0 : zones == width ? 1 : 2];
    ++cls.tables;
    cls.missed_new += plan->zone_repeats + plan->over_quota > 0 ? 1 : 0;
    cls.missed_change += after->zone_repeats + after->over_quota > 0 ? 1 : 0;
    if (after->moved_lower_bound > 0 && after->layout.width() == width) {
      const double ratio = double(after->moved_replicas) / double(after->moved_lower_bound);
      if (ratio > cls.worst_ratio && std::getenv("RING_STATS_WORST"))
        std::printf(
            "worst so far (%s): %zu nodes, %d zones, width %u, Q 2^%u, change %d: moved %lu of "
            "bound %lu, misses %u\n",
            cls.name, node_count, zone_count, width, bits, int(kind),
            static_cast<unsigned long>(after->moved_replicas),
            static_cast<unsigned long>(after->moved_lower_bound),
            after->zone_repeats + after->over_quota);
      cls.worst_ratio = std::max(cls.worst_ratio, ratio);
      cls.ratio_sum += ratio;
      ++cls.ratios;
    }
  }
  std::printf("seed %llu, %d tables\n", static_cast<unsigned long long>(seed), tables);
  for (const ClassStats& cls : stats) {
    std::printf(
        "%-20s tables %5d  missed a rule: new %4d, after a change %4d  moved / lower bound: "
        "mean %.3f, worst %.3f\n",
        cls.name, cls.tables, cls.missed_new, cls.missed_change,
        cls.ratios ? cls.ratio_sum / cls.ratios : 0.0, cls.worst_ratio);
  }
  return 0;
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) {
  const uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  const int tables = argc > 2 ? std::atoi(argv[2]) : 2000;
  return ringkv::run(seed, tables);
}
