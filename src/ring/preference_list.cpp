// Preference list walks and their precomputed table; see preference_list.h.
#include "ring/preference_list.h"

#include <algorithm>
#include <map>

#include "common/check.h"
#include "common/store_config.h"

namespace ringkv {
namespace {

// A dense zone number per node, so the extension compares integers, not strings.
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

struct ListCensus {
  uint32_t listed_nodes = 0;
  uint32_t listed_zones = 0;
};

ListCensus census(const Layout& layout, const std::vector<uint32_t>& zone_of_node) {
  std::vector<bool> node_seen(layout.nodes().size(), false);
  std::vector<bool> zone_seen(layout.nodes().size(), false);
  ListCensus out;
  for (uint32_t node : layout.lists()) {
    if (!node_seen[node]) {
      node_seen[node] = true;
      ++out.listed_nodes;
    }
    if (!zone_seen[zone_of_node[node]]) {
      zone_seen[zone_of_node[node]] = true;
      ++out.listed_zones;
    }
  }
  return out;
}

bool contains(std::span<const uint32_t> list, uint32_t node) {
  return std::find(list.begin(), list.end(), node) != list.end();
}

// Appends further nodes to `list` (the first entries of the list of
// `partition`), met walking the lists of the partitions after it, each in its
// order: first only nodes of zones the list lacks until it spans
// `zones_wanted` zones, then any node, until it holds `size` nodes or every
// list has been walked.
void extend(const Layout& layout, const std::vector<uint32_t>& zone_of_node, uint32_t partition,
            uint32_t zones_wanted, size_t size, std::vector<uint32_t>& list) {
  const uint32_t partition_count = layout.partition_count();
  std::vector<bool> zone_taken(layout.nodes().size(), false);
  uint32_t zones = 0;
  for (uint32_t node : list) {
    if (!zone_taken[zone_of_node[node]]) {
      zone_taken[zone_of_node[node]] = true;
      ++zones;
    }
  }
  for (bool zones_first : {true, false}) {
    if (zones_first && zones >= zones_wanted)
      continue;
    for (uint32_t step = 1; step <= partition_count && list.size() < size; ++step) {
      for (uint32_t node : layout.list((partition + step) % partition_count)) {
        if (list.size() == size || (zones_first && zones >= zones_wanted))
          break;
        if (contains(list, node) || (zones_first && zone_taken[zone_of_node[node]]))
          continue;
        list.push_back(node);
        if (!zone_taken[zone_of_node[node]]) {
          zone_taken[zone_of_node[node]] = true;
          ++zones;
        }
      }
    }
  }
}

// The preference list of `partition` for n = replica_count: the first n
// entries of its list, extended past the width (see preference_list.h).
std::vector<uint32_t> list_for(const Layout& layout, const std::vector<uint32_t>& zone_of_node,
                               const ListCensus& listed, uint32_t partition,
                               uint32_t replica_count) {
  const auto stored = layout.list(partition);
  const uint32_t take = std::min(replica_count, layout.width());
  std::vector<uint32_t> list(stored.begin(), stored.begin() + take);
  const uint32_t width = std::min(replica_count, listed.listed_nodes);
  if (list.size() < width) {
    const uint32_t zones_wanted = listed.listed_zones >= replica_count ? replica_count : 0;
    extend(layout, zone_of_node, partition, zones_wanted, width, list);
  }
  RINGKV_ASSERT(list.size() == width, "every list filled to its width");
  return list;
}

}  // namespace

PreferenceTable PreferenceTable::build(const Layout& layout, uint32_t replica_count) {
  RINGKV_ASSERT(!layout.is_empty(), "a preference table needs a layout with nodes");
  RINGKV_ASSERT(replica_count >= 1 && replica_count <= kReplicationMax,
                "a replica count within 1..kReplicationMax");
  const std::vector<uint32_t> zone_of_node = zone_numbers(layout);
  const ListCensus listed = census(layout, zone_of_node);
  const uint32_t width = std::min(replica_count, listed.listed_nodes);
  const uint32_t partition_count = layout.partition_count();
  std::vector<uint32_t> entries;
  entries.reserve(size_t{partition_count} * width);
  if (replica_count <= layout.width()) {
    for (uint32_t partition = 0; partition < partition_count; ++partition) {
      const auto stored = layout.list(partition);
      entries.insert(entries.end(), stored.begin(), stored.begin() + width);
    }
  } else {
    for (uint32_t partition = 0; partition < partition_count; ++partition) {
      const std::vector<uint32_t> list =
          list_for(layout, zone_of_node, listed, partition, replica_count);
      entries.insert(entries.end(), list.begin(), list.end());
    }
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
  return list_for(layout, zone_of_node, census(layout, zone_of_node), partition, replica_count);
}

std::vector<uint32_t> extended_preference_list(const Layout& layout, uint32_t partition,
                                               uint32_t replica_count, uint32_t node_count_max) {
  RINGKV_ASSERT(!layout.is_empty(), "a preference table needs a layout with nodes");
  // Within the width no census is needed, and the walk past the list stops
  // once it holds node_count_max nodes (or has seen every list): the
  // sloppy-quorum path asks for a few more nodes than n, not for a scan.
  const std::vector<uint32_t> zone_of_node = zone_numbers(layout);
  std::vector<uint32_t> list;
  if (replica_count <= layout.width()) {
    const auto stored = layout.list(partition);
    list.assign(stored.begin(), stored.begin() + replica_count);
  } else {
    list = list_for(layout, zone_of_node, census(layout, zone_of_node), partition, replica_count);
  }
  if (list.size() > node_count_max)
    list.resize(node_count_max);
  if (list.size() < node_count_max)
    extend(layout, zone_of_node, partition, 0, node_count_max, list);
  return list;
}

}  // namespace ringkv
