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
// A SpaceGuard keeps a margin of free disk: submit() looks at the free space
// at most every probe_interval_ms, and below min_free_bytes refuses writes
// (overloaded, no fence) until the space is back. RocksDB meeting a full disk
// would fail a write, and a failed write fences the node until restart.
//
// Thread safety: submit(), request_sync(), fenced(), refusing() and stats()
// from any thread; completions run through the `post` function given at
// construction.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "server/commit_groups.h"

namespace ringkv {

class CommitQueue final : public WriteQueue {
 public:
  using Post = std::function<void(std::function<void()>)>;
  using Options = CommitGroups::Options;

  struct SpaceGuard {
    std::string directory;  // named in the refusal
    // Free bytes for unprivileged writers where the data lives (nullopt:
    // unknown, writes go on).
    std::function<std::optional<uint64_t>()> free_bytes;
    uint64_t min_free_bytes = 0;  // 0: no guard
    uint64_t probe_interval_ms = 250;
  };
  // The free space of the filesystem holding `directory` (statvfs).
  static std::optional<uint64_t> free_bytes_at(const std::string& directory);

  CommitQueue(Engine& engine, Post post, Options options, SpaceGuard guard);
  CommitQueue(Engine& engine, Post post, Options options);
  CommitQueue(Engine& engine, Post post) : CommitQueue(engine, std::move(post), Options()) {}
  // Drains what is queued, then joins the writer thread.
  ~CommitQueue() override;
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  void submit(WriteBatch batch, bool durable, Completion done) override;
  Status fenced() const override;
  Status refusing() const override;
  Stats stats() const override;

 private:
  void run();
  // Under mutex_: looks at the free space again if it is time. Const so that
  // refusing() looks too: a refusal lifts without a write arriving.
  void probe_space() const;

  Engine& engine_;
  Post post_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  mutable CommitGroups groups_;  // mutable: probe_space() sets its refusal
  SpaceGuard guard_;
  mutable std::chrono::steady_clock::time_point next_probe_{};
  bool stopping_ = false;
  std::thread writer_;
};

}  // namespace ringkv
