// TombstoneCollector: deletes records made only of tombstones once every
// member agrees that no older version of them can come back
// (docs/ARCHITECTURE.md, "Tombstones"; the protocol is described in
// tombstone_collector.cpp).
//
// It owns the checks in flight and its sweep's cursor; the records are the
// engine's, read through the core and deleted through its write path.
//
// Invariants:
//   1. A key is reaped only after every member agreed to it and only where
//      its copy is still exactly the record that was checked.
//   2. Nothing is checked while data moves, while a member is believed
//      down, or on a fenced node.
//   3. At most one check is in flight.
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "cluster/messages.h"
#include "cluster/node_core_ops.h"
#include "storage/store_catalog.h"

namespace ringkv {

class NodeCore;

class TombstoneCollector {
 public:
  explicit TombstoneCollector(NodeCore& core) : core_(core) {}
  TombstoneCollector(const TombstoneCollector&) = delete;
  TombstoneCollector& operator=(const TombstoneCollector&) = delete;

  // Every tombstone_sweep_interval_ms: expires checks, then sweeps the
  // next partition this node is the first replica of.
  void tick(uint64_t now_ms);
  void on_check(const NodeId& from, const TombstoneCheck& message);
  void on_check_reply(const NodeId& from, const TombstoneCheckReply& message);
  void on_reap(const TombstoneReap& message);

 private:
  using PendingReap = core_ops::PendingReap;

  // True when this node's copy of `key` is absent or exactly the record
  // hashed `hash`, and it holds no hint for the key.
  bool agrees_to_reap(const std::string& store_name, std::string_view key, uint64_t hash);
  // Deletes the local copy of `key` if it is still the record hashed `hash`.
  void reap_locally(const StoreEntry& store, const std::string& key, uint64_t hash);

  NodeCore& core_;
  std::map<uint64_t, PendingReap> checks_;  // op -> the check awaiting members
  uint64_t next_sweep_ms_ = 0;
  size_t store_cursor_ = 0;  // the sweep's next (store, partition)
  uint32_t partition_cursor_ = 0;
};

}  // namespace ringkv
