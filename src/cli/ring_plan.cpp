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
  RingPlanReport report;
  report.plan = &*plan;
  report.previous = &*previous;
  report.replica_count = options.replica_count;
  report.assignment_ms = elapsed.count();
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
