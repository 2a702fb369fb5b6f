// Lower bounds on the replicas a layout change moves; see move_bound.h.
#include "ring/move_bound.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <utility>

namespace ringkv {
namespace {

// Min-cost max-flow by successive shortest paths (Bellman-Ford queue), for
// the small graphs below: integer capacities, costs -1 or 0, no negative
// cycle at the start.
class MinCostFlow {
 public:
  explicit MinCostFlow(size_t vertices) : out_(vertices) {}

  size_t add_vertex() {
    out_.emplace_back();
    return out_.size() - 1;
  }
  void add_edge(size_t from, size_t to, int64_t capacity, int64_t cost) {
    if (capacity <= 0)
      return;
    out_[from].push_back(edges_.size());
    edges_.push_back({to, capacity, cost});
    out_[to].push_back(edges_.size());
    edges_.push_back({from, 0, -cost});
  }

  // Pushes as much as possible from `source` to `sink` at the least cost:
  // {flow, cost}; nothing when that takes more than `budget` edge
  // relaxations.
  std::optional<std::pair<int64_t, int64_t>> run(size_t source, size_t sink, uint64_t budget) {
    constexpr int64_t kFar = std::numeric_limits<int64_t>::max() / 4;
    int64_t flow = 0, cost = 0;
    std::vector<int64_t> distance(out_.size());
    std::vector<size_t> via(out_.size());
    std::vector<bool> queued(out_.size());
    for (;;) {
      std::fill(distance.begin(), distance.end(), kFar);
      std::fill(via.begin(), via.end(), kNone);
      distance[source] = 0;
      std::deque<size_t> queue{source};
      queued.assign(out_.size(), false);
      queued[source] = true;
      while (!queue.empty()) {
        const size_t vertex = queue.front();
        queue.pop_front();
        queued[vertex] = false;
        if (out_[vertex].size() > budget)
          return std::nullopt;
        budget -= out_[vertex].size();
        for (size_t index : out_[vertex]) {
          const Edge& edge = edges_[index];
          if (edge.capacity > 0 && distance[vertex] + edge.cost < distance[edge.to]) {
            distance[edge.to] = distance[vertex] + edge.cost;
            via[edge.to] = index;
            if (!queued[edge.to]) {
              queued[edge.to] = true;
              queue.push_back(edge.to);
            }
          }
        }
      }
      if (distance[sink] == kFar)
        return std::make_pair(flow, cost);
      int64_t push = kFar;
      for (size_t vertex = sink; vertex != source; vertex = edges_[via[vertex] ^ 1].to)
        push = std::min(push, edges_[via[vertex]].capacity);
      for (size_t vertex = sink; vertex != source; vertex = edges_[via[vertex] ^ 1].to) {
        edges_[via[vertex]].capacity -= push;
        edges_[via[vertex] ^ 1].capacity += push;
      }
      flow += push;
      cost += push * distance[sink];
    }
  }

