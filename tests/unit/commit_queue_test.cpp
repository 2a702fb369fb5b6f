// Unit tests of CommitQueue: group commit (many batches, one fsync),
// completions only after durability and in submission order, fencing after a
// failed write, the queue bound, and free periodic syncs when nothing is unsynced.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include "server/commit_queue.h"
#include "storage/memory_engine.h"
#include "test_loop.h"

namespace ringkv {
namespace {

// A MemoryEngine whose next write can be held inside write() until released,
// so a test can queue work behind it deterministically.
class GatedEngine final : public Engine {
 public:
  Result<std::optional<std::string>> get(Column column, std::string_view key) override {
    return inner.get(column, key);
  }
  Status write(const WriteBatch& batch, bool sync) override {
    {
      std::unique_lock lock(mutex_);
      ++writes_;
      if (hold_next_) {
        hold_next_ = false;
        holding_ = true;
        changed_.notify_all();
        changed_.wait(lock, [this] { return !holding_; });
      }
    }
    return inner.write(batch, sync);
  }
  Status sync() override { return inner.sync(); }
  Status scan(Column column, std::string_view begin, std::string_view end,
              const ScanVisitor& visitor) override {
    return inner.scan(column, begin, end, visitor);
  }

  void hold_next_write() {
    std::lock_guard lock(mutex_);
    hold_next_ = true;
  }
  // Waits (bounded) until a write is held inside write().
  bool wait_until_holding() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [this] { return holding_; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    holding_ = false;
    changed_.notify_all();
  }
  int writes() {
    std::lock_guard lock(mutex_);
    return writes_;
  }

