// Time to plan a layout change at scale: one new table, one removal, one
// join (plan_assignment), with the moves and the lower bound each reports.
// Nodes node-000000.. with capacities 1, 2, 4 in turn, spread over ZONES
// zones round-robin; the removal takes the middle node, the join adds a
// capacity-2 node in zone-1.
//   ring_change_time BITS NODES ZONES WIDTH
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "ring/assignment.h"

namespace ringkv {
namespace {

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

int run(uint32_t bits, size_t count, uint32_t zones, uint32_t width) {
  std::vector<RingNode> nodes;
  for (size_t index = 0; index < count; ++index) {
    char id[32];
    std::snprintf(id, sizeof id, "node-%06zu", index);
    nodes.push_back(
        {id, 1u << (index % 3), "zone-" + std::to_string(index % zones), NodeState::active});
  }
  auto started = std::chrono::steady_clock::now();
  const auto plan = plan_assignment(Layout::empty(bits), nodes, width);
  if (!plan.ok())
    return std::fprintf(stderr, "plan failed: %s\n", plan.status().message().c_str()), 1;
  std::printf("new: %.0f ms\n", ms_since(started));
  std::vector<RingNode> fewer = nodes;
  fewer.erase(fewer.begin() + static_cast<long>(count / 2));
  std::vector<RingNode> more = nodes;
  more.push_back({"node-zz", 2, "zone-1", NodeState::active});
  for (const auto& [name, table] : {std::pair{"removal", &fewer}, std::pair{"join", &more}}) {
    started = std::chrono::steady_clock::now();
    const auto after = plan_assignment(plan->layout, *table, width);
    if (!after.ok())
      return std::fprintf(stderr, "plan failed: %s\n", after.status().message().c_str()), 1;
    std::printf("%s: %.0f ms, moved %llu, lower bound %llu\n", name, ms_since(started),
                static_cast<unsigned long long>(after->moved_replicas),
                static_cast<unsigned long long>(after->moved_lower_bound));
  }
  return 0;
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) {
  if (argc != 5 || std::atoi(argv[1]) < 1 || std::atoi(argv[1]) > 24 || std::atoi(argv[2]) < 2 ||
      std::atoi(argv[3]) < 1 || std::atoi(argv[4]) < 1 || std::atoi(argv[4]) > 5) {
    std::fprintf(stderr, "usage: ring_change_time BITS(1..24) NODES(>=2) ZONES(>=1) WIDTH(1..5)\n");
    return 2;
  }
  return ringkv::run(
      static_cast<uint32_t>(std::atoi(argv[1])), static_cast<size_t>(std::atoi(argv[2])),
      static_cast<uint32_t>(std::atoi(argv[3])), static_cast<uint32_t>(std::atoi(argv[4])));
}