 private:
  static constexpr size_t kNone = std::numeric_limits<size_t>::max();
  struct Edge {
    size_t to;
    int64_t capacity;
    int64_t cost;
  };
  std::vector<std::vector<size_t>> out_;
  std::vector<Edge> edges_;  // an edge at 2i, its residual twin at 2i + 1
};

}  // namespace

uint64_t simple_move_bound(const std::vector<uint32_t>& quota, const std::vector<uint32_t>& held) {
  uint64_t bound = 0;
  for (size_t node = 0; node < quota.size(); ++node)
    bound += quota[node] > held[node] ? quota[node] - held[node] : 0;
  return bound;
}

uint64_t zone_aware_move_bound(const MoveBoundInput& input) {
  const uint64_t simple = simple_move_bound(input.quota, input.held);
  if (input.zone_count < 2 || input.n == 0)
    return simple;
  const uint32_t zones = input.zone_count;
  // At most `hi` entries of one zone per list: one while n is within the
  // distinct-zone columns, one more per column past them.
  const int64_t hi = input.n <= input.zone_columns ? 1 : int64_t{input.n} - input.zone_columns + 1;
  std::vector<int64_t> zone_quota(zones, 0), zone_keep(zones, 0);
  for (size_t node = 0; node < input.quota.size(); ++node) {
    zone_quota[input.zone_of_node[node]] += input.quota[node];
    zone_keep[input.zone_of_node[node]] += std::min(input.quota[node], input.held[node]);
  }
  uint64_t zones_with_quota = 0;
  for (uint32_t zone = 0; zone < zones; ++zone)
    zones_with_quota += zone_quota[zone] > 0 ? 1 : 0;
  // Partitions grouped by how many surviving previous entries each zone has
  // in them (capped at hi): what the zone level can keep depends on nothing
  // else. A key lists (zone, count) pairs, at most n of them.
  std::map<std::vector<std::pair<uint32_t, uint32_t>>, int64_t> groups;
  std::vector<std::pair<uint32_t, uint32_t>> key;
  for (uint32_t partition = 0; partition < input.partition_count; ++partition) {
    key.clear();
    for (uint32_t column = 0; column < input.n; ++column) {
      const uint32_t node = input.previous[size_t{partition} * input.n + column];
      if (node == UINT32_MAX || input.quota[node] == 0)
        continue;  // gone, or a node that keeps nothing
      const uint32_t zone = input.zone_of_node[node];
      auto same = std::find_if(key.begin(), key.end(),
                               [&](const auto& pair) { return pair.first == zone; });
      if (same == key.end())
        key.emplace_back(zone, 1);
      else
        same->second = std::min<uint32_t>(same->second + 1, static_cast<uint32_t>(hi));
    }
    std::sort(key.begin(), key.end());
    ++groups[key];
    if (zones_with_quota * groups.size() > input.max_vertices)
      return simple;
  }
  // source -> zone (its quota) -> [keep (K_z), cost -1 into groups that held
  // it] | [cost 0 into any group] -> (zone, group) (hi per list) -> group
  // (n per list) -> sink.
  MinCostFlow graph(2 + 2 * size_t{zones});
  const size_t source = 0, sink = 1;
  const auto zone_vertex = [](uint32_t zone) { return 2 + 2 * size_t{zone}; };
  const auto keep_vertex = [](uint32_t zone) { return 3 + 2 * size_t{zone}; };
  int64_t demand = 0;
  for (uint32_t zone = 0; zone < zones; ++zone) {
    graph.add_edge(source, zone_vertex(zone), zone_quota[zone], 0);
    graph.add_edge(zone_vertex(zone), keep_vertex(zone), zone_keep[zone], 0);
  }
  for (const auto& [held_by_zone, lists] : groups) {
    const size_t group = graph.add_vertex();
    graph.add_edge(group, sink, int64_t{input.n} * lists, 0);
    demand += int64_t{input.n} * lists;
    auto held = held_by_zone.begin();
    for (uint32_t zone = 0; zone < zones; ++zone) {
      while (held != held_by_zone.end() && held->first < zone)
        ++held;
      if (zone_quota[zone] == 0)
        continue;
      const size_t slot = graph.add_vertex();
      graph.add_edge(slot, group, hi * lists, 0);
      graph.add_edge(zone_vertex(zone), slot, hi * lists, 0);
      if (held != held_by_zone.end() && held->first == zone)
        graph.add_edge(keep_vertex(zone), slot, int64_t{held->second} * lists, -1);
    }
  }
  const auto solved = graph.run(source, sink, input.max_relaxations);
  if (!solved)
    return simple;  // too much work for a bound: the plan is not slowed down for it
  const auto [flow, cost] = *solved;
  if (flow < demand)
    return simple;  // the quotas do not fit the zone rule at all: the plan reports misses
  const uint64_t kept = static_cast<uint64_t>(-cost);
  const uint64_t bound = static_cast<uint64_t>(demand) - kept;
  return std::max(bound, simple);
}

}  // namespace ringkv
