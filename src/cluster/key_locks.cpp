// Per-key write serialisation; see key_locks.h.
#include "cluster/key_locks.h"

#include <fmt/format.h>

namespace ringkv {

Status KeyLocks::room(const std::string& data_key) const {
  auto held = keys_.find(data_key);
  if (held == keys_.end() || held->second.size() < kWaitersMax)
    return Status::Ok();
  return Status(Code::overloaded,
                fmt::format("{} writes of this key are already waiting on this node; retry "
                            "shortly",
                            held->second.size()));
}

bool KeyLocks::run_or_queue(const std::string& data_key, Work work) {
  auto [held, inserted] = keys_.try_emplace(data_key);
  if (!inserted) {
    held->second.push_back(std::move(work));
    return true;
  }
  work();
  return false;
}

void KeyLocks::release(const std::string& data_key) {
  auto held = keys_.find(data_key);
  if (held == keys_.end())
    return;
  if (held->second.empty()) {
    keys_.erase(held);
    return;
  }
  Work next = std::move(held->second.front());
  held->second.pop_front();
  next();
}

}  // namespace ringkv
