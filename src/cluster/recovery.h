// Recovery: the refill of a node whose data directory was lost ("safe
// rejoin"; the rules are in recovery.cpp and docs/ARCHITECTURE.md).
//
// It owns whether this node is recovering (persisted as meta
// "node/recovering", so a crash during recovery resumes it), its plan (the
// (store, partition)s to compare) and the comparison in flight. The core asks
// active() to refuse replica reads and to leave its own copy out of a get.
//
// Invariants:
//   1. Only a fresh directory under the id of a member the committed layout
//      already gives partitions to starts recovering, and only once it has
//      merged a peer's cluster state.
//   2. Recovery ends only when every planned (store, partition) agreed with
//      every replica that was up (a strict store's with at least n - w + 1)
//      and this node knows every store its peers know.
//   3. At most one comparison (an anti-entropy round) is in flight.
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_core_views.h"
#include "storage/store_catalog.h"

namespace ringkv {

class NodeCore;

class Recovery {
 public:
  explicit Recovery(NodeCore& core) : core_(core) {}
  Recovery(const Recovery&) = delete;
  Recovery& operator=(const Recovery&) = delete;

  // Reads the persisted flag (at start).
  void load();
  // After a cluster state was merged: starts recovering when this node lost
  // data the layout counts on (checked once per run).
  void maybe_start();
  // This run formed a new cluster: nothing was placed here before.
  void not_needed() { checked_ = true; }
  void tick(uint64_t now_ms);
  // The anti-entropy round `op` ended (in sync, or it merged what differed).
  void compared(uint64_t op, bool in_sync);

  bool active() const { return active_; }
  core_views::RecoveryView view() const;

 private:
  // Plans the (store, partition)s this node replicates now.
  void plan();
  // Ends recovery once this node knows every store its peers know.
  void finish(uint64_t now_ms);

  struct Plan {
    uint64_t layout_version = 0;  // the layout `items` were planned from
    size_t stores = 0;            // ... and the number of stores known then
    std::vector<std::pair<const StoreEntry*, uint32_t>> items;  // (store, partition)
    size_t index = 0;                                           // items before it are done
    std::vector<NodeId> compared;  // replicas of items[index] it agreed with
    NodeId peer;                   // the one the round in flight is with
    uint64_t op = 0;               // the round in flight (0: none)
    uint64_t deadline = 0;
  };

  NodeCore& core_;
  bool active_ = false;   // recovering: reads not served from here
  bool checked_ = false;  // maybe_start() decided for this run
  Plan plan_;
};

}  // namespace ringkv
