// Rebalancer: moving data to a new layout while traffic continues
// (docs/ARCHITECTURE.md, "Membership changes and rebalancing").
//
// When the committed cluster state's target layout differs from the layout
// in force, every node computes the target (the same on every node: the
// assignment is deterministic) and the partitions it receives under it. For
// each it streams the partition from a current replica (throttled), then
// verifies the copy with Merkle rounds against current replicas; it publishes
// `ready` in its heartbeat once every receipt is done. A node that sees every
// receiver ready flips the layout (commits the target). After the flip, a
// node drops the partitions it no longer replicates, handing each over to
// the new owners first (rebalancer_drop.cpp).
//
// It owns the receipts (transfers), the handover in progress and the sweep
// cursors; the layout and the target themselves are the node's cluster state.
//
// Invariants:
//   1. A node publishes `ready` for a target only once each of its receipts
//      agreed with enough current replicas (verifications_needed()).
//   2. The flip happens only when every node of the layout and the target
//      knows the target and every receiver is ready.
//   3. A partition is deleted only after every owner of it under the new
//      layout holds its copy (the handover), and never while it is wanted.
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_core_ops.h"
#include "cluster/node_core_views.h"
#include "ring/preference_list.h"
#include "storage/store_catalog.h"

namespace ringkv {

class NodeCore;

class Rebalancer {
 public:
  using Transfer = core_ops::Transfer;
  using Handover = core_ops::Handover;
  using PendingAe = core_ops::PendingAe;
  using AePurpose = core_ops::AePurpose;
  using RebalanceView = core_views::RebalanceView;
  using NodeView = core_views::NodeView;

  explicit Rebalancer(NodeCore& core) : core_(core) {}
  Rebalancer(const Rebalancer&) = delete;
  Rebalancer& operator=(const Rebalancer&) = delete;

  // The cluster state changed: recomputes the target and the receipts.
  void recompute_target();
  // Runs the transfers, the flip and the drop sweep when due.
  void tick(uint64_t now_ms);
  RebalanceView view(uint64_t now_ms);

  // Writes during a move.
  // The target's replicas of `key` that are not in `replicas` (none without
  // a target): they get every write as extras during a move.
  std::vector<NodeId> target_extras(const StoreEntry& store, std::string_view key,
                                    const std::vector<NodeId>& replicas);
  // The target's list of `key` when it differs from `replicas` (the
  // layout's), for a strict store's joint quorum; empty otherwise.
  std::vector<NodeId> joint_list(const StoreEntry& store, std::string_view key,
                                 const std::vector<NodeId>& replicas);
  const PreferenceTable& target_table_for(uint32_t n);
  // True when this node is in (store, partition)'s preference list of the
  // layout (or, with `in_target`, of the target; REQUIRES a target).
  bool replicates(const StoreEntry& store, uint32_t partition, bool in_target);
  // This node replicates the partition in the layout or in the target.
  bool wanted_here(const StoreEntry& store, uint32_t partition);
  bool has_data(const StoreEntry& store, uint32_t partition);
  // True while `key`'s partition is being handed over before its drop.
  bool handing_over(const StoreEntry& store, std::string_view key) const;
  // True while a receipt or a handover is open.
  bool moving_data() const;
  // True while a partition is being handed over before its drop.
  bool handing_over_any() const { return handover_.has_value(); }

  // What the heartbeat publishes: the `ready` value a node publishes once it
  // holds everything the target gives it (the target's digest mixed with the
  // store names; 0: no target), and the progress of its receipts.
  uint64_t expected_ready() const;
  uint64_t ready() const { return ready_; }
  uint64_t moves_total() const { return transfers_.size(); }
  uint64_t moves_done() const;
  uint64_t moved_bytes() const { return moved_bytes_; }
  // The streaming rate the throttle allows now (bytes/s).
  uint64_t transfer_rate() const;
  // `id`'s last heartbeat names the current target (always true of self).
  bool knows_target(const NodeId& id) const;

  // Messages and the Merkle rounds this component started.
  void on_stream_request(const NodeId& from, StreamRequest message);
  void on_stream_chunk(const NodeId& from, StreamChunk message);
  void transfer_compared(const PendingAe& pending, uint64_t op, bool in_sync);
  void handover_compared(const PendingAe& pending, uint64_t op, bool complete);
  // The handover whose round is `op`, or null.
  Handover* handover_for(uint64_t op);
  // The owner refused the handover round `op`: the drop sweep tries again later.
  void handover_refused(uint64_t op);

 private:
  void plan_receipts();
  std::optional<NodeId> transfer_source(const Transfer& transfer, uint64_t now_ms, bool& lost);
  // The next current replica to compare a streamed copy with (up, not yet
  // compared), or none; and how many comparisons make the copy ready.
  std::optional<NodeId> next_to_verify(const Transfer& transfer, uint64_t now_ms);
  size_t verifications_needed(const Transfer& transfer, uint64_t now_ms);
  // Starts a transfer's next exchange with `source`: the next stream chunk,
  // or (once streamed) a Merkle round to verify the copy.
  void ask_source(Transfer& transfer, const NodeId& source, uint64_t now_ms);
  void run_transfers(uint64_t now_ms);
  // The partition's copy here was deleted: its transfer (if any) starts over.
  void restart_transfer(StoreId store, uint32_t partition);
  // A chunk of `bytes` was merged durably: spaces the next chunk and
  // adapts the rate to the foreground write latency (see the .cpp).
  void chunk_merged(uint64_t bytes);
  // Samples the foreground write latency for its quiet level (every tick
  // and chunk, moving or not, so a move that starts under load still knows
  // the level before it).
  void note_write_latency(uint64_t now_ms);
  void maybe_flip(uint64_t now_ms);
  // Every node of the layout and the target knows the target (see .cpp).
  bool all_know_target(uint64_t now_ms) const;
  void drop_tick(uint64_t now_ms);
  void handover_step(uint64_t now_ms, bool owner_done);

  NodeCore& core_;
  std::optional<uint32_t> target_self_;  // this node's index in the target, if any
  uint64_t target_since_ms_ = 0;         // when this node learned the target
  std::map<uint32_t, PreferenceTable> target_tables_;
  uint64_t receipts_for_ = 0;   // expected_ready() the receipts below are for
  std::set<NodeId> receivers_;  // nodes with something to receive under the target
  std::map<std::pair<StoreId, uint32_t>, Transfer> transfers_;  // this node's receipts
  uint64_t ready_ = 0;               // expected_ready() once every transfer is done
  uint64_t moved_bytes_ = 0;         // received by streaming for the current target
  uint64_t transfer_budget_us_ = 0;  // the throttle: no chunk is asked for before
  uint64_t rate_ = 0;                // bytes/s now (0: not yet set; the ceiling)
  uint64_t last_decrease_ms_ = 0;
  uint64_t last_increase_ms_ = 0;
  uint64_t base_window_start_ms_ = 0;
  uint64_t base_current_x256_ = UINT64_MAX;   // lowest foreground write mean, this window
  uint64_t base_previous_x256_ = UINT64_MAX;  // ... the window before
  uint64_t next_rebalance_ms_ = 0;
  bool flipping_ = false;
  std::optional<Handover> handover_;
  size_t drop_store_cursor_ = 0;
  uint32_t drop_partition_cursor_ = 0;
};

}  // namespace ringkv
