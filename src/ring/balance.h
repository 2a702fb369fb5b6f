// Balance: how far a layout is from every node's capacity share, measured.
//
// A node's capacity share is its capacity over the total capacity of active
// nodes (leaving nodes should hold nothing). Its partition share is how many
// lists it heads (the replicas of a store with n = 1) over Q; its replica
// share is how many preference lists (for n) name it over the Q·width entries
// of all lists. Errors are relative to the capacity share: 0.03 means a node
// holds 3% more or less than it should.
#pragma once

#include <cstdint>
#include <vector>

#include "ring/layout.h"

namespace ringkv {

struct NodeBalance {
  uint32_t partitions = 0;          // lists the node heads
  uint32_t replica_partitions = 0;  // preference lists that name the node
  double capacity_share = 0;        // 0 for a leaving node
  double partition_share = 0;
  double replica_share = 0;
};

struct LayoutBalance {
  uint32_t replica_count = 0;
  std::vector<NodeBalance> nodes;  // by node index of the layout
  double max_partition_share_error = 0;
  double max_replica_share_error = 0;
  // Preference lists holding fewer than min(n, zones) zones; possible only
  // with fewer zones than n (see preference_list.h).
  uint32_t zone_short_lists = 0;
};

// REQUIRES: !layout.is_empty(), 1 <= replica_count <= kReplicationMax.
LayoutBalance measure_balance(const Layout& layout, uint32_t replica_count);

}  // namespace ringkv
