// `ringkv ring plan`; see ring_plan.h.
#include "cli/ring_plan.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "ring/node_file.h"

namespace ringkv {
namespace {

constexpr int kExitError = 1;

int fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return kExitError;
}

Result<std::string> read_file(const std::string& path, size_t bytes_max, std::string_view what) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    return Status(Code::io_error,
                  fmt::format("cannot open {} '{}': {}", what, path, std::strerror(errno)));
  std::string bytes;
  char buffer[65536];
  while (file.read(buffer, sizeof buffer) || file.gcount() > 0) {
    bytes.append(buffer, static_cast<size_t>(file.gcount()));
    if (bytes.size() > bytes_max)
      return Status(Code::too_large,
                    fmt::format("{} '{}' is over {} bytes", what, path, bytes_max));
  }
  if (file.bad())
    return Status(Code::io_error, fmt::format("cannot read {} '{}'", what, path));
  return bytes;
}

// Writes `bytes` to `path` + ".tmp", syncs it, and renames it over `path`, so
// `path` holds either its old content or all of the new.
Status write_file_atomically(const std::string& path, std::string_view bytes) {
  const std::string temp_path = path + ".tmp";
  auto failed = [&](const char* step) {
    const Status status(Code::io_error, fmt::format("cannot write layout '{}' ({} '{}': {})", path,
                                                    step, temp_path, std::strerror(errno)));
    ::unlink(temp_path.c_str());
    return status;
  };
  const int descriptor = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (descriptor < 0)
    return Status(Code::io_error, fmt::format("cannot write layout '{}' (open '{}': {})", path,
                                              temp_path, std::strerror(errno)));
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t count = ::write(descriptor, bytes.data() + written, bytes.size() - written);
    if (count < 0 && errno == EINTR)
      continue;
    if (count <= 0) {
      ::close(descriptor);
      return failed("write");
    }
    written += static_cast<size_t>(count);
  }
  if (::fsync(descriptor) != 0) {
    ::close(descriptor);
    return failed("fsync");
  }
  if (::close(descriptor) != 0)
    return failed("close");
  if (::rename(temp_path.c_str(), path.c_str()) != 0)
    return failed("rename");
  return Status::Ok();
}

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

uint32_t zone_count(const Layout& layout) {
  std::vector<std::string_view> zones;
  for (const RingNode& node : layout.nodes())
    zones.push_back(node.zone);
  std::sort(zones.begin(), zones.end());
  return static_cast<uint32_t>(std::unique(zones.begin(), zones.end()) - zones.begin());
}

// Checks the flags against each other and against the node table, and picks
// the previous layout.
Result<Layout> previous_layout(const RingPlanOptions& options) {
  if (options.previous_file.empty()) {
    auto bits =
        partition_bits_of(options.partition_count.value_or(uint64_t{1} << kPartitionBitsDefault));
    if (!bits.ok())
      return bits.status();
    return Layout::empty(*bits);
  }
  auto bytes = read_file(options.previous_file, kLayoutFileBytesMax, "previous layout");
  if (!bytes.ok())
    return bytes.status();
  auto previous = decode_layout(*bytes);
  if (!previous.ok())
    return Status(Code::invalid_argument,
                  fmt::format("--previous '{}' is not a ring layout (docs/FORMATS.md): {}",
                              options.previous_file, previous.status().message()));
  if (options.partition_count && *options.partition_count != previous->partition_count()) {
    return Status(
        Code::invalid_argument,
        fmt::format("--partitions {} does not match the {} partitions of --previous '{}': Q is "
                    "fixed when a cluster is created (omit --partitions to keep it)",
                    *options.partition_count, previous->partition_count(), options.previous_file));
  }
  return std::move(*previous);
}

}  // namespace

CLI::App* add_ring_plan_command(CLI::App& ring, RingPlanOptions& options) {
  CLI::App* plan = ring.add_subcommand(
      "plan", "compute a partition layout from a node file and report its balance and moves");
  plan->add_option("--nodes", options.nodes_file,
                   "TOML node file: one [[node]] table per node (id, capacity, zone)")
      ->required();
  plan->add_option(
      "--partitions", options.partition_count,
      "Q, a power of two up to 2^20, about 50 per node of the smallest capacity (fixed "
      "for the cluster's life; default 1024 for a new cluster, the previous "
      "layout's with --previous)");
  plan->add_option("--n", options.replica_count, "replicas per partition")->required();
  plan->add_option("--previous", options.previous_file,
                   "layout written earlier by --out: plan the change from it");
  plan->add_flag("--json", options.json, "print JSON");
  plan->add_option("--out", options.out_file, "write the new layout here (docs/FORMATS.md)");
  return plan;
}

Result<uint32_t> partition_bits_of(uint64_t partition_count) {
  const uint64_t partition_count_max = uint64_t{1} << kPartitionBitsMax;
  if (partition_count == 0 || partition_count > partition_count_max ||
      (partition_count & (partition_count - 1)) != 0) {
    return Status(Code::invalid_argument,
                  fmt::format("--partitions must be a power of two from 1 to {}, not {}",
                              partition_count_max, partition_count));
  }
  uint32_t bits = 0;
  while ((uint64_t{1} << bits) < partition_count)
    ++bits;
  return bits;
}

