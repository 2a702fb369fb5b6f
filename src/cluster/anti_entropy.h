// AntiEntropy: Merkle-tree comparison of the partitions this node replicates
// with their other replicas, and the sync of what differs (Dynamo §4.7; the
// protocol is described in anti_entropy.cpp).
//
// It owns the rounds in flight, whatever started them: its own sweep (one
// regular round at a time), a transfer's or a handover's verification
// (Rebalancer), or recovery's comparisons. A round that ends is reported
// to the part that started it. The trees themselves are the MerkleTrees
// component's, reached through the core.
//
// Invariants:
//   1. At most one regular round is in flight; others are bounded by the
//      transfers, handovers and recovery that start them.
//   2. Every round ends exactly once: in sync, after its sync, at an error,
//      or at its deadline (expired silently; its starter retries).
//   3. A reply is taken only from the peer the round was started with.
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_core_ops.h"
#include "storage/store_catalog.h"

namespace ringkv {

class NodeCore;

class AntiEntropy {
 public:
  using AePurpose = core_ops::AePurpose;

  explicit AntiEntropy(NodeCore& core) : core_(core) {}
  AntiEntropy(const AntiEntropy&) = delete;
  AntiEntropy& operator=(const AntiEntropy&) = delete;

  // Every anti_entropy_interval_ms: rebuilds the trees when due, expires
  // rounds, then starts a regular round with a random replica believed up.
  void tick(uint64_t now_ms);
  // Sends this node's branches of (store, partition) to `peer`; the round's
  // end goes to the part `purpose` names.
  void start_round(uint64_t op, const StoreEntry& store, uint32_t partition, const NodeId& peer,
                   uint64_t deadline, AePurpose purpose);
  // Drops a round its starter gave up on (a reply to it is then ignored).
  void forget(uint64_t op) { rounds_.erase(op); }

  void on_roots(const NodeId& from, AeRoots message);
  void on_leaves(const NodeId& from, AeLeaves message);
  void on_sync(const NodeId& from, AeSync message);
  void on_sync_reply(const NodeId& from, AeSyncReply message);

 private:
  using PendingAe = core_ops::PendingAe;

  // This node's keys in `leaves` of (store, partition); `bytes` gets their size.
  std::vector<AeEntry> entries_in(const StoreEntry& store, uint32_t partition,
                                  const std::vector<uint32_t>& leaves, uint64_t& bytes);
  bool in_leaves(std::string_view key, uint32_t partition,
                 const std::vector<uint32_t>& leaves) const;
  // A round ended: in sync (or at an error, !ok) at the leaves, or after its
  // sync; counts it or tells its transfer, handover or recovery.
  void round_ended(const PendingAe& pending, uint64_t op, bool ok, bool in_sync);

  NodeCore& core_;
  std::map<uint64_t, PendingAe> rounds_;  // op -> the round, whoever started it
  uint64_t next_round_ms_ = 0;
  uint64_t next_rebuild_ms_ = 0;
  size_t store_cursor_ = 0;  // the sweep's next (store, partition)
  uint32_t partition_cursor_ = 0;
};

}  // namespace ringkv
