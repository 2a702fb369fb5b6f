// Replica lists (src/ring/replica_lists.h) on a cluster and a series of joins:
// share error and moves against the lower bound for every n, time to plan,
// and the bytes gossip sends: the whole layout, or the delta from the last.
//
//   ring_lists [partition bits, default 10] [nodes, default 0] [width, default 3] [zones, default
//   4]
//
// nodes = 0: the ring issue's cluster, `zones` zones of capacities 1, 2 and 4;
// then six capacity-2 nodes join, one zone after another. nodes > 0: that many
// nodes of capacities 1, 2, 4 in turn, each three in the next zone (so every zone
// has all three capacities), then the same joins.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "ring/layout_delta.h"
#include "ring/replica_lists.h"

namespace {

using ringkv::RingNode;

std::vector<RingNode> sorted(std::vector<RingNode> nodes) {
  std::sort(nodes.begin(), nodes.end(),
            [](const RingNode& left, const RingNode& right) { return left.id < right.id; });
  return nodes;
}

void report(const char* what, const std::vector<RingNode>& nodes, uint32_t bits,
            const ringkv::ReplicaListPlan& plan, double milliseconds,
            const ringkv::Layout* previous) {
  const ringkv::ListBalance balance = ringkv::measure_list_balance(nodes, 1u << bits, plan);
  // What gossip carries when the layout changes: its encoding (FORMATS.md),
  // or the delta from the previous layout to a peer that holds that one.
  const auto layout = ringkv::Layout::create(bits, 1, nodes, plan.width, plan.entries);
  const size_t encoded = layout.ok() ? ringkv::encode_layout(*layout).size() : 0;
  std::optional<std::string> delta;
  if (layout.ok() && previous != nullptr)
    delta = ringkv::encode_layout_delta(*previous, *layout);
  std::printf(
      "%s: %zu nodes, width %u, zone repeats %u, over quota %u, %.1f ms, layout %zu bytes, delta "
      "%zu bytes\n",
      what, nodes.size(), plan.width, plan.zone_repeats, plan.over_quota, milliseconds, encoded,
      delta ? delta->size() : size_t{0});
  for (uint32_t n = 1; n <= plan.width; ++n)
    std::printf("  n=%u share error %.2f%% (placement %.2f%%) moved %lu lower bound %lu\n", n,
                100 * balance.max_capacity_error[n - 1], 100 * balance.max_quota_error[n - 1],
                static_cast<unsigned long>(plan.moved[n - 1]),
                static_cast<unsigned long>(plan.moved_lower_bound[n - 1]));
}

}  // namespace

int main(int argc, char** argv) {
  const uint32_t bits = argc > 1 ? static_cast<uint32_t>(std::atoi(argv[1])) : 10;
  const uint32_t node_count = argc > 2 ? static_cast<uint32_t>(std::atoi(argv[2])) : 0;
  const uint32_t width = argc > 3 ? static_cast<uint32_t>(std::atoi(argv[3])) : 3;
  const int zones = argc > 4 ? std::atoi(argv[4]) : 4;
  if (bits > 20 || width < 1 || width > 16 || zones < 1) {
    std::fprintf(stderr, "usage: ring_lists [bits <= 20] [nodes] [width 1..16] [zones >= 1]\n");
    return 2;
  }
  std::vector<RingNode> nodes;
  if (node_count == 0) {
    for (int zone = 0; zone < zones; ++zone) {
      for (uint32_t capacity : {1u, 2u, 4u})
        nodes.push_back({"node-" + std::to_string(zone) + "-" + std::to_string(capacity), capacity,
                         "zone-" + std::to_string(zone)});
    }
  } else {
    for (uint32_t index = 0; index < node_count; ++index)
      nodes.push_back({"node-" + std::to_string(100000 + index), 1u << (index % 3),
                       "zone-" + std::to_string(index / 3 % static_cast<uint32_t>(zones))});
  }
  nodes = sorted(nodes);
  auto started = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
        .count();
  };
  ringkv::ReplicaListPlan plan = ringkv::plan_replica_lists(bits, width, nodes, {}, {}, 0);
  report("new", nodes, bits, plan, elapsed(), nullptr);
  for (int join = 0; join < 6; ++join) {
    std::vector<RingNode> next = nodes;
    next.push_back({"joiner-" + std::to_string(join), 2, "zone-" + std::to_string(join % zones)});
    next = sorted(next);
    started = std::chrono::steady_clock::now();
    ringkv::ReplicaListPlan next_plan =
        ringkv::plan_replica_lists(bits, width, next, nodes, plan.entries, plan.width);
    const auto previous = ringkv::Layout::create(bits, 1, nodes, plan.width, plan.entries);
    report(("join " + std::to_string(join)).c_str(), next, bits, next_plan, elapsed(),
           previous.ok() ? &*previous : nullptr);
    nodes = std::move(next);
    plan = std::move(next_plan);
  }
  return 0;
}
