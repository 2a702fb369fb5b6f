// The production write queue; see commit_queue.h.
#include "server/commit_queue.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/statvfs.h>
#include <memory>

namespace ringkv {

std::optional<uint64_t> CommitQueue::free_bytes_at(const std::string& directory) {
  struct statvfs stats {};
  if (::statvfs(directory.c_str(), &stats) != 0)
    return std::nullopt;
  return uint64_t{stats.f_bavail} * uint64_t{stats.f_frsize};
}

CommitQueue::CommitQueue(Engine& engine, Post post, Options options, SpaceGuard guard)
    : engine_(engine),
      post_(std::move(post)),
      groups_(options),
      guard_(std::move(guard)),
      writer_([this] { run(); }) {}

CommitQueue::CommitQueue(Engine& engine, Post post, Options options)
    : CommitQueue(engine, std::move(post), options, SpaceGuard()) {}

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
    probe_space();
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

Status CommitQueue::refusing() const {
  std::lock_guard lock(mutex_);
  probe_space();
  return groups_.space_refusal();
}

void CommitQueue::probe_space() const {
  if (guard_.min_free_bytes == 0 || !guard_.free_bytes)
    return;
  const auto now = std::chrono::steady_clock::now();
  if (now < next_probe_)
    return;
  next_probe_ = now + std::chrono::milliseconds(guard_.probe_interval_ms);
  const std::optional<uint64_t> free = guard_.free_bytes();
  const bool low = free && *free < guard_.min_free_bytes;
  const bool was_low = !groups_.space_refusal().ok();
  if (low) {
    groups_.set_space_refusal(Status(
        Code::overloaded,
        fmt::format("this node's disk is nearly full ({} MiB free under '{}', below the {} MiB "
                    "kept free: --min-free-disk-mib); it refuses writes until space is freed",
                    *free >> 20, guard_.directory, guard_.min_free_bytes >> 20)));
    if (!was_low)
      spdlog::error("{}", groups_.space_refusal().message());
  } else if (was_low) {
    groups_.set_space_refusal(Status::Ok());
    spdlog::info("disk space is back ({} MiB free under '{}'): taking writes again",
                 free ? *free >> 20 : 0, guard_.directory);
  }
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
    // One hand-off to the loop thread for the whole group, not one per
    // write: each post may wake the loop, and a group is often dozens.
    auto items = std::make_shared<std::deque<CommitGroups::Item>>(std::move(group.items));
    post_([items, status] {
      for (CommitGroups::Item& item : *items)
        item.done(status);
    });
  }
}

}  // namespace ringkv
