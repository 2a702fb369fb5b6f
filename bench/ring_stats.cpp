// Placement quality over many random node tables, like the property tests'
// (1..500 nodes, capacities 1..16, 0..6 zones, width n = 1..5, Q the power
// of two at least `partitions per node` × nodes, 2^6..2^16), new and after one
// random change (add, remove, reweight). Prints, per class of table, how
// many plans missed a rule (a list repeating a zone or an entry above a
// quota), the worst and mean replicas moved against the lower bound for
// n = width, and how many changes moved at most 1.1× the bound.
// Reproduce: build/release/bin/ring_stats [seed] [tables] [partitions per node, default 4]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
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
  int within = 0;  // ratios <= 1.1
  // The same over tables where no zone's capacity share is above 1/width
  // before or after the change (no cap binds; the lower bound ignores caps).
  double free_worst = 0;
  double free_sum = 0;
  int free_ratios = 0;
  int free_within = 0;
};

// Whether some zone holds more than 1/width of the capacity: it is capped
// (a list holds it once), so the bound, which ignores caps, is loose.
bool capped(const std::vector<RingNode>& nodes, uint32_t width) {
  std::map<std::string, uint64_t> zones;
  uint64_t total = 0;
  for (const RingNode& node : nodes) {
    zones[node.zone] += node.capacity;
    total += node.capacity;
  }
  for (const auto& [zone, capacity] : zones) {
    if (capacity * width > total)
      return true;
  }
  return false;
}

int run(uint64_t seed, int tables, uint32_t per_node) {
  std::mt19937_64 random(seed);
  ClassStats stats[] = {{"fewer zones than n"}, {"exactly n zones"}, {"more zones than n"}};
  for (int table_index = 0; table_index < tables; ++table_index) {
    const size_t node_count = 1 + random() % 500;
    const int zone_count = static_cast<int>(random() % 7);
    const uint32_t n = 1 + random() % 5;
    uint32_t bits = 6;
    while (bits < 16 && (size_t{1} << bits) < node_count * per_node)
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
      const bool any_cap = capped(nodes, width) || capped(changed, width);
      if ((ratio > cls.worst_ratio && std::getenv("RING_STATS_WORST")) ||
          (ratio > 1.1 && std::getenv("RING_STATS_OVER")))
        std::printf(
            "%s (%s%s): %zu nodes, %d zones, width %u, Q 2^%u, change %d: moved %lu of "
            "bound %lu, misses %u\n",
            ratio > cls.worst_ratio ? "worst so far" : "over 1.1x", cls.name,
            any_cap ? ", capped" : "", node_count, zone_count, width, bits, int(kind),
            static_cast<unsigned long>(after->moved_replicas),
            static_cast<unsigned long>(after->moved_lower_bound),
            after->zone_repeats + after->over_quota);
      cls.worst_ratio = std::max(cls.worst_ratio, ratio);
      cls.ratio_sum += ratio;
      ++cls.ratios;
      cls.within += ratio <= 1.1 ? 1 : 0;
      if (!any_cap) {
        cls.free_worst = std::max(cls.free_worst, ratio);
        cls.free_sum += ratio;
        ++cls.free_ratios;
        cls.free_within += ratio <= 1.1 ? 1 : 0;
      }
    }
  }
  std::printf("seed %llu, %d tables, %u partitions per node\n",
              static_cast<unsigned long long>(seed), tables, per_node);
  for (const ClassStats& cls : stats) {
    std::printf(
        "%-20s tables %5d  missed a rule: new %4d, after a change %4d  moved / lower bound: "
        "mean %.3f, worst %.3f, within 1.1x %d of %d\n",
        cls.name, cls.tables, cls.missed_new, cls.missed_change,
        cls.ratios ? cls.ratio_sum / cls.ratios : 0.0, cls.worst_ratio, cls.within, cls.ratios);
    std::printf(
        "%-20s no zone capped: moved / lower bound: mean %.3f, worst %.3f, within 1.1x %d of %d\n",
        "", cls.free_ratios ? cls.free_sum / cls.free_ratios : 0.0, cls.free_worst, cls.free_within,
        cls.free_ratios);
  }
  return 0;
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) {
  const uint64_t seed = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1;
  const int tables = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int per_node = argc > 3 ? std::atoi(argv[3]) : 4;
  if (tables < 1 || per_node < 1 || per_node > 65536) {
    std::fprintf(stderr, "usage: ring_stats [seed] [tables >= 1] [partitions per node 1..65536]\n");
    return 2;
  }
  return ringkv::run(seed, tables, static_cast<uint32_t>(per_node));
}
