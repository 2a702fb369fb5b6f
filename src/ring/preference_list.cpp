// Preference list walks and their precomputed table; see preference_list.h.
#include "ring/preference_list.h"

#include <algorithm>
#include <array>
#include <map>

#include "common/check.h"
#include "common/store_config.h"

namespace ringkv {
namespace {

// A dense zone number per node, so sweeps compare integers, not strings.
std::vector<uint32_t> zone_numbers(const Layout& layout) {
  std::map<std::string_view, uint32_t> numbers;
  std::vector<uint32_t> out;
  out.reserve(layout.nodes().size());
  for (const RingNode& node : layout.nodes()) {
    const auto [entry, inserted] =
        numbers.emplace(node.zone, static_cast<uint32_t>(numbers.size()));
    out.push_back(entry->second);
  }
  return out;
}

struct OwnerCensus {
  uint32_t owning_nodes = 0;
  uint32_t owning_zones = 0;
};

OwnerCensus census(const Layout& layout, const std::vector<uint32_t>& zone_of_node) {
  std::vector<bool> node_seen(layout.nodes().size(), false);
  std::vector<bool> zone_seen(layout.nodes().size(), false);
  OwnerCensus out;
  for (uint32_t owner : layout.owners()) {
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

PreferenceTable PreferenceTable::build(const Layout& layout, uint32_t replica_count) {
  RINGKV_ASSERT(!layout.is_empty(), "a preference table needs a layout with nodes");
  RINGKV_ASSERT(replica_count >= 1 && replica_count <= kReplicationMax,
                "a replica count within 1..kReplicationMax");
  const std::vector<uint32_t> zone_of_node = zone_numbers(layout);
  const OwnerCensus owners = census(layout, zone_of_node);
  const uint32_t width = std::min(replica_count, owners.owning_nodes);
  const uint32_t partition_count = layout.partition_count();
  // Zones first only with at least n zones (then width == n).
  FirstDistinct zones(owners.owning_zones >= replica_count ? replica_count : 0);
  FirstDistinct nodes(width);
  std::vector<uint32_t> entries(size_t{partition_count} * width);
  // Walk positions 2Q-1 down to 0: by the time a position below Q is reached,
  // the lists have seen a whole ring ahead of it, so they hold the first
  // distinct zones and nodes clockwise from it, wrapping around.
  for (uint64_t position = 2 * uint64_t{partition_count}; position-- > 0;) {
    const auto partition = static_cast<uint32_t>(position % partition_count);
    const uint32_t owner = layout.owner(partition);
    zones.prepend(zone_of_node[owner], owner);
    nodes.prepend(owner, owner);
    if (position >= partition_count)
      continue;
    uint32_t* list = entries.data() + size_t{partition} * width;
    size_t taken = 0;
    for (size_t index = 0; index < zones.size() && taken < width; ++index)
      list[taken++] = zones.node(index);
    const size_t from_zones = taken;
    for (size_t index = 0; index < nodes.size() && taken < width; ++index) {
      if (!contains({list, from_zones}, nodes.node(index)))
        list[taken++] = nodes.node(index);
    }
    RINGKV_ASSERT(taken == width, "every list filled to its width");
  }
  return PreferenceTable(layout.partition_bits(), width, std::move(entries));
}

std::span<const uint32_t> PreferenceTable::nodes_for_key(std::string_view key) const {
  const Md5Digest digest = md5(key);
  const uint32_t top = (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) |
                       (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
  return nodes(partition_bits_ == 0 ? 0 : top >> (32 - partition_bits_));
}

std::vector<uint32_t> preference_list(const Layout& layout, uint32_t partition,
                                      uint32_t replica_count) {
  RINGKV_ASSERT(!layout.is_empty(), "a preference table needs a layout with nodes");
  const std::vector<uint32_t> zone_of_node = zone_numbers(layout);
  const OwnerCensus owners = census(layout, zone_of_node);
  const uint32_t partition_count = layout.partition_count();
  const uint32_t zones_wanted = owners.owning_zones >= replica_count ? replica_count : 0;
  const uint32_t width = std::min(replica_count, owners.owning_nodes);
  std::vector<uint32_t> list;
  std::vector<bool> zone_taken(layout.nodes().size(), false);
  for (uint32_t step = 0; step < partition_count && list.size() < zones_wanted; ++step) {
    const uint32_t owner = layout.owner((partition + step) % partition_count);
    if (!zone_taken[zone_of_node[owner]]) {
      zone_taken[zone_of_node[owner]] = true;
      list.push_back(owner);
    }
  }
  for (uint32_t step = 0; step < partition_count && list.size() < width; ++step) {
    const uint32_t owner = layout.owner((partition + step) % partition_count);
    if (!contains(list, owner))
      list.push_back(owner);
  }
  return list;
}

std::vector<uint32_t> extended_preference_list(const Layout& layout, uint32_t partition,
                                               uint32_t replica_count, uint32_t node_count_max) {
  std::vector<uint32_t> list = preference_list(layout, partition, replica_count);
  if (list.size() > node_count_max)
    list.resize(node_count_max);
  std::vector<bool> taken(layout.nodes().size(), false);
  for (uint32_t node : list)
    taken[node] = true;
  const uint32_t partition_count = layout.partition_count();
  for (uint32_t step = 0; step < partition_count && list.size() < node_count_max; ++step) {
    const uint32_t owner = layout.owner((partition + step) % partition_count);
    if (!taken[owner]) {
      taken[owner] = true;
      list.push_back(owner);
    }
  }
  return list;
}

}  // namespace ringkv
