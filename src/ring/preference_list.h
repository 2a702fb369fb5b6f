// Preference lists: which nodes hold the replicas of a partition (Dynamo §4.3).
//
// The preference list of partition p for n replicas walks the ring clockwise
// from p over the partition owners:
//   - when the owners span at least n zones, it takes the owner of the first
//     partition of each zone it meets, until it has n nodes: n distinct zones;
//   - otherwise it takes the first n distinct owners (every owner once when
//     fewer than n own partitions).
// This is the ring issue's definition. With fewer zones than n, insisting on
// every zone in every list would force the nodes of a small zone into every
// list, far beyond their capacity share; instead assignment spreads zones so
// that consecutive partitions alternate zones where capacities allow, and
// LayoutBalance::zone_short_lists counts the lists that still miss a zone.
// When assignment keeps every window of n consecutive partitions on distinct
// nodes (and zones, with at least n zones), the list of p is exactly the
// owners of p..p+n-1.
//
// The extended list continues the walk past the preference list, taking every
// further owner in clockwise order of first appearance; sloppy quorum walks it
// for fallback nodes.
//
// PreferenceTable precomputes every list for one (layout, n) in O(Q·n) time
// and memory so that a lookup is an index (coordinators look up every
// request). Thread safety: immutable after build; share freely.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ring/layout.h"

namespace ringkv {

class PreferenceTable {
 public:
  // REQUIRES: !layout.is_empty(), 1 <= replica_count <= kReplicationMax.
  static PreferenceTable build(const Layout& layout, uint32_t replica_count);

  uint32_t partition_bits() const { return partition_bits_; }
  // Entries per list: min(replica_count, nodes that own partitions).
  uint32_t width() const { return width_; }
  // Node indexes (into the layout's table) of the preference list of `partition`.
  // REQUIRES: partition < 2^partition_bits().
  std::span<const uint32_t> nodes(uint32_t partition) const {
    return {entries_.data() + size_t{partition} * width_, width_};
  }
  std::span<const uint32_t> nodes_for_key(std::string_view key) const;

 private:
  PreferenceTable(uint32_t partition_bits, uint32_t width, std::vector<uint32_t> entries)
      : partition_bits_(partition_bits), width_(width), entries_(std::move(entries)) {}

  uint32_t partition_bits_;
  uint32_t width_;
  std::vector<uint32_t> entries_;  // partition-major, width_ per partition
};

// The preference list by walking the ring (the definition above, O(Q) worst
// case); PreferenceTable is checked against it. REQUIRES as for build.
std::vector<uint32_t> preference_list(const Layout& layout, uint32_t partition,
                                      uint32_t replica_count);

// The preference list followed by further owners clockwise, at most
// `node_count_max` nodes in all (every owner when it is larger). O(Q) worst
// case: for fallback paths, not for every request.
std::vector<uint32_t> extended_preference_list(const Layout& layout, uint32_t partition,
                                               uint32_t replica_count, uint32_t node_count_max);

}  // namespace ringkv
