// ClockPruner: drops version-clock entries of actors that hold no live
// version of a key any more, once every member agreed twice, prune_delay_ms
// apart (docs/ARCHITECTURE.md, "Version clocks stay small"; the argument is
// in clock_pruner.cpp).
//
// It owns the checks in flight, the keys agreed to once and awaiting their
// confirming check, and its sweep's cursor.
//
// Invariants:
//   1. An entry is dropped only after two agreements of every member, the
//      second at least prune_delay_ms after the first, and only where the
//      copy still holds no live version of that actor.
//   2. Nothing is checked while data moves, while a member is believed
//      down, on a fenced node, or with tombstone collection off (no counter
//      floor then).
//   3. At most one check is in flight.
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_core_ops.h"
#include "storage/store_catalog.h"

namespace ringkv {

class NodeCore;

class ClockPruner {
 public:
  explicit ClockPruner(NodeCore& core) : core_(core) {}
  ClockPruner(const ClockPruner&) = delete;
  ClockPruner& operator=(const ClockPruner&) = delete;

  // Every tombstone_sweep_interval_ms: expires checks, then confirms keys
  // agreed to once, else sweeps the next partition this node is the first
  // replica of.
  void tick(uint64_t now_ms);
  void on_check(const NodeId& from, const PruneCheck& message);
  void on_check_reply(const NodeId& from, const PruneCheckReply& message);
  void on_prune(const ClockPrune& message);

 private:
  using PendingPrune = core_ops::PendingPrune;

  // True when no actor in `actors` has a live version in this node's copy
  // of `key` (or it has none), it holds no hint for the key, and data is
  // settled.
  bool agrees_to_prune(const std::string& store_name, std::string_view key,
                       std::span<const ActorId> actors);
  void prune_locally(const std::string& store_name, const std::string& key,
                     std::vector<ActorId> actors);
  void start_check(PendingPrune pending, uint64_t now_ms);
  // Every member agreed: a first check schedules the confirming one, a
  // confirming check prunes here and tells the others.
  void all_agreed(PendingPrune pending, uint64_t now_ms);

  NodeCore& core_;
  std::map<uint64_t, PendingPrune> checks_;  // op -> the check awaiting members
  // Keys every member agreed to prune once: (store, key) -> (actors, when
  // the confirming check is due).
  std::map<std::pair<std::string, std::string>, std::pair<std::vector<ActorId>, uint64_t>>
      agreed_once_;
  uint64_t next_sweep_ms_ = 0;
  size_t store_cursor_ = 0;  // the sweep's next (store, partition)
  uint32_t partition_cursor_ = 0;
};

}  // namespace ringkv
