// `ringkv cluster plan|apply|cancel`: an operator's change to the cluster,
// sent to any node (POST /v1/cluster/changes), and `apply --wait`'s progress
// until the cluster is balanced.
//
//   ringkv cluster plan  --add n4:2:b --remove n2 --reweight n3=4   (dry run)
//   ringkv cluster apply --add n4 --wait
//   ringkv cluster cancel
//
// The pure parts (parsing the flags into a change body, reading progress out
// of GET /v1/cluster) are separate so tests need no process.
//
// Thread safety: none needed; the CLI is single-threaded.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ringkv {

class KvClient;

struct ClusterAdminOptions {
  std::vector<std::string> add;       // ID[:CAP[:ZONE]]
  std::vector<std::string> remove;    // ID
  std::vector<std::string> reweight;  // ID=CAP
  bool json = false;
  bool wait = false;
  uint64_t wait_timeout_s = 0;  // 0: no limit
};

// The JSON body of POST /v1/cluster/changes for the flags; the message names
// the flag at fault.
Result<std::string> change_body(const ClusterAdminOptions& options);

// Rebalancing progress out of a GET /v1/cluster answer.
struct RebalanceProgress {
  bool balanced = false;  // the layout has no target: nothing is moving
  uint64_t layout_version = 0;
  uint64_t target_version = 0;
  uint64_t moves_total = 0;  // (store, partition) copies to make, over every node
  uint64_t moves_done = 0;
  uint64_t bytes = 0;  // streamed so far for the target
  uint64_t under_replicated = 0;
};
Result<RebalanceProgress> rebalance_progress(std::string_view cluster_json);
// One status line: a bar, partitions and bytes moved, rate, ETA.
std::string progress_line(const RebalanceProgress& progress, double bytes_per_sec);

// Registers plan, apply and cancel under `cluster`, bound to `options`.
void add_cluster_admin_commands(CLI::App& cluster, ClusterAdminOptions& options, CLI::App*& plan,
                                CLI::App*& apply, CLI::App*& cancel);

// Runs one of them; prints to stdout, errors to stderr; returns the exit code.
int run_cluster_admin(KvClient& client, const ClusterAdminOptions& options, bool dry_run,
                      bool cancel);

}  // namespace ringkv
