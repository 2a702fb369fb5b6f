// Internal to the HTTP server (http_server.cpp): what the server, its accept
// loop and every Session share, and the constants that bound a connection.
// Only http_server.cpp and http_session.h include it.
#pragma once

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <list>
#include <type_traits>
#include <utility>

#include "net/connection_deadline.h"
#include "net/http_server.h"
#include "net/http_wire.h"
#include "net/tls_stream.h"

namespace ringkv::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

using Clock = std::chrono::steady_clock;

inline constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// The most one read from a connection asks for (Beast's own choice for its reads).
inline constexpr size_t kReadBytesMax = 65'536;
// A TLS connection receives at most this much at once: one record (16 KiB of
// data plus its overhead).
inline constexpr size_t kTlsReadBytes = 17 * 1024 + 512;
// Between responses a TLS connection keeps at most this much of the buffer its
// last response's records were sent from.
inline constexpr size_t kTlsKeptBytesMax = 64 * 1024;
// A TLS response body up to this size is sent in the record of the head.
inline constexpr size_t kTlsCoalesceBytesMax = 16 * 1024;

// Connections beyond connections_max still get a 503 so that their clients know
// to back off; at most this many such replies are in flight at once, and
// connections beyond that are closed unanswered (a flood must not cost more).
inline constexpr size_t kOverloadRepliesMax = 64;
// After a response that closes the connection the server stops sending and
// discards what the client still sends (typically a body it refused) for at most
// this long and this many bytes. Closing a socket with unread input makes the
// kernel send a reset, which can destroy the response before the client reads it.
inline constexpr uint32_t kLingerMsMax = 2'000;
inline constexpr size_t kLingerBytesMax = 1024 * 1024;
// Pause after a failed accept (e.g. out of file descriptors) so that the accept
// loop does not spin while the condition lasts.
inline constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

using PlainStream = tcp::socket;

inline tcp::socket& lowest_layer(PlainStream& stream) {
  return stream;
}
inline tcp::socket& lowest_layer(TlsStream& stream) {
  return stream.socket;
}

// What stop() needs to reach into a connection.
struct OpenConnection {
  tcp::socket* transport;
  asio::steady_timer* response_timer;  // null while no handler can be pending
};

// Shared by the server, its accept loop and every Session (see file comment).
struct ServerState {
  ServerState(asio::io_context& context, HttpHandler& handler, const HttpServerOptions& options)
      : handler(handler), options(options), acceptor(context) {}

  HttpHandler& handler;
  const HttpServerOptions options;
  tcp::acceptor acceptor;
  std::optional<ssl::context> tls_context;
  std::list<OpenConnection> connections;
  size_t open_connections = 0;
  size_t overload_replies = 0;
  bool stopped = false;
};

// Counts one connection against open_connections (or, for a connection being
// refused, against overload_replies) for as long as it lives. Taken at accept
// time, before the connection's coroutine first runs, so the count is never late.
class ConnectionSlot {
 public:
  ConnectionSlot(std::shared_ptr<ServerState> state, bool overload_reply)
      : state_(std::move(state)), overload_reply_(overload_reply) {
    ++counter();
  }
  ConnectionSlot(ConnectionSlot&& other) noexcept
      : state_(std::move(other.state_)), overload_reply_(other.overload_reply_) {}
  ConnectionSlot& operator=(ConnectionSlot&&) = delete;
  ~ConnectionSlot() {
    if (state_)
      --counter();
  }

  const std::shared_ptr<ServerState>& state() const { return state_; }

 private:
  size_t& counter() {
    return overload_reply_ ? state_->overload_replies : state_->open_connections;
  }

  std::shared_ptr<ServerState> state_;
  bool overload_reply_;
};

// A handler's answer that arrives later. The Session waits on `timer` (set to
// expire never); the Responder stores the response and cancels the timer.
struct PendingResponse {
  PendingResponse(const asio::any_io_executor& executor, HttpHandler& handler)
      : timer(executor), handler(handler) {}

  asio::steady_timer timer;
  HttpHandler& handler;  // alive while any Session is (ServerState holds it)
  std::optional<HttpResponse> response;
  uint64_t request_number = 0;  // of the request now with the handler
  bool awaiting = false;        // that request's Responder has not been called yet
};

// Which request a Responder answers. Held only by that Responder and its copies,
// so that a stray second call for an earlier request can never answer the one
// after it.
struct ResponderTicket {
  std::weak_ptr<PendingResponse> pending;
  uint64_t request_number = 0;
};

}  // namespace ringkv::net::detail
