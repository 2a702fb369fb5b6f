// Assignment: the next layout from replica lists; see assignment.h.
#include "ring/assignment.h"

#include <algorithm>
#include <map>
#include <set>

#include "common/check.h"
#include "common/store_config.h"
#include "ring/replica_lists.h"

namespace ringkv {
namespace {

Result<std::vector<RingNode>> sorted_table(std::vector<RingNode> nodes) {
  if (nodes.size() > kNodeCountMax)
    return Status(Code::invalid_argument, "more than " + std::to_string(kNodeCountMax) + " nodes");
  for (const RingNode& node : nodes) {
    if (Status status = validate(node); !status.ok())
      return status;
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const RingNode& left, const RingNode& right) { return left.id < right.id; });
  for (size_t index = 1; index < nodes.size(); ++index) {
    if (nodes[index - 1].id == nodes[index].id)
      return Status(Code::invalid_argument, "duplicate node id \"" + nodes[index].id + "\"");
  }
  return nodes;
}

}  // namespace

Result<AssignmentPlan> plan_assignment(const Layout& previous, std::vector<RingNode> nodes,
                                       uint32_t replica_count) {
  if (replica_count < 1 || replica_count > kReplicationMax)
    return Status(Code::invalid_argument, "n must be 1.." + std::to_string(kReplicationMax) +
                                              ", not " + std::to_string(replica_count));
  auto sorted = sorted_table(std::move(nodes));
  if (!sorted.ok())
    return sorted.status();
  if (std::none_of(sorted->begin(), sorted->end(),
                   [](const RingNode& node) { return node.state == NodeState::active; }))
    return Status(Code::invalid_argument, "a layout needs at least one active node");
  const uint32_t partition_bits = previous.partition_bits();
  const uint32_t partition_count = previous.partition_count();
  ReplicaListPlan lists = plan_replica_lists(partition_bits, replica_count, *sorted,
                                             previous.nodes(), previous.lists(), previous.width());
  const ListBalance list_balance = measure_list_balance(*sorted, partition_count, lists);
  AssignmentPlan plan;
  const uint32_t width = lists.width;
  plan.moved_by_n = lists.moved;
  plan.moved_lower_bound_by_n = lists.moved_lower_bound;
  plan.moved_replicas = lists.moved[width - 1];
  plan.moved_lower_bound = lists.moved_lower_bound[width - 1];
  plan.quotas = lists.prefix_quotas[width - 1];
  plan.max_replica_quota_error = list_balance.max_quota_error[width - 1];
  plan.zone_repeats = lists.zone_repeats;
  plan.over_quota = lists.over_quota;
  auto layout = Layout::create(partition_bits, previous.version() + 1, std::move(*sorted), width,
                               std::move(lists.entries));
  RINGKV_ASSERT(layout.ok(), "a valid planned layout");
  plan.layout = std::move(*layout);
  plan.balance = measure_balance(plan.layout, width);
  return plan;
}

Result<std::vector<RingNode>> apply_change(const std::vector<RingNode>& nodes,
                                           const NodeTableChange& change) {
  std::map<std::string, RingNode> table;
  for (const RingNode& node : nodes)
    table[node.id] = node;
  std::set<std::string> touched;
  for (const std::string& id : change.remove) {
    if (table.erase(id) == 0)
      return Status(Code::not_found, "cannot remove unknown node \"" + id + "\"");
    touched.insert(id);
  }
  for (const RingNode& node : change.upsert) {
    if (!touched.insert(node.id).second)
      return Status(Code::invalid_argument,
                    "node \"" + node.id + "\" is changed twice in one change");
    table[node.id] = node;
  }
  std::vector<RingNode> out;
  out.reserve(table.size());
  for (auto& [id, node] : table)
    out.push_back(std::move(node));
  return out;
}

}  // namespace ringkv
