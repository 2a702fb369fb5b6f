// CommitQueue: the production WriteQueue (write_queue.h), group commit of
// writes on one storage thread.
//
// Callers on the loop thread submit write batches; the writer thread takes
// everything queued, applies it as one engine batch and, if any of those
// writes asked for durability, one fsync — so N concurrent durable writes cost
// one fsync, not N. Completions are posted back to the loop thread in
// submission order. Ordering rule: a completion with ok() means the batch is
// applied and, for a durable batch, fsynced; only then may a replica
// acknowledge the write. The rules (bounds, groups, the fence) are
// CommitGroups' (commit_groups.h), which the simulator drives too.
//
// Thread safety: submit(), request_sync(), fenced() and stats() from any
// thread; completions run through the `post` function given at construction.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "server/commit_groups.h"

namespace ringkv {

class CommitQueue final : public WriteQueue {
 public:
  using Post = std::function<void(std::function<void()>)>;
  using Options = CommitGroups::Options;

  CommitQueue(Engine& engine, Post post, Options options);
  CommitQueue(Engine& engine, Post post) : CommitQueue(engine, std::move(post), Options()) {}
  // Drains what is queued, then joins the writer thread.
  ~CommitQueue() override;
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  void submit(WriteBatch batch, bool durable, Completion done) override;
  Status fenced() const override;
  Stats stats() const override;

 private:
  void run();

  Engine& engine_;
  Post post_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  CommitGroups groups_;
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace ringkv
