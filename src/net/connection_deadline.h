// Deadline: the deadline of an HTTP Session's current read, write or TLS
// handshake (and of a peer connection's handshake and next frame), enforced
// by one timer per connection that is re-armed lazily: arming a deadline only stores
// the time (the timer is moved only when the new deadline is earlier than its
// expiry), and when the timer fires it either closes the socket, which aborts
// the operation in progress, or, the deadline having moved, waits again until
// it. A connection thus costs one timer wait per request_timeout_ms instead of
// a timer start and cancel per operation, and a stalled or dribbling client is
// still cut off exactly at its deadline. Shared with the timer's handler, which
// may run after the Session is gone (it then finds `socket` null).
//
// Thread safety: the loop thread only.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace ringkv::net::detail {

using Clock = std::chrono::steady_clock;

struct Deadline {
  explicit Deadline(const boost::asio::any_io_executor& executor,
                    boost::asio::ip::tcp::socket& socket)
      : timer(executor), socket(&socket) {}

  boost::asio::steady_timer timer;
  Clock::time_point expiry = Clock::time_point::max();  // max = no operation in progress
  boost::asio::ip::tcp::socket* socket;                 // null once the Session has ended
  bool watching = false;                                // a wait on `timer` is pending
  bool fired = false;                                   // it closed the socket
};

// Sets the deadline of the operation about to start (starting the timer's
// watch on first use). Set `expiry` to Clock::time_point::max() to disarm.
void arm(const std::shared_ptr<Deadline>& deadline, uint32_t timeout_ms);

}  // namespace ringkv::net::detail
