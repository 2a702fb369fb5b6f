// HttpServer on Boost.Beast with C++20 coroutines (see http_server.h).
//
// One coroutine per connection runs a Session: read the header, enforce the
// limits, read the body, call the handler, write the response, repeat while
// keep-alive holds; the same Session template serves plain TCP and TLS streams.
// Beast parses requests; reading into its parser, writing responses and TLS
// (OpenSSL driven directly, see TlsStream) are done here, because Beast's and
// Asio's layers of composed operations cost more CPU than the work itself on a
// small request. A deadline is armed before every read, write and TLS
// handshake (one lazily re-armed timer per connection, see Deadline), so a
// client that stalls or dribbles bytes is cut off after request_timeout_ms.
//
// Lifetimes: everything a connection needs from its server lives in a
// ServerState shared by the accept loop and every Session, so a coroutine that
// unwinds after HttpServer is gone (stop() only closes sockets; the coroutines
// finish later on the loop) touches nothing dead. A Responder holds its
// Session's PendingResponse weakly: a handler answering after the connection died
// finds nothing and the response is dropped.
//
// Invariants:
//   1. open_connections counts the Sessions alive, including the one being
//      accepted; a new connection is served only while it is below connections_max.
//   2. After stop() the handler is never called again.
//   3. At most one request per connection is with the handler at a time.
//
// Performance: the read buffer, the parser's storage, the HttpRequest handed to
// the handler and (while no handler kept a copy) the Responder are reused per
// connection; bodies are moved, never copied; a response the handler returns at
// once is written without a detour through the event queue. Measured with
// bench/http_vs_nginx.sh (GET of a 100-byte value, one core each): ~0.70 of
// nginx's rate over HTTP and ~0.7 over HTTPS before this shape, ~0.8 and ~0.95
// after.
#include "net/http_server.h"

#include "net/connection_deadline.h"
#include "net/http_wire.h"
#include "net/tls_stream.h"

// g++ 12 at -O2 reports -Wmismatched-new-delete where Asio's recycling allocator
// for coroutine frames (awaitable_frame_base::operator new/delete over
// aligned_new/aligned_delete) is inlined here: a known false positive, which
// other Asio coroutine users silence the same way (erigontech/silkworm#2046). The
// sanitizer build checks the real pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
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

#include <algorithm>
#include <array>
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

