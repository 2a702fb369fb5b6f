// The ring walk of layout format 1; see ring_walk.h.
#include "ring/ring_walk.h"

#include <algorithm>
#include <array>

#include "common/check.h"
#include "common/store_config.h"
#include "ring/placement.h"

namespace ringkv {
namespace {

struct OwnerCensus {
  uint32_t owning_nodes = 0;
  uint32_t owning_zones = 0;
};

OwnerCensus census(size_t node_count, const std::vector<uint32_t>& owners,
                   const std::vector<uint32_t>& zone_of_node) {
  std::vector<bool> node_seen(node_count, false);
  std::vector<bool> zone_seen(node_count, false);
  OwnerCensus out;
  for (uint32_t owner : owners) {
    if (!node_seen[owner]) {
      node_seen[owner] = true;
      ++out.owning_nodes;
    }
    if (!zone_seen[zone_of_node[owner]]) {
      zone_seen[zone_of_node[owner]] = true;
      ++out.owning_zones;
    }
  }
  return out;
}

// The first `capacity` distinct keys met walking clockwise, with the node met
// there; kept in walk order. Sweeping positions backwards, prepending the owner
// of each position keeps it exact (see PreferenceTable::build).
class FirstDistinct {
 public:
  explicit FirstDistinct(uint32_t capacity) : capacity_(capacity) {}

  void prepend(uint32_t key, uint32_t node) {
    if (capacity_ == 0)
      return;
    size_t at = 0;
    while (at < size_ && keys_[at] != key)
      ++at;
    if (at == size_ && size_ < capacity_)
      ++size_;
    if (at == size_)
      at = size_ - 1;  // the list is full: the last entry falls off
    for (size_t index = at; index > 0; --index) {
      keys_[index] = keys_[index - 1];
      nodes_[index] = nodes_[index - 1];
    }
    keys_[0] = key;
    nodes_[0] = node;
  }
  size_t size() const { return size_; }
  uint32_t node(size_t index) const { return nodes_[index]; }

 private:
  uint32_t capacity_;
  size_t size_ = 0;
  std::array<uint32_t, kReplicationMax> keys_{};
  std::array<uint32_t, kReplicationMax> nodes_{};
};

bool contains(std::span<const uint32_t> list, uint32_t node) {
  return std::find(list.begin(), list.end(), node) != list.end();
}

}  // namespace

std::vector<uint32_t> walk_owner_lists(const std::vector<RingNode>& nodes,
                                       const std::vector<uint32_t>& owner_of, uint32_t wanted_width,
                                       uint32_t& width) {
  RINGKV_ASSERT(!owner_of.empty(), "a walk needs owners");
  RINGKV_ASSERT(wanted_width >= 1 && wanted_width <= kReplicationMax,
                "a width within 1..kReplicationMax");
  const uint32_t replica_count = wanted_width;
  uint32_t zone_count = 0;
  const std::vector<uint32_t> zone_of_node = ring_detail::zone_numbers(nodes, zone_count);
  const OwnerCensus owners = census(nodes.size(), owner_of, zone_of_node);
  width = std::min(replica_count, owners.owning_nodes);
  const auto partition_count = static_cast<uint32_t>(owner_of.size());
  // Zones first only with at least n zones (then width == n).
  FirstDistinct zones(owners.owning_zones >= replica_count ? replica_count : 0);
  FirstDistinct distinct_nodes(width);
  std::vector<uint32_t> entries(size_t{partition_count} * width);
  // Walk positions 2Q-1 down to 0: by the time a position below Q is reached,
  // the lists have seen a whole ring ahead of it, so they hold the first
  // distinct zones and nodes clockwise from it, wrapping around.
  for (uint64_t position = 2 * uint64_t{partition_count}; position-- > 0;) {
    const auto partition = static_cast<uint32_t>(position % partition_count);
    const uint32_t owner = owner_of[partition];
    zones.prepend(zone_of_node[owner], owner);
    distinct_nodes.prepend(owner, owner);
    if (position >= partition_count)
      continue;
    uint32_t* list = entries.data() + size_t{partition} * width;
    size_t taken = 0;
    for (size_t index = 0; index < zones.size() && taken < width; ++index)
      list[taken++] = zones.node(index);
    const size_t from_zones = taken;
    for (size_t index = 0; index < distinct_nodes.size() && taken < width; ++index) {
      if (!contains({list, from_zones}, distinct_nodes.node(index)))
        list[taken++] = distinct_nodes.node(index);
    }
    RINGKV_ASSERT(taken == width, "every list filled to its width");
  }
  return entries;
}

}  // namespace ringkv
