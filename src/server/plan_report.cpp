// Plan reports; see plan_report.h.
#include "server/plan_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace ringkv {
namespace {

struct NodeChanges {
  std::vector<std::string> added, removed, changed;
};

NodeChanges node_changes(const Layout& previous, const Layout& next) {
  NodeChanges out;
  for (const RingNode& node : next.nodes()) {
    const auto before = previous.node_index(node.id);
    if (!before) {
      out.added.push_back(node.id);
    } else if (!(previous.nodes()[*before] == node)) {
      out.changed.push_back(node.id);
    }
  }
  for (const RingNode& node : previous.nodes()) {
    if (!next.node_index(node.id))
      out.removed.push_back(node.id);
  }
  return out;
}

boost::json::array to_json(const std::vector<std::string>& ids) {
  boost::json::array out;
  for (const std::string& id : ids)
    out.emplace_back(id);
  return out;
}

std::string join(const std::vector<std::string>& ids) {
  return ids.empty() ? "-" : fmt::format("{}", fmt::join(ids, ", "));
}

// Replicas each node of `next` held in `previous` (by next's index; 0 for a
// node new to the table), and their sum.
std::vector<uint32_t> replicas_before(const Layout& previous, const Layout& next, uint64_t& total) {
  std::vector<uint32_t> out(next.nodes().size(), 0);
  total = 0;
  if (previous.is_empty())
    return out;
  const std::vector<uint32_t> counts = previous.list_counts();
  for (size_t index = 0; index < next.nodes().size(); ++index) {
    if (const auto before = previous.node_index(next.nodes()[index].id))
      out[index] = counts[*before];
  }
  for (uint32_t count : counts)
    total += count;
  return out;
}

boost::json::array to_json(const std::vector<uint64_t>& values) {
  boost::json::array out;
  for (uint64_t value : values)
    out.emplace_back(value);
  return out;
}

struct Estimate {
  double bytes = 0;
  double seconds = 0;  // 0 without a rate
};

// What the plan copies: for each store, the share of its replicas that move
// for its n (above the width, the width's), of an even share of the data.
Estimate estimate(const RingPlanReport& report) {
  Estimate out;
  const AssignmentPlan& plan = *report.plan;
  const Layout& layout = plan.layout;
  if (report.store_replicas.empty() || plan.moved_by_n.empty())
    return out;
  double share = 0;
  for (uint32_t n : report.store_replicas) {
    const size_t used = std::min<size_t>(std::max<uint32_t>(n, 1), plan.moved_by_n.size());
    share += double(plan.moved_by_n[used - 1]) / (double(layout.partition_count()) * used);
  }
  out.bytes = double(report.bytes_held) * share / double(report.store_replicas.size());
  if (report.receive_bytes_per_sec > 0)
    out.seconds = out.bytes / double(report.receive_bytes_per_sec);
  return out;
}

uint32_t zone_count(const Layout& layout) {
  std::vector<std::string_view> zones;
  for (const RingNode& node : layout.nodes())
    zones.push_back(node.zone);
  std::sort(zones.begin(), zones.end());
  return static_cast<uint32_t>(std::unique(zones.begin(), zones.end()) - zones.begin());
}

}  // namespace

std::string size_text(double bytes) {
  if (bytes >= double(1 << 30))
    return fmt::format("{:.2f} GiB", bytes / double(1 << 30));
  if (bytes >= double(1 << 20))
    return fmt::format("{:.1f} MiB", bytes / double(1 << 20));
  return fmt::format("{:.1f} KiB", bytes / 1024);
}

boost::json::object ring_plan_json(const RingPlanReport& report) {
  const AssignmentPlan& plan = *report.plan;
  const Layout& layout = plan.layout;
  boost::json::array nodes;
  uint64_t total_before = 0;
  const std::vector<uint32_t> before = replicas_before(*report.previous, layout, total_before);
  for (size_t index = 0; index < layout.nodes().size(); ++index) {
    const RingNode& node = layout.nodes()[index];
    const NodeBalance& balance = plan.balance.nodes[index];
    nodes.push_back(boost::json::object{
        {"id", node.id},
        {"capacity", node.capacity},
        {"zone", node.zone},
        {"state", to_string(node.state)},
        {"capacity_share", balance.capacity_share},
        {"partitions", balance.partitions},
        {"partition_share", balance.partition_share},
        {"replica_partitions", balance.replica_partitions},
        {"replica_share", balance.replica_share},
        {"replicas_before", before[index]},
        {"replica_share_before", total_before > 0 ? double(before[index]) / total_before : 0.0},
    });
  }
  const NodeChanges changes = node_changes(*report.previous, layout);
  boost::json::object out{
      {"nodes", std::move(nodes)},
      {"partitions", layout.partition_count()},
      {"partition_bits", layout.partition_bits()},
      {"n", report.replica_count},
      {"version", layout.version()},
      {"width", layout.width()},
      {"moved_replicas", plan.moved_replicas},
      {"moved_lower_bound", plan.moved_lower_bound},
      {"moved_by_n", to_json(plan.moved_by_n)},
      {"moved_lower_bound_by_n", to_json(plan.moved_lower_bound_by_n)},
      {"max_partition_share_error", plan.balance.max_partition_share_error},
      {"max_replica_share_error", plan.balance.max_replica_share_error},
      {"max_replica_quota_error", plan.max_replica_quota_error},
      {"zone_short_lists", plan.balance.zone_short_lists},
      {"zone_repeats", plan.zone_repeats},
      {"over_quota", plan.over_quota},
      {"added_nodes", to_json(changes.added)},
      {"removed_nodes", to_json(changes.removed)},
      {"changed_nodes", to_json(changes.changed)},
      {"assignment_ms", report.assignment_ms},
  };
  if (report.bytes_held > 0 && !report.store_replicas.empty()) {
    const Estimate guess = estimate(report);
    out["estimated_bytes"] = static_cast<uint64_t>(guess.bytes);
    if (report.receive_bytes_per_sec > 0)
      out["estimated_seconds"] = guess.seconds;
  }
  return out;
}