namespace ringkv::net {
namespace {

using detail::arm;
using detail::checked_status;
using detail::clear_tls_errors;
using detail::Deadline;
using detail::error_response;
using detail::fill_request;
using detail::Framing;
using detail::internal_error_response;
using detail::make_tls_stream;
using detail::read_error_response;
using detail::serialize_head;
using detail::tls_error;
using detail::TlsStream;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

using Clock = std::chrono::steady_clock;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
// The most one read from a connection asks for (Beast's own choice for its reads).
constexpr size_t kReadBytesMax = 65'536;
// A TLS connection receives at most this much at once: one record (16 KiB of
// data plus its overhead).
constexpr size_t kTlsReadBytes = 17 * 1024 + 512;
// Between responses a TLS connection keeps at most this much of the buffer its
// last response's records were sent from.
constexpr size_t kTlsKeptBytesMax = 64 * 1024;
// A TLS response body up to this size is sent in the record of the head.
constexpr size_t kTlsCoalesceBytesMax = 16 * 1024;

// Connections beyond connections_max still get a 503 so that their clients know
// to back off; at most this many such replies are in flight at once, and
// connections beyond that are closed unanswered (a flood must not cost more).
constexpr size_t kOverloadRepliesMax = 64;
// After a response that closes the connection the server stops sending and
// discards what the client still sends (typically a body it refused) for at most
// this long and this many bytes. Closing a socket with unread input makes the
// kernel send a reset, which can destroy the response before the client reads it.
constexpr uint32_t kLingerMsMax = 2'000;
constexpr size_t kLingerBytesMax = 1024 * 1024;
// Pause after a failed accept (e.g. out of file descriptors) so that the accept
// loop does not spin while the condition lasts.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);

using PlainStream = tcp::socket;

tcp::socket& lowest_layer(PlainStream& stream) {
  return stream;
}
tcp::socket& lowest_layer(TlsStream& stream) {
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
  explicit PendingResponse(const asio::any_io_executor& executor) : timer(executor) {}

  asio::steady_timer timer;
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

Responder make_responder(std::shared_ptr<ResponderTicket> ticket) {
  return [ticket = std::move(ticket)](HttpResponse response) {
    const std::shared_ptr<PendingResponse> alive = ticket->pending.lock();
    if (!alive || !alive->awaiting || alive->request_number != ticket->request_number)
      return;  // the connection is gone, or a second call
    alive->awaiting = false;
    alive->response = std::move(response);
    alive->timer.cancel();
  };
}

// What a Session does after writing a response.
enum class AfterWrite { keep_open, close, broken };

template <typename Stream>
class Session {
 public:
  Session(std::shared_ptr<ServerState> state, Stream stream)
      : state_(std::move(state)),
        stream_(std::move(stream)),
        pending_(std::make_shared<PendingResponse>(stream_.get_executor())),
        deadline_(std::make_shared<Deadline>(stream_.get_executor(), transport())) {
    registration_ = state_->connections.insert(state_->connections.end(),
                                               OpenConnection{&transport(), &pending_->timer});
  }
  ~Session() {
    state_->connections.erase(registration_);
    deadline_->socket = nullptr;
    deadline_->timer.cancel();
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::awaitable<void> serve();
  asio::awaitable<void> refuse_overloaded();

 private:
  tcp::socket& transport() { return lowest_layer(stream_); }
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;
  void arm_deadline(uint32_t timeout_ms) { arm(deadline_, timeout_ms); }
  void disarm_deadline() { deadline_->expiry = Clock::time_point::max(); }
  void arm_deadline() { arm_deadline(state_->options.request_timeout_ms); }

  asio::awaitable<bool> handshake();
  asio::awaitable<error_code> wait_for_tls(int result);
  asio::awaitable<std::tuple<error_code, size_t>> read_some(asio::mutable_buffer buffer);
  asio::awaitable<std::tuple<error_code, size_t>> tls_read_some(asio::mutable_buffer buffer);
  asio::awaitable<std::tuple<error_code, size_t>> write_all(asio::const_buffer first,
                                                            asio::const_buffer second = {});
  asio::awaitable<std::tuple<error_code, size_t>> tls_send(error_code sealed);
  asio::awaitable<bool> read_request();
  bool parse_buffered(bool header_only, error_code& error);
  asio::mutable_buffer read_space();
  error_code commit_read(const error_code& error, size_t bytes);
  asio::awaitable<bool> read_body();
  const Responder& next_responder();
  std::optional<HttpResponse> call_handler();
  asio::awaitable<std::optional<HttpResponse>> await_response();
  asio::awaitable<AfterWrite> write_response(HttpResponse response, Framing framing);
  asio::awaitable<void> answer_and_close(HttpResponse response);
  asio::awaitable<void> close_gracefully();

  std::shared_ptr<ServerState> state_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  std::string head_;  // the serialized status line and headers of the current response
  std::shared_ptr<PendingResponse> pending_;
  std::shared_ptr<ResponderTicket> ticket_;  // of responder_; see next_responder()
  Responder responder_;
  std::shared_ptr<Deadline> deadline_;
  std::list<OpenConnection>::iterator registration_;
};

template <typename Stream>
asio::awaitable<void> Session<Stream>::serve() {
  const bool secured = co_await handshake();
  if (!secured)
    co_return;
  for (;;) {
    const bool have_request = co_await read_request();
    if (!have_request || state_->stopped)
      co_return;
    http::request<http::string_body>& message = parser_->get();
    const Framing framing{message.version() == 10 ? 10u : 11u, message.keep_alive(),
                          message.method() == http::verb::head};
    fill_request(message, request_);
    std::optional<HttpResponse> response = call_handler();
    if (!response) {
      disarm_deadline();  // no I/O while the handler works (a sync put waits for its fsync)
      response = co_await await_response();
    }
    if (!response || state_->stopped)
      co_return;  // stopped while the handler was working
    const AfterWrite after = co_await write_response(std::move(*response), framing);
    if (after == AfterWrite::broken)
      co_return;
    if (after == AfterWrite::close) {
      co_await close_gracefully();
      co_return;
    }
  }
}

template <typename Stream>
asio::awaitable<void> Session<Stream>::refuse_overloaded() {
  const bool secured = co_await handshake();
  if (!secured)
    co_return;
  HttpResponse response = error_response(
      503, "overloaded",
      fmt::format("The node is at its limit of {} open connections; retry in a second.",
                  state_->options.connections_max));
  response.headers.push_back({"Retry-After", "1"});
  co_await answer_and_close(std::move(response));
}

template <typename Stream>
asio::awaitable<bool> Session<Stream>::handshake() {
  if constexpr (kTls) {
    // A failure here is usually a plain-HTTP client or a scanner: close quietly.
    arm_deadline();
    for (;;) {
      clear_tls_errors();
      const int result = SSL_accept(stream_.ssl.get());
      if (result == 1) {
        // Send the handshake's last messages (TLS 1.3 session tickets) now.
        std::string& output = stream_.buffers->output;
        const auto [error, bytes] =
            co_await asio::async_write(transport(), asio::buffer(output), kUseTuple);
        (void)bytes;
        output.clear();
        co_return !error && !state_->stopped;
      }
      const error_code error = co_await wait_for_tls(result);
      if (error)
        co_return false;
    }
  } else {
    co_return true;
  }
}

// After an SSL call that returned `result` <= 0: sends what OpenSSL has made
// and receives more, as it asked (the call is then retried), or returns why the
// connection cannot go on.
template <typename Stream>
asio::awaitable<error_code> Session<Stream>::wait_for_tls(int result) {
  const int ssl_error = SSL_get_error(stream_.ssl.get(), result);
  if (ssl_error != SSL_ERROR_WANT_READ)
    co_return tls_error(ssl_error);  // the BIO takes every write: no SSL_ERROR_WANT_WRITE
  std::string& output = stream_.buffers->output;
  if (!output.empty()) {
    const auto [error, bytes] =
        co_await asio::async_write(transport(), asio::buffer(output), kUseTuple);
    (void)bytes;
    output.clear();
    if (error)
      co_return error;
  }
  beast::flat_buffer& input = stream_.buffers->input;
  const auto [error, bytes] =
      co_await transport().async_read_some(input.prepare(kTlsReadBytes), kUseTuple);
  input.commit(bytes);
  co_return error;
}

// Reads what the connection has, up to `buffer`'s size (at least one byte).
// Not a coroutine itself on plain connections: Asio recycles only two coroutine
// frames per thread, and a third level of nesting would allocate per read.
template <typename Stream>
asio::awaitable<std::tuple<error_code, size_t>> Session<Stream>::read_some(
    asio::mutable_buffer buffer) {
  if constexpr (kTls) {
    return tls_read_some(buffer);
  } else {
    return stream_.async_read_some(buffer, kUseTuple);
  }
}

template <typename Stream>
asio::awaitable<std::tuple<error_code, size_t>> Session<Stream>::tls_read_some(
    asio::mutable_buffer buffer) {
  const int size = static_cast<int>(std::min<size_t>(buffer.size(), INT_MAX));
  for (;;) {
    clear_tls_errors();
    const int result = SSL_read(stream_.ssl.get(), buffer.data(), size);
    if (result > 0)
      co_return std::tuple(error_code(), static_cast<size_t>(result));
    const error_code error = co_await wait_for_tls(result);
    if (error)
      co_return std::tuple(error, size_t{0});
  }
}

// Writes all of `first`, then all of `second` (as for read_some(), not a
// coroutine itself).
template <typename Stream>
asio::awaitable<std::tuple<error_code, size_t>> Session<Stream>::write_all(
    asio::const_buffer first, asio::const_buffer second) {
  if constexpr (kTls) {
    // Seal both into records at once, after any record OpenSSL made meanwhile
    // (a reply to a key update, say: dropping one would break the sequence);
    // the BIO takes everything, so each SSL_write() consumes its whole buffer.
    // `sending` keeps the records while Asio sends them, and `output` is left
    // empty for the next TLS call.
    TlsStream::Buffers& buffers = *stream_.buffers;
    error_code error;
    for (const asio::const_buffer buffer : {first, second}) {
      if (buffer.size() == 0 || error)
        continue;
      clear_tls_errors();
      const int size = static_cast<int>(std::min<size_t>(buffer.size(), INT_MAX));
      const int result = SSL_write(stream_.ssl.get(), buffer.data(), size);
      if (result != size)
        error = tls_error(SSL_get_error(stream_.ssl.get(), result));
    }
    std::swap(buffers.sending, buffers.output);
    buffers.output.clear();
    if (error)
      buffers.sending.clear();  // sends nothing; the caller sees the error below
    return tls_send(error);
  } else {
    return asio::async_write(stream_, std::array{first, second}, kUseTuple);
  }
}

template <typename Stream>
asio::awaitable<std::tuple<error_code, size_t>> Session<Stream>::tls_send(error_code sealed) {
  if (sealed)
    co_return std::tuple(sealed, size_t{0});
  std::string& sending = stream_.buffers->sending;
  const auto result = co_await asio::async_write(transport(), asio::buffer(sending), kUseTuple);
  if (sending.capacity() > kTlsKeptBytesMax)
    std::string().swap(sending);  // an idle connection keeps no large response
  co_return result;
}

// Reads the next request into parser_. Returns false when the connection is
// done (the client left, stalled, or was answered with an error and closed).
template <typename Stream>
asio::awaitable<bool> Session<Stream>::read_request() {
  const HttpServerOptions& options = state_->options;
  parser_.emplace();
  parser_->header_limit(static_cast<uint32_t>(
      std::min<size_t>(options.header_bytes_max, std::numeric_limits<uint32_t>::max())));
  parser_->body_limit(options.body_bytes_max);
  arm_deadline();
  error_code error;
  while (!parse_buffered(/*header_only=*/true, error) && !error) {
    const auto [read_error, bytes] = co_await read_some(read_space());
    error = commit_read(read_error, bytes);
  }
  if (!error) {
    // Beast already refuses a Content-Length over body_limit while parsing the
    // header; this keeps the 413-before-reading-the-body rule explicit.
    const boost::optional<uint64_t> content_length = parser_->content_length();
    if (content_length && *content_length > options.body_bytes_max) {
      co_await answer_and_close(*read_error_response(http::error::body_limit, options));
      co_return false;
    }
    if (parser_->is_done())
      co_return true;
    co_return co_await read_body();
  }
  if (state_->stopped)
    co_return false;
  std::optional<HttpResponse> response = read_error_response(error, options);
  if (response)
    co_await answer_and_close(std::move(*response));
  co_return false;
}

template <typename Stream>
asio::awaitable<bool> Session<Stream>::read_body() {
  const http::request<http::string_body>& message = parser_->get();
  if (message.version() == 11 && beast::iequals(message[http::field::expect], "100-continue")) {
    // Clients such as curl wait for this before sending a large body.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    arm_deadline();
    const auto [error, bytes] = co_await write_all(asio::buffer(kContinue));
    (void)bytes;
    if (error)
      co_return false;
  }
  arm_deadline();
  error_code error;
  while (!parse_buffered(/*header_only=*/false, error) && !error) {
    const auto [read_error, bytes] = co_await read_some(read_space());
    error = commit_read(read_error, bytes);
  }
  if (!error)
    co_return true;
  if (state_->stopped)
    co_return false;
  std::optional<HttpResponse> response = read_error_response(error, state_->options);
  if (response)
    co_await answer_and_close(std::move(*response));
  co_return false;
}

// Reading a request: parse_buffered() feeds parser_ from buffer_, and the
// caller reads more from the stream until it returns true; the parser enforces
// the header and body limits. These are the steps of Beast's
// http::async_read_header and http::async_read (read_some_op), without their
// layers of composed operations, which cost more CPU than the parsing itself on
// a small request. (Not a coroutine of its own: Asio recycles only two
// coroutine frames per thread, and a third level of nesting would allocate.)
//
// True when the parser has the header (`header_only`) or the whole message;
// false with `error` set when the request is malformed or over a limit, or
// with `error` clear when more bytes are needed.
template <typename Stream>
bool Session<Stream>::parse_buffered(bool header_only, error_code& error) {
  for (;;) {
    if (header_only ? parser_->is_header_done() : parser_->is_done())
      return true;
    if (buffer_.size() == 0)
      return false;
    const size_t used = parser_->put(buffer_.data(), error);
    buffer_.consume(used);
    if (error == http::error::need_more || (!error && used == 0)) {
      error = {};
      return false;
    }
    if (error)
      return false;
  }
}

// Where the next read from the stream goes.
template <typename Stream>
asio::mutable_buffer Session<Stream>::read_space() {
  // The flat buffer grows without a limit of its own: the parser's limits bound it.
  return buffer_.prepare(beast::read_size(buffer_, kReadBytesMax));
}

// Takes the result of a read into read_space(); returns the error that ends
// the request, if any. The end of the stream ends a message that may end with
// the connection, and is otherwise end_of_stream (nothing read) or an error.
template <typename Stream>
error_code Session<Stream>::commit_read(const error_code& error, size_t bytes) {
  buffer_.commit(bytes);
  if (error != asio::error::eof)
    return error;
  if (!parser_->got_some())
    return http::error::end_of_stream;
  error_code eof_error;
  parser_->put_eof(eof_error);
  return eof_error;
}

// The Responder for the request about to go to the handler. A Responder (a
// std::function holding a shared ticket) costs two allocations, and most
// requests are answered at once without copying it, so the last one is reused
// whenever no copy of it survived its request: the ticket is then held only by
// the Session and by responder_, nothing else can call it, and renumbering it
// in place is as safe as a new one.
template <typename Stream>
const Responder& Session<Stream>::next_responder() {
  constexpr long kTicketOwnersUncopied = 2;  // ticket_ and the copy inside responder_
  if (ticket_ == nullptr || ticket_.use_count() > kTicketOwnersUncopied) {
    ticket_ = std::make_shared<ResponderTicket>();
    ticket_->pending = pending_;
    responder_ = make_responder(ticket_);
  }
  ticket_->request_number = pending_->request_number;
  return responder_;
}

// Hands request_ to the handler. Returns its immediate answer (a 500 if it
// threw), or std::nullopt when it will answer later through the Responder.
template <typename Stream>
std::optional<HttpResponse> Session<Stream>::call_handler() {
  ++pending_->request_number;
  pending_->awaiting = true;
  pending_->response.reset();
  const Responder& respond = next_responder();
  std::optional<HttpResponse> response;
  try {
    response = state_->handler.handle(request_, respond);
  } catch (...) {
    pending_->awaiting = false;
    return internal_error_response();  // the server has no log of its own
  }
  if (!response && pending_->response)
    response = std::move(pending_->response);  // answered through the Responder already
  if (response)
    pending_->awaiting = false;
  return response;
}

// Waits, without polling, for the answer of a handler that returned
// std::nullopt. Returns std::nullopt only when the server stopped meanwhile.
template <typename Stream>
asio::awaitable<std::optional<HttpResponse>> Session<Stream>::await_response() {
  if (pending_->awaiting) {
    pending_->timer.expires_at(asio::steady_timer::time_point::max());
    const auto [error] = co_await pending_->timer.async_wait(kUseTuple);
    (void)error;  // cancelled by the Responder, or by stop()
  }
  pending_->awaiting = false;
  if (state_->stopped)
    co_return std::nullopt;
  co_return std::move(pending_->response);
}

template <typename Stream>
asio::awaitable<AfterWrite> Session<Stream>::write_response(HttpResponse response,
                                                            Framing framing) {
  serialize_head(response, framing, head_);
  const unsigned status = checked_status(response.status);
  bool send_body = !framing.head_request && status >= 200 && status != 204 && status != 304;
  if (kTls && send_body && response.body.size() <= kTlsCoalesceBytesMax) {
    head_.append(response.body);  // one TLS record (and one send) instead of two
    send_body = false;
  }
  arm_deadline();
  const auto [error, bytes] = co_await write_all(
      asio::buffer(head_), send_body ? asio::buffer(response.body) : asio::const_buffer());
  (void)bytes;
  if (error || state_->stopped)
    co_return AfterWrite::broken;
  const bool keep_alive = framing.keep_alive && !response.close;
  co_return keep_alive ? AfterWrite::keep_open : AfterWrite::close;
}

template <typename Stream>
asio::awaitable<void> Session<Stream>::answer_and_close(HttpResponse response) {
  const AfterWrite after = co_await write_response(std::move(response), Framing{11, false, false});
  if (after != AfterWrite::broken)
    co_await close_gracefully();
}

// Stops sending, then discards the client's remaining input for a bounded time
// so that the close does not reset the connection (see kLingerMsMax). The TLS
// layer is bypassed: the response announced its length, so no close_notify is
// needed for the client to know it is complete.
template <typename Stream>
asio::awaitable<void> Session<Stream>::close_gracefully() {
  error_code ignored;
  transport().shutdown(tcp::socket::shutdown_send, ignored);
  arm_deadline(std::min(state_->options.request_timeout_ms, kLingerMsMax));
  std::array<char, 4096> discard;
  size_t discarded_bytes = 0;
  while (discarded_bytes < kLingerBytesMax && !state_->stopped) {
    const auto [error, bytes] =
        co_await transport().async_read_some(asio::buffer(discard), kUseTuple);
    if (error)
      break;
    discarded_bytes += bytes;
  }
  transport().close(ignored);
}

template <typename Stream>
asio::awaitable<void> serve_connection(ConnectionSlot slot, Stream stream) {
  Session<Stream> session(slot.state(), std::move(stream));
  co_await session.serve();
}

template <typename Stream>
asio::awaitable<void> refuse_connection(ConnectionSlot slot, Stream stream) {
  Session<Stream> session(slot.state(), std::move(stream));
  co_await session.refuse_overloaded();
}

template <typename Stream>
void spawn_session(const std::shared_ptr<ServerState>& state, Stream stream) {
  const asio::any_io_executor executor = stream.get_executor();
  if (state->open_connections < state->options.connections_max) {
    asio::co_spawn(executor,
                   serve_connection<Stream>(ConnectionSlot(state, false), std::move(stream)),
                   asio::detached);
  } else if (state->overload_replies < kOverloadRepliesMax) {
    asio::co_spawn(executor,
                   refuse_connection<Stream>(ConnectionSlot(state, true), std::move(stream)),
                   asio::detached);
  }
  // Otherwise `stream` is destroyed here, which closes the connection unanswered.
}

void dispatch_connection(const std::shared_ptr<ServerState>& state, tcp::socket socket) {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (state->tls_context) {
    std::optional<TlsStream> stream = make_tls_stream(*state->tls_context, std::move(socket));
    if (stream)
      spawn_session(state, std::move(*stream));
  } else {
    spawn_session(state, PlainStream(std::move(socket)));
  }
}

asio::awaitable<void> accept_connections(std::shared_ptr<ServerState> state) {
  for (;;) {
    auto [error, socket] = co_await state->acceptor.async_accept(kUseTuple);
    if (state->stopped || error == asio::error::operation_aborted)
      co_return;
    if (error) {
      asio::steady_timer pause(state->acceptor.get_executor(), kAcceptRetryDelay);
      const auto [wait_error] = co_await pause.async_wait(kUseTuple);
      (void)wait_error;
      if (state->stopped)
        co_return;
      continue;
    }
    dispatch_connection(state, std::move(socket));
  }
}

// Names why `path` cannot be read, or returns ok; OpenSSL's own errors for a
// missing file are obscure, so this is checked first.
Status check_readable_file(const std::string& path, std::string_view what) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) {
    return {Code::invalid_argument,
            fmt::format("cannot load TLS {} '{}': the file does not exist", what, path)};
  }
  if (!std::filesystem::is_regular_file(path, error)) {
    return {Code::invalid_argument,
            fmt::format("cannot load TLS {} '{}': it is not a regular file", what, path)};
  }
  std::ifstream file(path);
  if (!file) {
    return {Code::invalid_argument, fmt::format("cannot load TLS {} '{}': it is not readable ({})",
                                                what, path, std::strerror(errno))};
  }
  return Status::Ok();
}

Status load_tls(const HttpServerOptions& options, std::optional<ssl::context>& tls_context) {
  if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
    return {Code::invalid_argument,
            "TLS needs both a certificate file and a private key file; set both or neither"};
  }
  Status readable = check_readable_file(options.tls_cert_file, "certificate");
  if (!readable.ok())
    return readable;
  readable = check_readable_file(options.tls_key_file, "private key");
  if (!readable.ok())
    return readable;

