// HintedHandoff: the hints a node keeps for replicas it stood in for, and
// their delivery once those replicas are back (Dynamo §4.6; the protocol is
// described in hinted_handoff.cpp and docs/ARCHITECTURE.md).
//
// It owns the hint totals per target, the deliveries in flight and the
// stand-in actor. Hints themselves live in the engine's hints column, written
// through the core's write path, so a crash loses no hint that was
// acknowledged.
//
// Invariants:
//   1. A hint is deleted only after its target (or the key's new replica)
//      acknowledged it, and only if it did not change since it was sent.
//   2. At most one delivery per hint is in flight.
//   3. The stand-in actor numbers writes only while every version it ever
//      numbered for a key is still held here (retired otherwise).
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "cluster/node_core_ops.h"
#include "common/status.h"
#include "storage/store_catalog.h"
#include "version/sibling_set.h"

namespace ringkv {

class NodeCore;

class HintedHandoff {
 public:
  using HintTotals = core_ops::HintTotals;
  using Continuation = std::function<void(Status)>;

  explicit HintedHandoff(NodeCore& core) : core_(core) {}
  HintedHandoff(const HintedHandoff&) = delete;
  HintedHandoff& operator=(const HintedHandoff&) = delete;

  // Counts the hints on disk (at start: deliveries resume from there).
  void load_totals();
  // Hints held here, per target.
  const std::map<NodeId, HintTotals>& totals() const { return hints_; }
  // Expires deliveries past their deadline, then starts the next ones.
  void tick(uint64_t now_ms);
  // `node` was seen alive again: its hints can go at the next tick.
  void hand_off_now(uint64_t now_ms) { next_handoff_ms_ = now_ms; }
  void acknowledged(uint64_t op, const NodeId& from, Status status);

  // Merges `set` into this node's hint for `target`, durably as the store promises.
  void store_hint(const StoreEntry& store, const NodeId& target, std::string key, SiblingSet set,
                  Continuation done);
  Result<SiblingSet> read_hint(const StoreEntry& store, const NodeId& target, std::string_view key);
  // Every version of `key` this node holds as a stand-in, over all targets:
  // the base a write numbered under stand_in_actor() starts from.
  Result<SiblingSet> read_stand_in_copy(const StoreEntry& store, std::string_view key);
  // True when this node holds (or cannot rule out holding) a hint for `key`.
  bool may_hold_hint(const std::string& store_name, std::string_view key);

  // The actor a stand-in numbers writes with when every replica is down
  // (drawn on first use). It is retired when a hint naming it leaves this
  // node (retire_stand_in_actor_if_named), as then this node no longer holds
  // all its versions of that key and could number a counter twice, and when a
  // write it numbered was not stored (retire_stand_in_actor).
  ActorId stand_in_actor();
  void retire_stand_in_actor(ActorId actor);

 private:
  using PendingHandoff = core_ops::PendingHandoff;

  void retire_stand_in_actor_if_named(std::string_view hint_value);
  // Sends one hint (`value` as stored) to its target, or to the key's new
  // replica when the key moved away from the target (or the target left).
  void hand_off(const NodeId& target, const std::string& hint_key, std::string value, bool leaving,
                bool target_down, uint64_t now_ms);
  // Deletes a delivered hint if it is still what was sent.
  void finish_delivery(PendingHandoff handoff);
  // True when `node` replicates `key` in the committed layout and, during a
  // move, in the target too.
  bool keeps_key(const StoreEntry& store, std::string_view key, const NodeId& node);
  // The replica of `key` a hint for `leaving` goes to: the first of the
  // target's (else the layout's) preference list that is up and not it.
  std::optional<NodeId> heir_of(const StoreEntry& store, std::string_view key,
                                const NodeId& leaving, uint64_t now_ms);

  NodeCore& core_;
  std::map<NodeId, HintTotals> hints_;  // hints held here, per target
  uint64_t hint_bytes_ = 0;
  std::map<uint64_t, PendingHandoff> handoffs_;
  std::set<std::string> hints_in_flight_;
  std::set<std::string> hints_unreadable_;  // skipped by handoff, counted in hints_corrupt
  uint64_t next_handoff_ms_ = 0;
  ActorId stand_in_actor_ = 0;  // 0: none drawn since the last retirement
};

}  // namespace ringkv
