// CommitGroups: the rules of a node's write queue, without threads or time.
//
// Batches are admitted (or refused), taken in groups, and each group is
// committed as one engine write with at most one fsync; the first failed
// write or fsync fences the queue, and every later batch is refused with that
// error until the node restarts (PostgreSQL's "fsyncgate" lesson: never retry
// an fsync and then acknowledge).
//
// Bounded: at most queued_max batches and queued_bytes_max bytes of keys and
// values wait (a batch larger than the byte bound is taken when the queue is
// empty, so no valid write is refused for its size); beyond that admit()
// refuses with Code::overloaded. A refusal is not a failure: it never fences.
//
// The CommitQueue (a writer thread) and the simulator's queue (virtual time)
// both drive this class, so the simulator checks the rules production runs.
//
// Thread safety: none. The CommitQueue calls it under its mutex, except
// commit(), which touches only the group and the engine.
#pragma once

#include <cstddef>
#include <deque>

#include "server/write_queue.h"

namespace ringkv {

class CommitGroups {
 public:
  struct Options {
    size_t queued_max = 16 * 1024;
    // ~2 s of writes at the disk's sequential rate on this class of machine;
    // beyond it a writer waits longer than a request deadline anyway.
    size_t queued_bytes_max = 256 * 1024 * 1024;
    size_t group_bytes_max = 8 * 1024 * 1024;  // one group's payload; bounds fsync latency
  };

  struct Item {
    WriteBatch batch;
    size_t bytes = 0;
    bool durable = false;
    bool sync_only = false;  // request_sync(): an empty batch
    WriteQueue::Completion done;
  };

  // A group taken from the queue, and what committing it takes.
  struct Group {
    std::deque<Item> items;
    WriteBatch combined;  // every item's writes, in order
    bool writes = false;
    bool durable = false;
    bool sync = false;  // sync requests alone, with unsynced writes before them
    Status fence;       // the fence when the group was taken (it then fails)
  };

  explicit CommitGroups(Options options) : options_(options) {}

  // Queues the batch, or returns why not (the fence, or overloaded); on a
  // refusal `done` is left with the caller.
  Status admit(WriteBatch& batch, bool durable, WriteQueue::Completion& done);
  bool empty() const { return queue_.empty(); }
  size_t queued() const { return queue_.size(); }
  // Takes a prefix of the queue up to group_bytes_max (at least one batch).
  Group take_group();
  // Applies the group to the engine: one write (fsynced when any batch is
  // durable), or one fsync for sync requests alone. No state of this class.
  static Status commit(Engine& engine, Group& group);
  // Records the outcome (a failure fences); the group's completions are the
  // caller's to run, with `status`.
  void finish(const Group& group, const Status& status);

  const Status& fence() const { return fence_; }
  // While not ok, every batch that writes is refused with it (sync requests
  // and batches that only erase still pass): the disk is nearly full. Never
  // a fence; ok lifts it.
  void set_space_refusal(Status refusal) { space_refusal_ = std::move(refusal); }
  const Status& space_refusal() const { return space_refusal_; }
  const WriteQueue::Stats& stats() const { return stats_; }

 private:
  Options options_;
  std::deque<Item> queue_;
  size_t queued_bytes_ = 0;
  Status fence_;
  Status space_refusal_;
  bool unsynced_writes_ = false;  // a non-durable group was written since the last fsync
  WriteQueue::Stats stats_;
};

}  // namespace ringkv
