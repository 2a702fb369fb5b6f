// Placement quality over many random node tables, like the property tests'
// (1..500 nodes, capacities 1..16, 0..6 zones, n = 1..5, about 4 partitions
// per node), new and after one random change. Prints, per class of table, the
// worst count of irregular preference lists (lists that are not the n
// partitions starting at their own) and the worst move ratio.
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
  int irregular_tables = 0;
  uint32_t worst_new = 0;
  uint32_t worst_change = 0;
};

int run(uint64_t seed, int tables) {
  std::mt19937_64 random(seed);
  ClassStats stats[] = {{"fewer zones than n, room to spread"},
                        {"fewer zones than n, crowded"},
                        {"exactly n zones"},
                        {"more zones than n"}};
  double worst_move_ratio = 0;
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
    if (after->moved_lower_bound > 0)
      worst_move_ratio =
          std::max(worst_move_ratio, double(after->moved_partitions) / after->moved_lower_bound);
    const uint32_t zones = plan->layout.owning_zone_count();
    const uint32_t quota_max = *std::max_element(plan->quotas.begin(), plan->quotas.end());
    const bool room = node_count >= 2 * n && uint64_t{quota_max} * 2 * n <= (1u << bits);
    ClassStats& cls = stats[zones < n ? (room ? 0 : 1) : zones == n ? 2 : 3];
    ++cls.tables;
    cls.irregular_tables += plan->balance.irregular_windows > 0 ? 1 : 0;
    cls.worst_new = std::max(cls.worst_new, plan->balance.irregular_windows);
    cls.worst_change = std::max(cls.worst_change, after->balance.irregular_windows);
  }
  std::printf("seed %llu, %d tables\n", static_cast<unsigned long long>(seed), tables);
  for (const ClassStats& cls : stats) {
    std::printf(
        "%-36s tables %5d  new with irregular lists %5d  worst irregular: new %3u, "
        "after a change %3u\n",
        cls.name, cls.tables, cls.irregular_tables, cls.worst_new, cls.worst_change);
  }
  std::printf("worst moved / lower bound after a change: %.3f\n", worst_move_ratio);
  return 0;
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) {
  const uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  const int tables = argc > 2 ? std::atoi(argv[2]) : 2000;
  return ringkv::run(seed, tables);
}
