// Placement helpers of the replica lists (replica_lists.cpp and the placers
// of list_placers.h) and the format-1 ring walk (ring_walk.cpp): zone
// numbers, the bit-reversed visiting order, and the queue of under-quota
// nodes. Internal to src/ring.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <vector>

#include "ring/layout.h"

namespace ringkv::ring_detail {

// Dense zone numbers in order of zone name (deterministic).
inline std::vector<uint32_t> zone_numbers(const std::vector<RingNode>& nodes,
                                          uint32_t& zone_count) {
  std::map<std::string_view, uint32_t> numbers;
  for (const RingNode& node : nodes)
    numbers.emplace(node.zone, 0);
  uint32_t next = 0;
  for (auto& [zone, number] : numbers)
    number = next++;
  zone_count = next;
  std::vector<uint32_t> out;
  for (const RingNode& node : nodes)
    out.push_back(numbers[node.zone]);
  return out;
}

inline uint32_t bit_reversed(uint32_t value, uint32_t bits) {
  uint32_t out = 0;
  for (uint32_t bit = 0; bit < bits; ++bit)
    out |= ((value >> bit) & 1u) << (bits - 1 - bit);
  return out;
}

// How strict a placement is: clean node and zone windows, node windows only, or
// anywhere. Tried in this order.
enum class Tier { clean = 1, node_distinct = 2, anywhere = 3 };

// Under-quota nodes, ordered earliest deadline first: the key (2c+1)/(2q) is
// where the node's next partition "should" fall, as a fraction of the ring.
struct TakerKey {
  uint64_t numerator = 0;
  uint64_t denominator = 1;
  uint32_t node = 0;
};

inline bool earlier(const TakerKey& left, const TakerKey& right) {
  const uint64_t lhs = left.numerator * right.denominator;
  const uint64_t rhs = right.numerator * left.denominator;
  return lhs != rhs ? lhs < rhs : left.node < right.node;
}

struct Earlier {
  bool operator()(const TakerKey& left, const TakerKey& right) const {
    return earlier(left, right);
  }
};

// What a placement must avoid: the nodes and zones a replica list already
// holds.
struct Neighborhood {
  std::vector<uint32_t> nodes;
  std::vector<uint32_t> zones;
  bool has_node(uint32_t node) const {
    return std::find(nodes.begin(), nodes.end(), node) != nodes.end();
  }
  bool has_zone(uint32_t zone) const {
    return std::find(zones.begin(), zones.end(), zone) != zones.end();
  }
};

// Takers grouped by zone, each zone ranked by its earliest member, so the best
// taker outside a neighborhood is found after skipping only the few nodes and
// zones in it.
class TakerQueue {
 public:
  TakerQueue(const std::vector<uint32_t>& zone_of_node, uint32_t zone_count)
      : zone_of_node_(zone_of_node), members_(zone_count), keys_(zone_of_node.size()) {}

  void update(uint32_t node, uint32_t count, uint32_t quota) {
    const uint32_t zone = zone_of_node_[node];
    remove_zone_entry(zone);
    if (keys_[node])
      members_[zone].erase(*keys_[node]);
    keys_[node].reset();
    if (count < quota) {
      keys_[node] = TakerKey{2 * uint64_t{count} + 1, 2 * uint64_t{quota}, node};
      members_[zone].insert(*keys_[node]);
    }
    if (!members_[zone].empty())
      zones_.insert({*members_[zone].begin(), zone});
  }

  bool empty() const { return zones_.empty(); }

  std::optional<uint32_t> best(const Neighborhood& around, Tier tier) const {
    std::optional<TakerKey> found;
    for (const auto& [top, zone] : zones_) {
      if (found && !earlier(top, *found))
        break;
      if (tier == Tier::clean && around.has_zone(zone))
        continue;
      for (const TakerKey& key : members_[zone]) {
        if (found && !earlier(key, *found))
          break;
        if (tier != Tier::anywhere && around.has_node(key.node))
          continue;
        found = key;
        break;
      }
    }
    if (!found)
      return std::nullopt;
    return found->node;
  }

 private:
  struct ZoneEntry {
    TakerKey top;
    uint32_t zone;
  };
  struct ZoneOrder {
    bool operator()(const ZoneEntry& left, const ZoneEntry& right) const {
      return earlier(left.top, right.top);
    }
  };

  void remove_zone_entry(uint32_t zone) {
    if (!members_[zone].empty())
      zones_.erase({*members_[zone].begin(), zone});
  }

  const std::vector<uint32_t>& zone_of_node_;
  std::vector<std::set<TakerKey, Earlier>> members_;
  std::set<ZoneEntry, ZoneOrder> zones_;
  std::vector<std::optional<TakerKey>> keys_;
};

}  // namespace ringkv::ring_detail