std::string ring_plan_text(const RingPlanReport& report) {
  const AssignmentPlan& plan = *report.plan;
  const Layout& layout = plan.layout;
  size_t id_width = 4, zone_width = 4;
  for (const RingNode& node : layout.nodes()) {
    id_width = std::max(id_width, node.id.size());
    zone_width = std::max(zone_width, node.zone.size());
  }
  std::string out = fmt::format(
      "ring plan: layout version {}, Q = {} partitions, n = {}, {} nodes in {} zones\n\n",
      layout.version(), layout.partition_count(), report.replica_count, layout.nodes().size(),
      zone_count(layout));
  uint64_t total_before = 0;
  const std::vector<uint32_t> before = replicas_before(*report.previous, layout, total_before);
  out += fmt::format("{:<{}}  {:<{}}  {:>8}  {:>9}  {:>10}  {:>10}  {:>8}  {:>10}  {:>11}  {}\n",
                     "node", id_width, "zone", zone_width, "capacity", "cap share", "partitions",
                     "part share", "replicas", "repl share", "repl before", "state");
  for (size_t index = 0; index < layout.nodes().size(); ++index) {
    const RingNode& node = layout.nodes()[index];
    const NodeBalance& balance = plan.balance.nodes[index];
    out += fmt::format(
        "{:<{}}  {:<{}}  {:>8}  {:>8.2f}%  {:>10}  {:>9.2f}%  {:>8}  {:>9.2f}%  {:>10.2f}%  {}\n",
        node.id, id_width, node.zone, zone_width, node.capacity, 100 * balance.capacity_share,
        balance.partitions, 100 * balance.partition_share, balance.replica_partitions,
        100 * balance.replica_share,
        total_before > 0 ? 100.0 * before[index] / double(total_before) : 0.0,
        to_string(node.state));
  }
  const NodeChanges changes = node_changes(*report.previous, layout);
  if (!report.previous->is_empty()) {
    out += fmt::format("\nchange from version {}: added {}; removed {}; changed {}\n",
                       report.previous->version(), join(changes.added), join(changes.removed),
                       join(changes.changed));
  }
  auto ratio = [](uint64_t moved, uint64_t bound) {
    return bound > 0 ? fmt::format("{:.3f}", double(moved) / bound)
                     : std::string(moved == 0 ? "1 (nothing to move)" : "- (bound is 0)");
  };
  out += fmt::format("\nreplicas to copy:          {} (lower bound {}, ratio {}) for n = {}\n",
                     plan.moved_replicas, plan.moved_lower_bound,
                     ratio(plan.moved_replicas, plan.moved_lower_bound), layout.width());
  for (size_t n = 1; n < plan.moved_by_n.size(); ++n) {
    out += fmt::format("  for a store with n = {}:  {} (lower bound {}, ratio {})\n", n,
                       plan.moved_by_n[n - 1], plan.moved_lower_bound_by_n[n - 1],
                       ratio(plan.moved_by_n[n - 1], plan.moved_lower_bound_by_n[n - 1]));
  }
  out += fmt::format("max partition share error: {:.2f}%\n",
                     100 * plan.balance.max_partition_share_error);
  out += fmt::format("max replica share error:   {:.2f}% (n = {})\n",
                     100 * plan.balance.max_replica_share_error, report.replica_count);
  out += fmt::format("  of which placement:      {:.2f}% (replicas against their quotas)\n",
                     100 * plan.max_replica_quota_error);
  if (plan.zone_repeats > 0 || plan.over_quota > 0) {
    out += fmt::format(
        "not met:                   {} lists repeat a zone, {} entries above a quota (a node or "
        "zone with more than 1/n of the capacity must be in every list: add capacity "
        "elsewhere)\n",
        plan.zone_repeats, plan.over_quota);
  }
  if (plan.balance.zone_short_lists > 0) {
    out += fmt::format(
        "lists missing a zone:      {} of {} (fewer zones than n and unequal zones: give zones "
        "closer capacities)\n",
        plan.balance.zone_short_lists, layout.partition_count());
  }
  if (report.bytes_held > 0 && !report.store_replicas.empty()) {
    const Estimate guess = estimate(report);
    out += fmt::format("estimated copy:            {}", size_text(guess.bytes));
    if (report.receive_bytes_per_sec > 0)
      out += fmt::format(", at most about {:.0f} s at {:.0f} MiB/s", guess.seconds,
                         double(report.receive_bytes_per_sec) / (1 << 20));
    out += "\n";
  }
  out += fmt::format("assignment time:           {:.2f} ms\n", report.assignment_ms);
  return out;
}

}  // namespace ringkv
