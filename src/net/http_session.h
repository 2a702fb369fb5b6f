// Internal to the HTTP server (http_server.cpp): one connection's life, a
// Session over a plain or TLS stream (see http_server.cpp for the whole story).
#pragma once

// As in http_server.cpp: a known g++ 12 false positive on Asio's coroutine
// frame allocator; the sanitizer build checks the real pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include "net/http_server_state.h"

namespace ringkv::net::detail {

// What a Session does after writing a response.
enum class AfterWrite { keep_open, close, broken };

template <typename Stream>
class Session {
 public:
  Session(std::shared_ptr<ServerState> state, Stream stream)
      : state_(std::move(state)),
        stream_(std::move(stream)),
        pending_(std::make_shared<PendingResponse>(stream_.get_executor(), state_->handler)),
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
  size_t header_bytes_ = 0;  // of the current request, fed to parser_ so far
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
  header_bytes_ = 0;
  parser_->header_limit(static_cast<uint32_t>(
      std::min<size_t>(options.header_bytes_max, std::numeric_limits<uint32_t>::max())));
  parser_->body_limit(options.body_bytes_max);
  arm_deadline();
  error_code error;
  while (!parse_buffered(/*header_only=*/true, error) && !error) {
    const auto [read_error, bytes] = co_await read_some(read_space());
    error = commit_read(read_error, bytes);
    // Parsing again would clear a read error (the client left, the deadline
    // closed the socket) whenever unparsed bytes remain, and the loop would
    // read the dead connection for ever.
    if (error)
      break;
  }
  // Beast's header_limit bounds the request line and the fields each, not
  // their sum: a header could reach twice the limit.
  if (!error && header_bytes_ > options.header_bytes_max)
    error = http::error::header_limit;
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
    if (error)
      break;  // (as in read_request)
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
    if (header_only)
      header_bytes_ += used;  // (a parser that is not eager stops after the header)
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

// The Responder for the request about to go to the handler. A Responder's
// ticket costs an allocation, and most
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
    responder_ = Responder(ticket_);
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
}  // namespace ringkv::net::detail
