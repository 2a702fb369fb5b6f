// Preference lists: which nodes hold the replicas of a partition (Dynamo §4.3).
//
// The layout writes every partition's list out, `width` nodes long
// (ring/layout.h, planned by ring/replica_lists.h). The preference list of
// partition p for n replicas is the first n entries of its list. For n above
// the width (a store with more replicas than the cluster plans lists for),
// it continues with nodes met walking the lists of the partitions after p,
// each in its order: first only nodes of zones it lacks, while the lists name
// at least n zones, then any node; so it holds min(n, nodes the lists name)
// nodes. Balance is planned only up to the width.
//
// The extended list continues the same walk past the preference list, taking
// every further node once; sloppy quorum walks it for fallback nodes.
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

// The preference list of one partition (the definition above; O(Q·width)
// for the census of listed nodes); PreferenceTable is checked against it.
// REQUIRES as for build.
std::vector<uint32_t> preference_list(const Layout& layout, uint32_t partition,
                                      uint32_t replica_count);

// The preference list followed by further nodes met in the lists after the
// partition's, at most `node_count_max` nodes in all (every listed node when
// it is larger). O(Q·width) worst
// case: for fallback paths, not for every request.
std::vector<uint32_t> extended_preference_list(const Layout& layout, uint32_t partition,
                                               uint32_t replica_count, uint32_t node_count_max);

}  // namespace ringkv
