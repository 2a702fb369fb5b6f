#include "server/commit_queue.h"

namespace ringkv {
namespace {

size_t batch_bytes(const WriteBatch& batch) {
  size_t bytes = 0;
  for (const WriteOp& op : batch)
    bytes += op.key.size() + op.value.size();
  return bytes;
}

}  // namespace

CommitQueue::CommitQueue(Engine& engine, Post post, Options options)
    : engine_(engine), post_(std::move(post)), options_(options), writer_([this] { run(); }) {}

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
  const size_t bytes = batch_bytes(batch);
  {
    std::lock_guard lock(mutex_);
    if (!fence_.ok()) {
      refusal = fence_;
    } else if (queue_.size() >= options_.queued_max ||
               (!queue_.empty() && queued_bytes_ + bytes > options_.queued_bytes_max)) {
      refusal = Status(Code::overloaded, "storage write queue is full; retry shortly");
    } else {
      const bool sync_only = batch.empty();
      queued_bytes_ += bytes;
      queue_.push_back(Item{std::move(batch), bytes, durable, sync_only, std::move(done)});
    }
  }
  if (!refusal.ok()) {
    post_([done = std::move(done), refusal] { done(refusal); });
    return;
  }
  wake_.notify_one();
}

void CommitQueue::request_sync(Completion done) {
  submit({}, /*durable=*/true, std::move(done));
}

Status CommitQueue::fenced() const {
  std::lock_guard lock(mutex_);
  return fence_;
}

CommitQueue::Stats CommitQueue::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

void CommitQueue::run() {
  for (;;) {
    std::deque<Item> group;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty())
        return;  // stopping with nothing left to write
      // Take a prefix of the queue up to the group byte budget (at least one item).
      size_t bytes = 0;
      while (!queue_.empty() && (group.empty() || bytes < options_.group_bytes_max)) {
        bytes += queue_.front().bytes;
        queued_bytes_ -= queue_.front().bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_group(group);
  }
}

void CommitQueue::commit_group(std::deque<Item>& group) {
  Status status;
  {
    std::lock_guard lock(mutex_);
    status = fence_;
  }
  bool durable = false;
  bool writes = false;
  WriteBatch combined;
  for (Item& item : group) {
    durable = durable || item.durable;
    if (item.sync_only)
      continue;
    writes = true;
    for (WriteOp& op : item.batch)
      combined.push_back(std::move(op));
  }
  bool unsynced = false;
  {
    std::lock_guard lock(mutex_);
    unsynced = unsynced_writes_;
  }
  bool synced = false;
  if (status.ok()) {
    // A group with writes fsyncs as part of the write; a group of sync
    // requests alone (periodic durability) syncs the WAL if anything is unsynced.
    if (writes) {
      status = engine_.write(combined, durable);
      synced = durable;
    } else if (unsynced) {
      status = engine_.sync();
      synced = true;
    }
  }
  {
    std::lock_guard lock(mutex_);
    if (status.ok()) {
      stats_.groups += writes ? 1 : 0;
      stats_.syncs += synced ? 1 : 0;
      unsynced_writes_ = !synced && (unsynced_writes_ || writes);
    } else if (fence_.ok()) {
      fence_ = Status(Code::unavailable, "this node refuses writes since its storage failed (" +
                                             status.to_string() +
                                             "); fix the disk and restart the node");
    }
    stats_.batches += group.size();
  }
  for (Item& item : group) {
    post_([done = std::move(item.done), status] { done(status); });
  }
}

}  // namespace ringkv
