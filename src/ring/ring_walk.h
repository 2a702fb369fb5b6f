// The ring walk of layout format 1, kept to read layouts written before the
// replica lists (ring/layout.h).
//
// A format-1 layout gave each partition one owner; the preference list of p
// for n replicas walked clockwise from p over the owners: with at least n
// owning zones, the owner of the first partition of each zone met until n
// nodes; otherwise the first n distinct owners (every owner when fewer own
// partitions). Reading such a layout turns these walked lists into explicit
// ones, so every store keeps its replicas where they were.
#pragma once

#include <cstdint>
#include <vector>

#include "ring/layout.h"

namespace ringkv {

// The walked lists of every partition, partition-major, `width` entries each
// where width = min(wanted_width, nodes that own partitions), set on return.
// O(Q · width). REQUIRES: owners is non-empty, every entry < nodes.size(),
// 1 <= wanted_width <= kReplicationMax.
std::vector<uint32_t> walk_owner_lists(const std::vector<RingNode>& nodes,
                                       const std::vector<uint32_t>& owners, uint32_t wanted_width,
                                       uint32_t& width);

}  // namespace ringkv
