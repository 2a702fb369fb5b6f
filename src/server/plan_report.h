// The report of a layout plan — balance per node, moves against the lower
// bound — as JSON and as text: `ringkv ring plan`, POST /v1/cluster/changes
// (and its dry run) and `ringkv cluster plan` all print the same fields.
//
// Thread safety: pure functions.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <vector>

#include "ring/assignment.h"

namespace ringkv {

// What a plan reports about one plan.
struct RingPlanReport {
  const AssignmentPlan* plan = nullptr;  // not owned
  const Layout* previous = nullptr;      // not owned; the empty layout for a new cluster
  uint32_t replica_count = 0;
  double assignment_ms = 0;
  // For an estimate of what the plan copies (none without data): the bytes
  // all members hold, the n of every store (the data taken as spread evenly
  // over the stores and, within a store, over its replicas), and the rate at
  // which one node receives (its transfer ceiling; 0: no time estimate).
  uint64_t bytes_held = 0;
  std::vector<uint32_t> store_replicas;
  uint64_t receive_bytes_per_sec = 0;
};

// JSON: nodes[{id, capacity, zone, state, capacity_share, partitions,
// partition_share, replica_partitions, replica_share, replicas_before,
// replica_share_before}], partitions, partition_bits, n, width, version,
// moved_replicas, moved_lower_bound (for n = width), moved_by_n,
// moved_lower_bound_by_n ([n - 1]), max_partition_share_error,
// max_replica_share_error, max_replica_quota_error (relative: 0.03 = 3%),
// zone_short_lists, zone_repeats, over_quota, added_nodes, removed_nodes,
// changed_nodes, assignment_ms; with data, estimated_bytes (what the
// replicas each store copies hold) and, with a rate, estimated_seconds (those
// bytes at one node's ceiling: at most that, as receivers work in parallel).
boost::json::object ring_plan_json(const RingPlanReport& report);
// A byte count for a human: KiB, MiB or GiB.
std::string size_text(double bytes);

// The same for a human: a table per node and a summary.
std::string ring_plan_text(const RingPlanReport& report);

}  // namespace ringkv
