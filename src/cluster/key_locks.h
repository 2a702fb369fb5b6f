// KeyLocks: at most one write per key in flight on a node (NodeCore's
// invariant 3), so that no read-modify-write of a key loses another. A
// component of the node core with state of its own.
//
// run_or_queue() runs the work at once when the key is free (it then holds
// the key) or queues it behind the holder; release() hands the key to the
// next waiter, in arrival order. A key has at most kWaitersMax waiters:
// room() says so before a caller queues, so that one hot key cannot grow
// memory without bound (the writer hears 503 overloaded and retries).
//
// Thread safety: none; the core's thread.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>

#include "common/status.h"

namespace ringkv {

class KeyLocks {
 public:
  using Work = std::function<void()>;
  // Each waiter holds the key for one local write (about one fsync), so 128
  // are already a queue of a few hundred milliseconds: beyond it, shed.
  static constexpr size_t kWaitersMax = 128;

  // Ok, or the refusal for a key whose queue of waiters is full.
  Status room(const std::string& data_key) const;
  // Runs `work` now (the key was free: it is now held) and returns false,
  // or queues it and returns true.
  bool run_or_queue(const std::string& data_key, Work work);
  // The holder is done: the next waiter runs (and holds the key), or the
  // key is free.
  void release(const std::string& data_key);
  bool held(const std::string& data_key) const { return keys_.count(data_key) != 0; }

 private:
  std::unordered_map<std::string, std::deque<Work>> keys_;  // held keys -> their waiters
};

}  // namespace ringkv
