// The production write queue; see commit_queue.h.
#include "server/commit_queue.h"

namespace ringkv {

CommitQueue::CommitQueue(Engine& engine, Post post, Options options)
    : engine_(engine), post_(std::move(post)), groups_(options), writer_([this] { run(); }) {}

CommitQueue::~CommitQueue() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  writer_.join();
}

void CommitQueue::submit(WriteBatch batch, bool durable, Completion done) {
  Status refusal;
  {
    std::lock_guard lock(mutex_);
    refusal = groups_.admit(batch, durable, done);
  }
  if (!refusal.ok()) {
    post_([done = std::move(done), refusal] { done(refusal); });
    return;
  }
  wake_.notify_one();
}

Status CommitQueue::fenced() const {
  std::lock_guard lock(mutex_);
  return groups_.fence();
}

CommitQueue::Stats CommitQueue::stats() const {
  std::lock_guard lock(mutex_);
  return groups_.stats();
}

void CommitQueue::run() {
  for (;;) {
    CommitGroups::Group group;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !groups_.empty(); });
      if (groups_.empty())
        return;  // stopping with nothing left to write
      group = groups_.take_group();
    }
    // The engine write (and fsync) happens outside the lock: the loop
    // thread keeps queueing meanwhile.
    const Status status = CommitGroups::commit(engine_, group);
    {
      std::lock_guard lock(mutex_);
      groups_.finish(group, status);
    }
    for (CommitGroups::Item& item : group.items)
      post_([done = std::move(item.done), status] { done(status); });
  }
}

}  // namespace ringkv