  ssl::context& context = tls_context.emplace(ssl::context::tls_server);
  error_code error;
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                          ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                          ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                      error);
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  context.use_certificate_chain_file(options.tls_cert_file, error);
  if (error) {
    return {Code::invalid_argument,
            fmt::format("cannot load TLS certificate '{}': {} (expected a PEM certificate chain)",
                        options.tls_cert_file, error.message())};
  }
  context.use_private_key_file(options.tls_key_file, ssl::context::pem, error);
  if (error) {
    return {Code::invalid_argument,
            fmt::format("cannot load TLS private key '{}': {} (expected a PEM private key "
                        "matching the certificate)",
                        options.tls_key_file, error.message())};
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return {Code::invalid_argument,
            fmt::format("cannot load TLS private key '{}': it does not match certificate '{}'",
                        options.tls_key_file, options.tls_cert_file)};
  }
  return Status::Ok();
}

Result<tcp::endpoint> resolve_listen_endpoint(asio::io_context& context,
                                              const HttpServerOptions& options) {
  error_code error;
  const asio::ip::address address = asio::ip::make_address(options.host, error);
  if (!error)
    return tcp::endpoint(address, options.port);
  tcp::resolver resolver(context);
  const auto results =
      resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, error);
  if (error || results.empty()) {
    return Status(Code::unavailable,
                  fmt::format("cannot listen on {}:{}: {}", options.host, options.port,
                              error ? error.message() : "the host name has no address"));
  }
  return results.begin()->endpoint();
}

