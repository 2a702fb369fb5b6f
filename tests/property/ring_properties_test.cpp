// Property tests of the ring: assignment respects capacity, distinctness and
// minimal movement over random node tables, preference lists (also above the
// planned width) hold distinct nodes, and layouts round-trip.
//
// Tables have 1..500 nodes, capacities 1..16, 0..6 zones (0 = every node in
// the empty zone) and n = 1..5. Q grows with the node count (about 4
// partitions per node or more, 2^6..2^10) so each property runs in seconds under
// the sanitizers.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "ring/assignment.h"
#include "ring/preference_list.h"

namespace ringkv {
namespace {

struct Cluster {
  std::vector<RingNode> nodes;
  uint32_t partition_bits = 0;
  uint32_t replica_count = 0;
};

uint32_t bits_for(size_t node_count) {
  uint32_t bits = 6;
  while (bits < 10 && (size_t{1} << bits) < node_count * 4)
    ++bits;
  return bits;
}

std::vector<RingNode> arbitrary_nodes(size_t node_count, int zone_count,
                                      const std::string& prefix) {
  std::vector<RingNode> nodes;
  for (size_t index = 0; index < node_count; ++index) {
    const auto capacity = *rc::gen::inRange<uint32_t>(1, 17);
    const std::string zone =
        zone_count == 0 ? "" : "zone-" + std::to_string(*rc::gen::inRange(0, zone_count));
    nodes.push_back({prefix + std::to_string(index), capacity, zone, NodeState::active});
  }
  return nodes;
}

Cluster arbitrary_cluster() {
  Cluster cluster;
  const auto node_count = *rc::gen::inRange<size_t>(1, 501);
  const int zone_count = *rc::gen::inRange(0, 7);
  cluster.nodes = arbitrary_nodes(node_count, zone_count, "node-");
  cluster.partition_bits = bits_for(node_count);
  cluster.replica_count = *rc::gen::inRange<uint32_t>(1, 6);
  return cluster;
}

AssignmentPlan plan_new(const Cluster& cluster) {
  auto plan =
      plan_assignment(Layout::empty(cluster.partition_bits), cluster.nodes, cluster.replica_count);
  RC_ASSERT(plan.ok());
  return std::move(*plan);
}

// Whether some node's or zone's capacity share is above 1/n: it is capped at
// every list, so proportionality holds only up to the caps.
bool caps_bind(const Cluster& cluster) {
  const uint32_t n = cluster.replica_count;
  uint64_t total = 0;
  std::map<std::string, uint64_t> zones;
  for (const RingNode& node : cluster.nodes) {
    total += node.capacity;
    zones[node.zone] += node.capacity;
  }
  bool binds = false;
  if (cluster.nodes.size() >= n) {
    for (const RingNode& node : cluster.nodes)
      binds |= uint64_t{node.capacity} * n > total;
  }
  if (zones.size() >= 2) {
    for (const auto& [zone, weight] : zones)
      binds |= weight * n > total;
  }
  return binds;
}

RC_GTEST_PROP(RingAssignment, ReplicaCountsAreProportionalToCapacity, ()) {
  const Cluster cluster = arbitrary_cluster();
  const AssignmentPlan plan = plan_new(cluster);
  const uint32_t partition_count = uint32_t{1} << cluster.partition_bits;
  const std::vector<uint32_t> counts = plan.layout.list_counts();
  RC_TAG(plan.over_quota == 0 ? "quotas met" : "quotas not met");
  if (plan.over_quota == 0)
    RC_ASSERT(counts == plan.quotas);  // placement meets the quotas
  uint64_t total = 0;
  for (const RingNode& node : plan.layout.nodes())
    total += node.capacity;
  const bool binds = caps_bind(cluster);
  RC_TAG(binds ? "caps bind" : "proportional");
  const uint32_t width = plan.layout.width();
  for (size_t index = 0; index < counts.size(); ++index) {
    RC_ASSERT(counts[index] <= partition_count);  // once per list
    if (binds)
      continue;
    // Within 2 entries per column (zones, then nodes within a zone) of the
    // exact share Q·width·c/C, in integers: |count·C - Q·width·c| <= 2·width·C.
    const int64_t scaled = int64_t(counts[index]) * int64_t(total) -
                           int64_t(partition_count) * width * plan.layout.nodes()[index].capacity;
    RC_ASSERT(std::abs(scaled) <= 2 * int64_t(width) * int64_t(total));
  }
}

RC_GTEST_PROP(RingAssignment, PreferenceListsHoldDistinctNodesAndZones, ()) {
  Cluster cluster = arbitrary_cluster();
  const AssignmentPlan plan = plan_new(cluster);
  const Layout& layout = plan.layout;
  uint32_t listed_nodes = 0;
  for (uint32_t count : layout.list_counts())
    listed_nodes += count > 0 ? 1 : 0;
  const uint32_t zones = layout.listed_zone_count();
  // Any n, also above the planned width (the lists are extended).
  const uint32_t n = *rc::gen::inRange<uint32_t>(1, 8);
  const PreferenceTable table = PreferenceTable::build(layout, n);
  RC_ASSERT(table.width() == std::min(n, listed_nodes));
  const uint32_t checked = 16;  // preference_list is O(Q·width): check a sample
  for (uint32_t partition = 0; partition < layout.partition_count(); ++partition) {
    const auto list = table.nodes(partition);
    std::set<uint32_t> distinct_nodes(list.begin(), list.end());
    std::set<std::string> distinct_zones;
    for (uint32_t node : list)
      distinct_zones.insert(layout.nodes()[node].zone);
    RC_ASSERT(distinct_nodes.size() == list.size());
    // Lists span min(n, zones) zones where the planner met every rule.
    if (plan.zone_repeats == 0 && n <= layout.width())
      RC_ASSERT(distinct_zones.size() == std::min<size_t>(list.size(), zones));
    if (n <= layout.width()) {
      const auto stored = layout.list(partition);
      RC_ASSERT(std::equal(list.begin(), list.end(), stored.begin()));
    }
    if (partition % (layout.partition_count() / checked + 1) == 0) {
      const std::vector<uint32_t> single = preference_list(layout, partition, n);
      RC_ASSERT(std::vector<uint32_t>(list.begin(), list.end()) == single);
      // The extended list starts with the preference list and names every
      // listed node once.
      const std::vector<uint32_t> extended =
          extended_preference_list(layout, partition, n, listed_nodes + 1);
      RC_ASSERT(extended.size() == listed_nodes);
      RC_ASSERT(std::equal(single.begin(), single.end(), extended.begin()));
      RC_ASSERT(std::set<uint32_t>(extended.begin(), extended.end()).size() == extended.size());
    }
  }
  RC_TAG(n <= layout.width() ? "stored" : "extended");
}

// Any lists, not only planned ones (zones that few lists name, nodes in no
// list): the table, built by one sweep for n above the width, gives every
// partition exactly the list the single walk gives.
RC_GTEST_PROP(RingAssignment, TheTableIsTheWalkOnArbitraryLists, ()) {
  const auto node_count = *rc::gen::inRange<uint32_t>(1, 13);
  std::vector<RingNode> nodes;
  for (uint32_t index = 0; index < node_count; ++index) {
    // Zone 0 common, higher zones ever rarer.
    const int zone = std::min(*rc::gen::inRange(0, 6), *rc::gen::inRange(0, 8));
    nodes.push_back({"node-" + std::to_string(100 + index), 1, "zone-" + std::to_string(zone),
                     NodeState::active});
  }
  const auto bits = *rc::gen::inRange<uint32_t>(0, 8);
  const auto width = *rc::gen::inRange<uint32_t>(1, std::min<uint32_t>(node_count, 4) + 1);
  std::vector<uint32_t> lists;
  for (uint32_t partition = 0; partition < (uint32_t{1} << bits); ++partition) {
    std::vector<uint32_t> order(node_count);
    for (uint32_t index = 0; index < node_count; ++index)
      order[index] = index;
    for (uint32_t index = 0; index < width; ++index) {
      std::swap(order[index], order[*rc::gen::inRange<uint32_t>(index, node_count)]);
      lists.push_back(order[index]);
    }
  }
  auto layout = Layout::create(bits, 1, nodes, width, std::move(lists));
  RC_ASSERT(layout.ok());
  // Half the time (where there is room) n above the width but within the
  // zones the lists name: the walk then seeks zones first.
  const uint32_t zones = layout->listed_zone_count();
  const auto n = zones > width && *rc::gen::arbitrary<bool>()
                     ? *rc::gen::inRange<uint32_t>(width + 1, zones + 1)
                     : *rc::gen::inRange<uint32_t>(1, 11);
  const PreferenceTable table = PreferenceTable::build(*layout, n);
  for (uint32_t partition = 0; partition < layout->partition_count(); ++partition) {
    const auto list = table.nodes(partition);
    RC_ASSERT(std::vector<uint32_t>(list.begin(), list.end()) ==
              preference_list(*layout, partition, n));
  }
  RC_TAG(n <= width ? "stored" : n <= zones ? "extended, seeking zones" : "extended");
}

RC_GTEST_PROP(RingAssignment, SameLayoutWhateverTheOrderOfTheTable, ()) {
  const Cluster cluster = arbitrary_cluster();
  const AssignmentPlan plan = plan_new(cluster);
  std::vector<RingNode> shuffled = cluster.nodes;
  std::mt19937_64 random(*rc::gen::arbitrary<uint64_t>());  // seeded by RapidCheck: replayable
  std::shuffle(shuffled.begin(), shuffled.end(), random);
  const auto again =
      plan_assignment(Layout::empty(cluster.partition_bits), shuffled, cluster.replica_count);
  RC_ASSERT(again.ok());
  RC_ASSERT(encode_layout(again->layout) == encode_layout(plan.layout));
  // And the same for a change computed from a previous layout.
  std::vector<RingNode> grown = cluster.nodes;
  grown.push_back({"added", *rc::gen::inRange<uint32_t>(1, 17), "zone-0", NodeState::active});
  std::vector<RingNode> grown_shuffled = grown;
  std::shuffle(grown_shuffled.begin(), grown_shuffled.end(), random);
  const auto left = plan_assignment(plan.layout, grown, cluster.replica_count);
  const auto right = plan_assignment(again->layout, grown_shuffled, cluster.replica_count);
  RC_ASSERT(left.ok() && right.ok());
  RC_ASSERT(encode_layout(left->layout) == encode_layout(right->layout));
}

// One change of one node: add, remove or reweight (capacity or zone).
std::vector<RingNode> change_one_node(std::vector<RingNode> nodes) {
  const int kind = *rc::gen::inRange(0, 3);
  if (kind == 0 || nodes.size() == 1) {
    RC_TAG("add");
    nodes.push_back(
        {"added", *rc::gen::inRange<uint32_t>(1, 17), nodes[0].zone, NodeState::active});
    return nodes;
  }
  const auto index = *rc::gen::inRange<size_t>(0, nodes.size());
  if (kind == 1) {
    RC_TAG("remove");
    nodes.erase(nodes.begin() + index);
  } else {
    RC_TAG("reweight");
    nodes[index].capacity = *rc::gen::inRange<uint32_t>(1, 17);
  }
  return nodes;
}

RC_GTEST_PROP(RingAssignment, SingleNodeChangesMoveNearTheLowerBound, ()) {
  const Cluster cluster = arbitrary_cluster();
  const AssignmentPlan before = plan_new(cluster);
  const std::vector<RingNode> after_nodes = change_one_node(cluster.nodes);
  const auto after = plan_assignment(before.layout, after_nodes, cluster.replica_count);
  RC_ASSERT(after.ok());
  if (after->over_quota > 0 || after->zone_repeats > 0) {
    RC_TAG("not exact (capped)");
    return;  // replica_lists.h, "Known limits"
  }
  RC_ASSERT(after->layout.list_counts() == after->quotas);
  // The lower bound really is one: every quota gain needs that many arrivals.
  RC_ASSERT(after->moved_replicas >= after->moved_lower_bound);
  // A regression guard, not the goal: these random tables have about 4
  // partitions per node, so a change's bound is a handful of entries and a
  // chain of exchanges weighs a lot (bench/ring_stats.cpp: mean 1.1-1.3x,
  // worst 4.2x on a bound of 5). The clusters are held to 1.1x in
  // ring_replica_lists_test.cpp and ring_plan_test.cpp.
  const uint64_t width = after->layout.width();
  if (width == before.layout.width())
    RC_ASSERT(after->moved_replicas <= 2 * after->moved_lower_bound + 4 * width);
  // Planning the same table again moves nothing.
  const auto again = plan_assignment(after->layout, after_nodes, cluster.replica_count);
  RC_ASSERT(again.ok());
  RC_ASSERT(again->moved_replicas == 0u);
  RC_ASSERT(again->layout.lists() == after->layout.lists());
}

// An accepted encoding is the canonical one; a format-1 encoding (read by
// converting its owners to lists) re-encodes as format 2 of the same layout.
void check_canonical(const std::string& bytes) {
  const auto decoded = decode_layout(bytes);
  if (!decoded.ok())
    return;
  if (bytes[0] == 1) {
    const auto again = decode_layout(encode_layout(*decoded));
    RC_ASSERT(again.ok());
    RC_ASSERT(*again == *decoded);
  } else {
    RC_ASSERT(encode_layout(*decoded) == bytes);
  }
}

RC_GTEST_PROP(RingLayoutCodec, RoundTrips, ()) {
  const Cluster cluster = arbitrary_cluster();
  Layout layout = plan_new(cluster).layout;
  const auto decoded = decode_layout(encode_layout(layout));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == layout);
}

RC_GTEST_PROP(RingLayoutCodec, MutatedEncodingsAreRejectedOrCanonical, ()) {
  Cluster cluster;
  cluster.nodes = arbitrary_nodes(*rc::gen::inRange<size_t>(1, 9), *rc::gen::inRange(0, 3), "n");
  cluster.partition_bits = *rc::gen::inRange<uint32_t>(0, 5);
  cluster.replica_count = 1;
  std::string bytes = encode_layout(plan_new(cluster).layout);
  const auto at = *rc::gen::inRange<size_t>(0, bytes.size());
  const int mode = *rc::gen::inRange(0, 3);
  if (mode == 0) {
    bytes.resize(at);
    RC_ASSERT(!decode_layout(bytes).ok());  // every truncation is invalid
    return;
  }
  if (mode == 1)
    bytes[at] = static_cast<char>(*rc::gen::arbitrary<uint8_t>());
  else
    bytes.insert(at, 1, static_cast<char>(*rc::gen::arbitrary<uint8_t>()));
  check_canonical(bytes);
}

RC_GTEST_PROP(RingLayoutCodec, NeverCrashesOnArbitraryInput, (const std::string& bytes)) {
  check_canonical(bytes);
}

}  // namespace
}  // namespace ringkv
