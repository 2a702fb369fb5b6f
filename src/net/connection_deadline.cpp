// See connection_deadline.h.
#include "net/connection_deadline.h"

namespace ringkv::net::detail {
namespace {

void watch(const std::shared_ptr<Deadline>& deadline) {
  deadline->watching = true;
  deadline->timer.async_wait([deadline](const boost::system::error_code&) {
    // Fired or moved (cancelled): either way, compare with the deadline now.
    deadline->watching = false;
    if (deadline->socket == nullptr)
      return;  // the Session has ended
    if (deadline->expiry <= Clock::now()) {
      boost::system::error_code ignored;
      deadline->socket->close(ignored);  // aborts the pending operation
      deadline->fired = true;
      deadline->expiry = Clock::time_point::max();
    }
    deadline->timer.expires_at(deadline->expiry);
    watch(deadline);
  });
}

}  // namespace

void arm(const std::shared_ptr<Deadline>& deadline, uint32_t timeout_ms) {
  deadline->expiry = Clock::now() + std::chrono::milliseconds(timeout_ms);
  if (!deadline->watching) {
    deadline->timer.expires_at(deadline->expiry);
    watch(deadline);
  } else if (deadline->timer.expiry() > deadline->expiry) {
    deadline->timer.expires_at(deadline->expiry);  // cancels the wait; its handler re-waits
  }
}

}  // namespace ringkv::net::detail
