// CommitQueue: group commit of writes on one storage thread.
//
// Callers on the loop thread submit write batches; the writer thread takes
// everything queued, applies it as one engine batch and, if any of those
// writes asked for durability, one fsync — so N concurrent durable writes cost
// one fsync, not N. Completions are posted back to the loop thread in
// submission order. Ordering rule: a completion with ok() means the batch is
// applied and, for a durable batch, fsynced; only then may a replica
// acknowledge the write.
//
// On a failed write or fsync every batch in that group fails, and the queue
// fences: it fails every later write with the first error until the node is
// restarted (PostgreSQL's "fsyncgate" lesson: never retry an fsync and then
// acknowledge).
//
// Bounded: at most queued_max batches and queued_bytes_max bytes of keys and
// values wait (a batch larger than the byte bound is taken when the queue is
// empty, so no valid write is refused for its size); submit() beyond that fails with
// Code::overloaded at once so the node sheds load instead of growing memory.
// A refusal is not a failure: it never fences (only a failed write or fsync does).
//
// Thread safety: submit(), request_sync() and fenced() from any thread;
// completions run through the `post` function given at construction.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "storage/engine.h"

namespace ringkv {

class CommitQueue {
 public:
  using Completion = std::function<void(Status)>;
  using Post = std::function<void(std::function<void()>)>;

  struct Options {
    size_t queued_max = 16 * 1024;
    // ~2 s of writes at the disk's sequential rate on this class of machine;
    // beyond it a writer waits longer than a request deadline anyway.
    size_t queued_bytes_max = 256 * 1024 * 1024;
    size_t group_bytes_max = 8 * 1024 * 1024;  // one group's payload; bounds fsync latency
  };

  CommitQueue(Engine& engine, Post post, Options options);
  CommitQueue(Engine& engine, Post post) : CommitQueue(engine, std::move(post), Options()) {}
  // Drains what is queued, then joins the writer thread.
  ~CommitQueue();
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Queues `batch`; `done` runs via post once it is applied (and fsynced if `durable`).
  void submit(WriteBatch batch, bool durable, Completion done);
  // Queues an fsync of everything written so far (periodic durability's timer).
  // Costs nothing when every earlier write was already durable; refused with
  // unavailable when the queue is full, like a write.
  void request_sync(Completion done);
  // The error that fenced writes, or ok.
  Status fenced() const;

  struct Stats {
    uint64_t groups = 0;   // engine writes issued
    uint64_t batches = 0;  // batches submitted and completed
    uint64_t syncs = 0;    // fsyncs issued (durable groups plus explicit syncs)
  };
  Stats stats() const;

 private:
  struct Item {
    WriteBatch batch;
    size_t bytes = 0;
    bool durable = false;
    bool sync_only = false;
    Completion done;
  };
  void run();
  void commit_group(std::deque<Item>& group);

  Engine& engine_;
  Post post_;
  Options options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item> queue_;
  size_t queued_bytes_ = 0;
  bool stopping_ = false;
  Status fence_;
  bool unsynced_writes_ = false;  // a non-durable group was written since the last fsync
  Stats stats_;
  std::thread writer_;
};

}  // namespace ringkv
