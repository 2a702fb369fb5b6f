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

// Appends further nodes to `list` (the first entries of the list of
// `partition`), met walking the lists of the partitions after it, each in its
// order: first only nodes of zones the list lacks until it spans
// `zones_wanted` zones, then any node, until it holds `size` nodes or every
// list has been walked. With zones_wanted = 0 `zone_of_node` is not read
// (and may be empty).
void extend(const Layout& layout, const std::vector<uint32_t>& zone_of_node, uint32_t partition,
            uint32_t zones_wanted, size_t size, std::vector<uint32_t>& list) {
  const uint32_t partition_count = layout.partition_count();
  std::vector<bool> zone_taken(layout.nodes().size(), false);
  std::vector<bool> node_taken(layout.nodes().size(), false);
  uint32_t zones = 0;
  for (uint32_t node : list) {
    node_taken[node] = true;
    if (zones_wanted > 0 && !zone_taken[zone_of_node[node]]) {
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
        if (node_taken[node] || (zones_first && zone_taken[zone_of_node[node]]))
          continue;
        list.push_back(node);
        node_taken[node] = true;
        if (zones_first && !zone_taken[zone_of_node[node]]) {
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

// First occurrences of values (zones or nodes) in a stream read backwards:
// the value seen last has the earliest position, so it moves to the front
// of a doubly linked list, and the list is always in position order. O(1)
// per value seen; reading the first k in order is O(k).
class FirstSeen {
 public:
  explicit FirstSeen(size_t values) : next_(values, kNil), previous_(values, kNil) {}
  void see(uint32_t value) {
    if (head_ == value)
      return;
    if (previous_[value] != kNil) {  // linked: unlink it
      next_[previous_[value]] = next_[value];
      if (next_[value] != kNil)
        previous_[next_[value]] = previous_[value];
    }
    next_[value] = head_;
    previous_[value] = kNil;
    if (head_ != kNil)
      previous_[head_] = value;
    head_ = value;
  }
  // Calls visit(value) from the earliest position on while it returns true.
  template <typename Visit>
  void in_order(Visit visit) const {
    for (uint32_t value = head_; value != kNil && visit(value); value = next_[value]) {
    }
  }

 private:
  static constexpr uint32_t kNil = ~uint32_t{0};
  uint32_t head_ = kNil;
  std::vector<uint32_t> next_, previous_;
};

// Every partition's list extended past the layout's width to `size` nodes,
// exactly as list_for() extends one, in O(Q·(width + n)) for all of them
// (extend() per partition is quadratic when a zone it needs is rare: it
// walks far for each list). extend()'s walk from partition p takes, in
// stream order, the first occurrence after p's list of each zone the list
// lacks (while it lacks zones), then the first occurrence of each node it
// lacks; so one backward sweep over the lists, twice round (every walk
// covers the Q lists after its own), keeping each zone's and node's first
// occurrence, gives every list's picks by reading those in order.
std::vector<uint32_t> extend_all(const Layout& layout, const std::vector<uint32_t>& zone_of_node,
                                 uint32_t zones_wanted, uint32_t size) {
  const uint32_t partition_count = layout.partition_count();
  const uint32_t width = layout.width();
  const size_t node_count = layout.nodes().size();
  FirstSeen zones_after(node_count), nodes_after(node_count);  // zone numbers < node count
  std::vector<uint32_t> first_node_of_zone(node_count, 0);     // at the zone's first occurrence
  std::vector<bool> zone_taken(node_count, false), node_taken(node_count, false);
  std::vector<uint32_t> out(size_t{partition_count} * size);
  std::vector<uint32_t> list;
  for (uint64_t stream_list = uint64_t{2} * partition_count - 1; stream_list >= 1; --stream_list) {
    const auto entries = layout.list(static_cast<uint32_t>(stream_list % partition_count));
    for (uint32_t column = width; column-- > 0;) {
      const uint32_t node = entries[column];
      nodes_after.see(node);
      zones_after.see(zone_of_node[node]);
      first_node_of_zone[zone_of_node[node]] = node;
    }
    const uint64_t partition = stream_list - 1;
    if (partition >= partition_count)
      continue;
    const auto stored = layout.list(static_cast<uint32_t>(partition));
    list.assign(stored.begin(), stored.end());
    uint32_t zones = 0;
    for (uint32_t node : list) {
      node_taken[node] = true;
      if (!zone_taken[zone_of_node[node]]) {
        zone_taken[zone_of_node[node]] = true;
        ++zones;
      }
    }
    zones_after.in_order([&](uint32_t zone) {
      if (zones >= zones_wanted || list.size() == size)
        return false;
      if (!zone_taken[zone]) {
        const uint32_t node = first_node_of_zone[zone];
        list.push_back(node);
        node_taken[node] = true;
        zone_taken[zone] = true;
        ++zones;
      }
      return true;
    });
    nodes_after.in_order([&](uint32_t node) {
      if (list.size() == size)
        return false;
      if (!node_taken[node]) {
        list.push_back(node);
        node_taken[node] = true;
      }
      return true;
    });
    RINGKV_ASSERT(list.size() == size, "every list filled to its width");
    std::copy(list.begin(), list.end(), out.begin() + static_cast<ptrdiff_t>(partition * size));
    for (uint32_t node : list) {
      node_taken[node] = false;
      zone_taken[zone_of_node[node]] = false;
    }
  }
  return out;
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
    const uint32_t zones_wanted = listed.listed_zones >= replica_count ? replica_count : 0;
    entries = extend_all(layout, zone_of_node, zones_wanted, width);
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
  // Within the width no zone numbers or census are needed (the walk past the
  // list seeks no zones), and the walk stops once it holds node_count_max
  // nodes (or has seen every list): the sloppy-quorum path asks for a few
  // more nodes than n, not for a scan. Above the width the list itself costs
  // the zone numbers and the census (O(N log N + Q·width)): a fallback path.
  std::vector<uint32_t> list;
  if (replica_count <= layout.width()) {
    const auto stored = layout.list(partition);
    list.assign(stored.begin(), stored.begin() + replica_count);
  } else {
    const std::vector<uint32_t> zone_of_node = zone_numbers(layout);
    list = list_for(layout, zone_of_node, census(layout, zone_of_node), partition, replica_count);
  }
  if (list.size() > node_count_max)
    list.resize(node_count_max);
  if (list.size() < node_count_max)
    extend(layout, {}, partition, 0, node_count_max, list);
  return list;
}

}  // namespace ringkv