Status listen(ServerState& state) {
  const HttpServerOptions& options = state.options;
  Result<tcp::endpoint> endpoint = resolve_listen_endpoint(
      static_cast<asio::io_context&>(state.acceptor.get_executor().context()), options);
  if (!endpoint.ok())
    return endpoint.status();
  error_code error;
  state.acceptor.open(endpoint->protocol(), error);
  if (!error)
    state.acceptor.set_option(tcp::acceptor::reuse_address(true), error);
  if (!error)
    state.acceptor.bind(*endpoint, error);
  if (!error)
    state.acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return {Code::unavailable,
            fmt::format("cannot listen on {}:{}: {}", options.host, options.port, error.message())};
  }
  return Status::Ok();
}

class ServerImpl final : public HttpServer {
 public:
  explicit ServerImpl(std::shared_ptr<ServerState> state)
      : state_(std::move(state)), port_(state_->acceptor.local_endpoint().port()) {}
  ~ServerImpl() override { stop(); }

  uint16_t port() const override { return port_; }
  bool tls() const override { return state_->tls_context.has_value(); }
  size_t open_connections() const override { return state_->open_connections; }

  void stop() override {
    if (state_->stopped)
      return;
    state_->stopped = true;
    error_code ignored;
    state_->acceptor.close(ignored);
    // Closing aborts every pending read and write; each Session then unwinds on
    // the loop and unregisters itself.
    for (OpenConnection& connection : state_->connections) {
      connection.transport->close(ignored);
      if (connection.response_timer != nullptr)
        connection.response_timer->cancel();
    }
  }

 private:
  std::shared_ptr<ServerState> state_;
  uint16_t port_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(EventLoop& loop, HttpHandler& handler,
                                                      const HttpServerOptions& options) {
  auto state = std::make_shared<ServerState>(loop.context(), handler, options);
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    Status loaded = load_tls(options, state->tls_context);
    if (!loaded.ok())
      return loaded;
  }
  Status listening = listen(*state);
  if (!listening.ok())
    return listening;
  asio::co_spawn(loop.context(), accept_connections(state), asio::detached);
  return std::unique_ptr<HttpServer>(std::make_unique<ServerImpl>(std::move(state)));
}

}  // namespace ringkv::net
