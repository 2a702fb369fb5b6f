// TestLoop: the loop thread of a unit test. Completions posted by a
// CommitQueue run when the test calls run_until(), on the test's thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

namespace ringkv {

// The loop thread of a test: completions posted by the CommitQueue run when
// the test calls run_until().
class TestLoop {
 public:
  void post(std::function<void()> callback) {
    {
      std::lock_guard lock(mutex_);
      queue_.push_back(std::move(callback));
    }
    wake_.notify_one();
  }
  // Forgets every pending callback, as a process that stops does.
  void clear() {
    std::lock_guard lock(mutex_);
    queue_.clear();
  }
  size_t pending() {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }
  // Runs posted callbacks until `done()`; fails the test after a generous bound.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!done()) {
      std::function<void()> next;
      {
        std::unique_lock lock(mutex_);
        if (!wake_.wait_until(lock, deadline, [this] { return !queue_.empty(); })) {
          ADD_FAILURE() << "timed out waiting for completions";
          return false;
        }
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      next();
    }
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace ringkv