boost::json::object ring_plan_json(const RingPlanReport& report) {
  const AssignmentPlan& plan = *report.plan;
  const Layout& layout = plan.layout;
  boost::json::array nodes;
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
    });
  }
  const NodeChanges changes = node_changes(*report.previous, layout);
  return boost::json::object{
      {"nodes", std::move(nodes)},
      {"partitions", layout.partition_count()},
      {"partition_bits", layout.partition_bits()},
      {"n", report.replica_count},
      {"version", layout.version()},
      {"moved_partitions", plan.moved_partitions},
      {"moved_lower_bound", plan.moved_lower_bound},
      {"max_partition_share_error", plan.balance.max_partition_share_error},
      {"max_replica_share_error", plan.balance.max_replica_share_error},
      {"max_replica_quota_error", plan.max_replica_quota_error},
      {"irregular_windows", plan.balance.irregular_windows},
      {"zone_short_lists", plan.balance.zone_short_lists},
      {"added_nodes", to_json(changes.added)},
      {"removed_nodes", to_json(changes.removed)},
      {"changed_nodes", to_json(changes.changed)},
      {"assignment_ms", report.assignment_ms},
  };
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
  out += fmt::format("{:<{}}  {:<{}}  {:>8}  {:>9}  {:>10}  {:>10}  {:>8}  {:>10}  {}\n", "node",
                     id_width, "zone", zone_width, "capacity", "cap share", "partitions",
                     "part share", "replicas", "repl share", "state");
  for (size_t index = 0; index < layout.nodes().size(); ++index) {
    const RingNode& node = layout.nodes()[index];
    const NodeBalance& balance = plan.balance.nodes[index];
    out +=
        fmt::format("{:<{}}  {:<{}}  {:>8}  {:>8.2f}%  {:>10}  {:>9.2f}%  {:>8}  {:>9.2f}%  {}\n",
                    node.id, id_width, node.zone, zone_width, node.capacity,
                    100 * balance.capacity_share, balance.partitions, 100 * balance.partition_share,
                    balance.replica_partitions, 100 * balance.replica_share, to_string(node.state));
  }
  const NodeChanges changes = node_changes(*report.previous, layout);
  if (!report.previous->is_empty()) {
    out += fmt::format("\nchange from version {}: added {}; removed {}; changed {}\n",
                       report.previous->version(), join(changes.added), join(changes.removed),
                       join(changes.changed));
  }
  const std::string ratio =
      plan.moved_lower_bound > 0
          ? fmt::format("{:.3f}", double(plan.moved_partitions) / plan.moved_lower_bound)
          : std::string(plan.moved_partitions == 0 ? "1 (nothing to move)" : "- (bound is 0)");
  out += fmt::format("\nmoved partitions:          {} (lower bound {}, ratio {})\n",
                     plan.moved_partitions, plan.moved_lower_bound, ratio);
  out += fmt::format("max partition share error: {:.2f}%\n",
                     100 * plan.balance.max_partition_share_error);
  out += fmt::format("max replica share error:   {:.2f}% (n = {})\n",
                     100 * plan.balance.max_replica_share_error, report.replica_count);
  out += fmt::format("  of which placement:      {:.2f}% (replicas against n x partitions)\n",
                     100 * plan.max_replica_quota_error);
  out += fmt::format("irregular windows:         {} of {}\n", plan.balance.irregular_windows,
                     layout.partition_count());
  if (plan.balance.zone_short_lists > 0) {
    out += fmt::format(
        "lists missing a zone:      {} of {} (fewer zones than n and unequal zones: give zones "
        "closer capacities)\n",
        plan.balance.zone_short_lists, layout.partition_count());
  }
  out += fmt::format("assignment time:           {:.2f} ms\n", report.assignment_ms);
  return out;
}

int run_ring_plan(const RingPlanOptions& options) {
  auto text = read_file(options.nodes_file, kNodeFileBytesMax, "node file");
  if (!text.ok())
    return fail(text.status());
  auto nodes = parse_node_file(*text, options.nodes_file);
  if (!nodes.ok())
    return fail(nodes.status());
  const auto active_count =
      static_cast<uint32_t>(std::count_if(nodes->begin(), nodes->end(), [](const RingNode& node) {
        return node.state == NodeState::active;
      }));
  if (options.replica_count > active_count) {
    return fail(Status(Code::invalid_argument,
                       fmt::format("--n {} is larger than the {} active nodes in '{}'",
                                   options.replica_count, active_count, options.nodes_file)));
  }
  auto previous = previous_layout(options);
  if (!previous.ok())
    return fail(previous.status());

  const auto start = std::chrono::steady_clock::now();
  auto plan = plan_assignment(*previous, std::move(*nodes), options.replica_count);
  const std::chrono::duration<double, std::milli> elapsed =
      std::chrono::steady_clock::now() - start;
  if (!plan.ok())
    return fail(Status(plan.status().code(),
                       fmt::format("{}: {}", options.nodes_file, plan.status().message())));

  if (!options.out_file.empty()) {
    if (Status status = write_file_atomically(options.out_file, encode_layout(plan->layout));
        !status.ok())
      return fail(status);
  }
  const RingPlanReport report{&*plan, &*previous, options.replica_count, elapsed.count()};
  if (options.json) {
    std::printf("%s\n", boost::json::serialize(ring_plan_json(report)).c_str());
  } else {
    std::fputs(ring_plan_text(report).c_str(), stdout);
    if (!options.out_file.empty())
      std::printf("layout written to %s\n", options.out_file.c_str());
  }
  return 0;
}

}  // namespace ringkv
