// WriteQueue: where a node's writes go on their way to the disk.
//
// ClusterNode (server/cluster_node.h) writes only through this interface.
// Production gives it the CommitQueue (server/commit_queue.h: a writer
// thread); the simulator gives it a queue driven by virtual time. Both keep
// the same rules, because both run the same CommitGroups (commit_groups.h):
// bounded (a full queue refuses with overloaded, which never fences), group
// commit (one engine write and at most one fsync per group), and a fence on
// the first failed write or fsync that fails every later write until restart.
// A queue may also refuse writes while its disk is nearly full
// (refusing()): like a full queue, with overloaded, and without a fence, so
// the node takes writes again once space is freed.
//
// Completions run on the node's thread (the loop thread, or the simulator's).
#pragma once

#include <cstdint>
#include <functional>

#include "common/status.h"
#include "storage/engine.h"

namespace ringkv {

class WriteQueue {
 public:
  using Completion = std::function<void(Status)>;

  struct Stats {
    uint64_t groups = 0;             // engine writes issued
    uint64_t batches = 0;            // batches submitted and completed
    uint64_t syncs = 0;              // fsyncs issued (durable groups plus explicit syncs)
    uint64_t refused_for_space = 0;  // batches refused while the disk was nearly full
  };

  virtual ~WriteQueue() = default;
  // Queues `batch`; `done` runs once it is applied (and fsynced if `durable`),
  // or with the refusal (overloaded, or the fence).
  virtual void submit(WriteBatch batch, bool durable, Completion done) = 0;
  // Queues an fsync of everything written so far (periodic durability's
  // timer). Costs nothing when every earlier write was already durable.
  void request_sync(Completion done) { submit({}, /*durable=*/true, std::move(done)); }
  // The error that fenced writes, or ok.
  virtual Status fenced() const = 0;
  // Why writes are refused for now without a fence (a nearly full disk), or ok.
  virtual Status refusing() const = 0;
  virtual Stats stats() const = 0;
};

}  // namespace ringkv