  MemoryEngine inner;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool hold_next_ = false;
  bool holding_ = false;
  int writes_ = 0;
};

WriteBatch one_write(std::string key) {
  return {{Column::data, std::move(key), "value"}};
}

class CommitQueueTest : public ::testing::Test {
 protected:
  std::unique_ptr<CommitQueue> make_queue(CommitQueue::Options options = {}) {
    return std::make_unique<CommitQueue>(
        engine_, [this](auto callback) { loop_.post(std::move(callback)); }, options);
  }
  GatedEngine engine_;
  TestLoop loop_;
};

TEST_F(CommitQueueTest, QueuedBatchesShareOneWriteAndOneFsync) {
  auto queue = make_queue();
  std::vector<int> completed;
  engine_.hold_next_write();
  queue->submit(one_write("first"), true, [&](Status status) {
    EXPECT_TRUE(status.ok());
    completed.push_back(0);
  });
  ASSERT_TRUE(engine_.wait_until_holding());
  constexpr int kQueued = 20;
  for (int index = 1; index <= kQueued; ++index) {
    queue->submit(one_write(fmt::format("k{}", index)), true, [&, index](Status status) {
      EXPECT_TRUE(status.ok());
      completed.push_back(index);
    });
  }
  // Nothing is acknowledged while the first write is not durable.
  EXPECT_EQ(loop_.pending(), 0u);
  EXPECT_TRUE(completed.empty());
  const size_t syncs_before = engine_.inner.sync_count();
  engine_.release();
  ASSERT_TRUE(loop_.run_until([&] { return completed.size() == kQueued + 1; }));
  std::vector<int> expected(kQueued + 1);
  for (int index = 0; index <= kQueued; ++index)
    expected[index] = index;
  EXPECT_EQ(completed, expected);  // submission order
  EXPECT_EQ(engine_.writes(), 2);  // the held write, then everything queued behind it
  EXPECT_EQ(engine_.inner.sync_count() - syncs_before, 2u);
  EXPECT_EQ(queue->stats().groups, 2u);
  EXPECT_EQ(queue->stats().batches, static_cast<uint64_t>(kQueued + 1));
  EXPECT_EQ(engine_.inner.unsynced_batch_count(), 0u);
}

TEST_F(CommitQueueTest, FailedWriteFencesEveryLaterWriteAndSync) {
  auto queue = make_queue();
  engine_.inner.set_fail_writes(true);
  std::optional<Status> first;
  queue->submit(one_write("a"), true, [&](Status status) { first = status; });
  ASSERT_TRUE(loop_.run_until([&] { return first.has_value(); }));
  EXPECT_EQ(first->code(), Code::io_error);
  engine_.inner.set_fail_writes(false);  // the disk "recovers"; we still refuse
  EXPECT_FALSE(queue->fenced().ok());
  std::optional<Status> second;
  queue->submit(one_write("b"), true, [&](Status status) { second = status; });
  ASSERT_TRUE(loop_.run_until([&] { return second.has_value(); }));
  EXPECT_EQ(second->code(), Code::unavailable);
  EXPECT_NE(second->message().find("restart"), std::string::npos);
  std::optional<Status> sync;
  queue->request_sync([&](Status status) { sync = status; });
  ASSERT_TRUE(loop_.run_until([&] { return sync.has_value(); }));
  EXPECT_FALSE(sync->ok());
  EXPECT_FALSE(engine_.inner.get(Column::data, "b").value().has_value());
}

TEST_F(CommitQueueTest, FullQueueRefusesAtOnce) {
  CommitQueue::Options options;
  options.queued_max = 2;
  auto queue = make_queue(options);
  engine_.hold_next_write();
  int ok = 0;
  queue->submit(one_write("held"), true, [&](Status status) { ok += status.ok(); });
  ASSERT_TRUE(engine_.wait_until_holding());
  queue->submit(one_write("q1"), true, [&](Status status) { ok += status.ok(); });
  queue->submit(one_write("q2"), true, [&](Status status) { ok += status.ok(); });
  std::optional<Status> refused;
  queue->submit(one_write("q3"), true, [&](Status status) { refused = status; });
  ASSERT_TRUE(loop_.run_until([&] { return refused.has_value(); }));
  EXPECT_EQ(refused->code(), Code::overloaded);
  engine_.release();
  ASSERT_TRUE(loop_.run_until([&] { return ok == 3; }));
  EXPECT_TRUE(queue->fenced().ok());  // overload is not a storage failure
}

TEST_F(CommitQueueTest, ANearlyFullDiskRefusesWritesWithoutAFenceUntilSpaceIsBack) {
  // RocksDB meeting a full disk fails a write, and a failed write fences
  // the node until restart; the guard refuses writes first, while the free
  // space is under the margin, and takes them again once space is freed.
  std::atomic<uint64_t> free_bytes{100 << 20};
  CommitQueue::SpaceGuard guard;
  guard.directory = "/data";
  guard.free_bytes = [&] { return std::optional<uint64_t>(free_bytes.load()); };
  guard.min_free_bytes = 64 << 20;
  guard.probe_interval_ms = 0;  // look at every submit
  auto queue = std::make_unique<CommitQueue>(
      engine_, [this](auto callback) { loop_.post(std::move(callback)); }, CommitQueue::Options(),
      std::move(guard));
  auto submit = [&](WriteBatch batch) {
    std::optional<Status> out;
    queue->submit(std::move(batch), true, [&](Status status) { out = status; });
    EXPECT_TRUE(loop_.run_until([&] { return out.has_value(); }));
    return out.value_or(Status(Code::internal, "no completion"));
  };
  EXPECT_TRUE(submit(one_write("before")).ok());
  free_bytes = 10 << 20;
  const Status refused = submit(one_write("while full"));
  EXPECT_EQ(refused.code(), Code::overloaded);
  EXPECT_NE(refused.message().find("nearly full (10 MiB free under '/data'"), std::string::npos)
      << refused.message();
  EXPECT_EQ(queue->refusing().code(), Code::overloaded);
  EXPECT_TRUE(submit({}).ok());  // a sync needs no space
  // Erasing is how space comes back (a moved partition's drop, hints).
  EXPECT_TRUE(submit({{Column::data, "before", "", /*erase=*/true}}).ok());
  EXPECT_TRUE(queue->fenced().ok());
  EXPECT_EQ(queue->stats().refused_for_space, 1u);
  free_bytes = 65 << 20;
  EXPECT_TRUE(queue->refusing().ok());  // seen without a write arriving (/healthz)
  EXPECT_TRUE(submit(one_write("after")).ok());
  EXPECT_FALSE(engine_.inner.get(Column::data, "while full").value().has_value());
  EXPECT_TRUE(engine_.inner.get(Column::data, "after").value().has_value());
}

TEST_F(CommitQueueTest, QueueIsBoundedInBytesButTakesAnyBatchWhenEmpty) {
  CommitQueue::Options options;
  options.queued_bytes_max = 1000;
  auto queue = make_queue(options);
  engine_.hold_next_write();
  int ok = 0;
  queue->submit(one_write("held"), true, [&](Status status) { ok += status.ok(); });
  ASSERT_TRUE(engine_.wait_until_holding());
  // Larger than the bound, but the queue is empty: taken.
  WriteBatch large;
  large.push_back({Column::data, "large", std::string(5000, 'x')});
  queue->submit(std::move(large), true, [&](Status status) { ok += status.ok(); });
  std::optional<Status> refused;
  queue->submit(one_write("small"), true, [&](Status status) { refused = status; });
  ASSERT_TRUE(loop_.run_until([&] { return refused.has_value(); }));
  EXPECT_EQ(refused->code(), Code::overloaded);
  engine_.release();
  ASSERT_TRUE(loop_.run_until([&] { return ok == 2; }));
  // Drained: the byte count went back down, so a write is taken again.
  std::optional<Status> later;
  queue->submit(one_write("later"), true, [&](Status status) { later = status; });
  ASSERT_TRUE(loop_.run_until([&] { return later.has_value(); }));
  EXPECT_TRUE(later->ok()) << later->message();
  EXPECT_TRUE(queue->fenced().ok());
}

TEST_F(CommitQueueTest, PeriodicSyncFsyncsOnlyWhenSomethingIsUnsynced) {
  auto queue = make_queue();
  int done = 0;
  auto count = [&](Status status) {
    EXPECT_TRUE(status.ok());
    ++done;
  };
  queue->submit(one_write("durable"), true, count);
  ASSERT_TRUE(loop_.run_until([&] { return done == 1; }));
  const size_t syncs = engine_.inner.sync_count();
  queue->request_sync(count);
  ASSERT_TRUE(loop_.run_until([&] { return done == 2; }));
  EXPECT_EQ(engine_.inner.sync_count(), syncs);  // nothing to sync: no fsync
  queue->submit(one_write("periodic"), false, count);
  ASSERT_TRUE(loop_.run_until([&] { return done == 3; }));
  EXPECT_EQ(engine_.inner.unsynced_batch_count(), 1u);
  queue->request_sync(count);
  ASSERT_TRUE(loop_.run_until([&] { return done == 4; }));
  EXPECT_EQ(engine_.inner.sync_count(), syncs + 1);
  EXPECT_EQ(engine_.inner.unsynced_batch_count(), 0u);
}

}  // namespace
}  // namespace ringkv
