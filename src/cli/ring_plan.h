// `ringkv ring plan`: computes a ring layout from a node file (and, for a
// change, the previous layout) and reports how balanced it is and what moved.
//
// Split in two so the logic can be tested without a process:
//   - pure parts: checking Q, building the report as JSON and as text from an
//     AssignmentPlan (no clock, no files);
//   - run_ring_plan: the command itself, which reads the files, times
//     plan_assignment, prints, and writes --out atomically (a temp file in the
//     same directory, fsync, rename), so a crash never leaves half a layout
//     where the next `--previous` would read it.
//
// Thread safety: none needed; the CLI is single-threaded.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "common/store_config.h"
#include "ring/assignment.h"
#include "ring/partitioner.h"
#include "server/plan_report.h"

namespace ringkv {

// A layout file holds at most 2^20 lists of kReplicationMax entries (3 varint
// bytes each) and 65,536 nodes (about 520 bytes each): under 84 MiB. Anything
// larger is not a layout.
inline constexpr size_t kLayoutFileBytesMax =
    (size_t{1} << kPartitionBitsMax) * kReplicationMax * 3 + 65536 * 520 + 4096;

struct RingPlanOptions {
  std::string nodes_file;
  std::optional<uint64_t> partition_count;  // Q; default 1024, or the previous layout's
  uint32_t replica_count = 0;               // n
  std::string previous_file;                // empty: a new cluster
  bool json = false;
  std::string out_file;  // empty: do not write the layout
};

// Registers `plan` under `ring` with its flags bound to `options`.
CLI::App* add_ring_plan_command(CLI::App& ring, RingPlanOptions& options);

// Runs the command; prints the report to stdout and errors to stderr.
// Returns the process exit code: 0, or 1 on any error (the message names the
// file, line, node or flag at fault).
int run_ring_plan(const RingPlanOptions& options);

// The partition bits b of Q = 2^b. Fails with invalid_argument unless Q is a
// power of two in 1..2^kPartitionBitsMax.
Result<uint32_t> partition_bits_of(uint64_t partition_count);

}  // namespace ringkv
