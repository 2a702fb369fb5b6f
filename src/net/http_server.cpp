// HttpServer on Boost.Beast with C++20 coroutines (see http_server.h).
//
// One coroutine per connection runs a Session: read the header, enforce the
// limits, read the body, call the handler, write the response, repeat while
// keep-alive holds; the same Session template serves plain TCP and TLS streams.
// A deadline is armed before every read, write and TLS handshake, so a client
// that stalls or dribbles bytes is cut off after request_timeout_ms.
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
// Performance: the read buffer, the parser's storage and the HttpRequest handed to
// the handler are reused per connection; bodies are moved, never copied; a
// response the handler returns at once is written without a detour through the
// event queue.
#include "net/http_server.h"

// g++ 12 at -O2 reports -Wmismatched-new-delete where Asio's recycling allocator
// for coroutine frames (awaitable_frame_base::operator new/delete over
// aligned_new/aligned_delete) is inlined here: a known false positive, which
// other Asio coroutine users silence the same way (erigontech/silkworm#2046). The
// sanitizer build checks the real pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>
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
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <list>
#include <type_traits>
#include <utility>

namespace ringkv::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

using PlainStream = beast::tcp_stream;
using TlsStream = ssl::stream<beast::tcp_stream>;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

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

// What stop() needs to reach into a connection.
struct OpenConnection {
  beast::tcp_stream* transport;
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

// One Responder per request (one small allocation), so that a stray second call
// for an earlier request can never answer the one after it.
Responder make_responder(const std::shared_ptr<PendingResponse>& pending) {
  return [weak = std::weak_ptr<PendingResponse>(pending),
          request_number = pending->request_number](HttpResponse response) {
    const std::shared_ptr<PendingResponse> alive = weak.lock();
    if (!alive || !alive->awaiting || alive->request_number != request_number)
      return;  // the connection is gone, or a second call
    alive->awaiting = false;
    alive->response = std::move(response);
    alive->timer.cancel();
  };
}

std::string json_escape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char character : text) {
    if (character == '"' || character == '\\') {
      escaped.push_back('\\');
      escaped.push_back(character);
    } else if (static_cast<unsigned char>(character) < 0x20) {
      escaped += fmt::format("\\u{:04x}", static_cast<unsigned>(character));
    } else {
      escaped.push_back(character);
    }
  }
  return escaped;
}

// The JSON error every API error uses; always closes the connection.
HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.headers.push_back({"Content-Type", "application/json"});
  response.body =
      fmt::format(R"({{"error":"{}","message":"{}"}})", json_escape(code), json_escape(message));
  response.close = true;
  return response;
}

bool is_http_parse_error(const error_code& error) {
  return error.category() == make_error_code(http::error::bad_target).category();
}

// The response to a request that could not be read, or std::nullopt when the
// connection should just close (the client left or stalled).
std::optional<HttpResponse> read_error_response(const error_code& error,
                                                const HttpServerOptions& options) {
  if (error == http::error::header_limit) {
    return error_response(431, "header_too_large",
                          fmt::format("The request line and headers are over {} bytes; send "
                                      "fewer or shorter headers.",
                                      options.header_bytes_max));
  }
  if (error == http::error::body_limit) {
    return error_response(413, "value_too_large",
                          fmt::format("The request body is over {} bytes; store a value of at "
                                      "most that size.",
                                      options.body_bytes_max));
  }
  if (error == http::error::end_of_stream || error == http::error::partial_message ||
      !is_http_parse_error(error)) {
    return std::nullopt;
  }
  return error_response(
      400, "bad_request",
      fmt::format("The request is not valid HTTP/1.1 ({}); fix the client.", error.message()));
}

HttpResponse internal_error_response() {
  return error_response(500, "internal",
                        "The node failed while handling this request; retry, and report it "
                        "with the node's log if it persists.");
}

// Copies a parsed Beast request into `request`, reusing its strings' storage.
void fill_request(http::request<http::string_body>& message, HttpRequest& request) {
  const std::string_view method = message.method_string();
  request.method.assign(method.data(), method.size());
  for (char& character : request.method) {
    character = static_cast<char>(std::toupper(static_cast<unsigned char>(character)));
  }
  const std::string_view target = message.target();
  request.target.assign(target.data(), target.size());
  size_t count = 0;
  for (const auto& field : message) {
    if (count == request.headers.size())
      request.headers.emplace_back();
    const std::string_view name = field.name_string();
    const std::string_view value = field.value();
    request.headers[count].name.assign(name.data(), name.size());
    request.headers[count].value.assign(value.data(), value.size());
    ++count;
  }
  request.headers.resize(count);
  request.body = std::move(message.body());
}

// A status outside 100..599 is a handler bug; the client sees a 500 instead.
unsigned checked_status(int status) {
  return status >= 100 && status <= 599 ? static_cast<unsigned>(status) : 500;
}

void append_number(uint64_t number, std::string& text) {
  std::array<char, 24> digits;
  const auto [end, error] = std::to_chars(digits.data(), digits.data() + digits.size(), number);
  (void)error;  // 24 characters hold any uint64_t
  text.append(digits.data(), end);
}

// A header the server writes itself, or one that would break the framing.
bool skip_handler_header(const HttpHeader& header) {
  if (header.name.empty() || header_name_equals(header.name, "Content-Length") ||
      header_name_equals(header.name, "Connection") ||
      header_name_equals(header.name, "Transfer-Encoding")) {
    return true;
  }
  const auto breaks_line = [](char character) {
    return character == '\r' || character == '\n' || character == '\0';
  };
  return std::any_of(header.name.begin(), header.name.end(), breaks_line) ||
         std::any_of(header.value.begin(), header.value.end(), breaks_line);
}

// How a response is framed on the wire.
struct Framing {
  unsigned version;  // 10 or 11, as the request
  bool keep_alive;
  bool head_request;  // announce the length, send no body
};

// Writes the status line and headers of `response` into `head` (storage reused
// per connection). Beast still parses requests, but its response serializer's
// buffer-sequence machinery cost more CPU than the rest of a small GET: writing
// the head here raised one core's rate from ~63k to ~90k requests/s (wrk, 32
// connections, 12-byte body; nginx on the same machine: ~100k).
void serialize_head(const HttpResponse& response, const Framing& framing, std::string& head) {
  const unsigned status = checked_status(response.status);
  head.assign(framing.version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  append_number(status, head);
  head.push_back(' ');
  head.append(http::obsolete_reason(static_cast<http::status>(status)));
  head.append("\r\nServer: ringkv\r\n");
  std::optional<std::string_view> announced_length;
  for (const HttpHeader& header : response.headers) {
    if (header_name_equals(header.name, "Content-Length"))
      announced_length = header.value;
    if (skip_handler_header(header))
      continue;
    head.append(header.name).append(": ").append(header.value).append("\r\n");
  }
  const bool bodiless = status < 200 || status == 204 || status == 304;
  if (!bodiless) {
    head.append("Content-Length: ");
    // A HEAD response announces the length a GET would have, if the handler said.
    if (framing.head_request && announced_length &&
        std::all_of(announced_length->begin(), announced_length->end(),
                    [](char character) { return character >= '0' && character <= '9'; })) {
      head.append(*announced_length);
    } else {
      append_number(response.body.size(), head);
    }
    head.append("\r\n");
  }
  const bool keep_alive = framing.keep_alive && !response.close;
  if (!keep_alive) {
    head.append("Connection: close\r\n");
  } else if (framing.version == 10) {
    head.append("Connection: keep-alive\r\n");
  }
  head.append("\r\n");
}

// What a Session does after writing a response.
enum class AfterWrite { keep_open, close, broken };

template <typename Stream>
class Session {
 public:
  Session(std::shared_ptr<ServerState> state, Stream stream)
      : state_(std::move(state)),
        stream_(std::move(stream)),
        pending_(std::make_shared<PendingResponse>(stream_.get_executor())) {
    registration_ = state_->connections.insert(state_->connections.end(),
                                               OpenConnection{&transport(), &pending_->timer});
  }
  ~Session() { state_->connections.erase(registration_); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  asio::awaitable<void> serve();
  asio::awaitable<void> refuse_overloaded();

 private:
  beast::tcp_stream& transport() { return beast::get_lowest_layer(stream_); }
  void arm_deadline(uint32_t timeout_ms) {
    transport().expires_after(std::chrono::milliseconds(timeout_ms));
  }
  void arm_deadline() { arm_deadline(state_->options.request_timeout_ms); }

  asio::awaitable<bool> handshake();
  asio::awaitable<bool> read_request();
  asio::awaitable<bool> read_body();
  asio::awaitable<std::optional<HttpResponse>> call_handler();
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
    std::optional<HttpResponse> response = co_await call_handler();
    if (!response)
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
  if constexpr (std::is_same_v<Stream, TlsStream>) {
    // A failure here is usually a plain-HTTP client or a scanner: close quietly.
    arm_deadline();
    const auto [error] = co_await stream_.async_handshake(ssl::stream_base::server, kUseTuple);
    co_return !error && !state_->stopped;
  } else {
    co_return true;
  }
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
  const auto [error, bytes] =
      co_await http::async_read_header(stream_, buffer_, *parser_, kUseTuple);
  (void)bytes;
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
    const auto [error, bytes] =
        co_await asio::async_write(stream_, asio::buffer(kContinue), kUseTuple);
    (void)bytes;
    if (error)
      co_return false;
  }
  arm_deadline();
  const auto [error, bytes] = co_await http::async_read(stream_, buffer_, *parser_, kUseTuple);
  (void)bytes;
  if (!error)
    co_return true;
  if (state_->stopped)
    co_return false;
  std::optional<HttpResponse> response = read_error_response(error, state_->options);
  if (response)
    co_await answer_and_close(std::move(*response));
  co_return false;
}

// Hands request_ to the handler and waits, without polling, for a later answer.
// Returns std::nullopt only when the server stopped meanwhile.
template <typename Stream>
asio::awaitable<std::optional<HttpResponse>> Session<Stream>::call_handler() {
  ++pending_->request_number;
  pending_->awaiting = true;
  pending_->response.reset();
  const Responder respond = make_responder(pending_);
  std::optional<HttpResponse> response;
  bool failed = false;
  try {
    response = state_->handler.handle(request_, respond);
  } catch (...) {
    failed = true;  // answered with a 500; the server has no log of its own
  }
  if (failed) {
    pending_->awaiting = false;
    co_return internal_error_response();
  }
  if (!response && !pending_->response) {
    pending_->timer.expires_at(asio::steady_timer::time_point::max());
    const auto [error] = co_await pending_->timer.async_wait(kUseTuple);
    (void)error;  // cancelled by the Responder, or by stop()
  }
  pending_->awaiting = false;
  if (state_->stopped)
    co_return std::nullopt;
  if (response)
    co_return std::move(response);
  co_return std::move(pending_->response);
}

template <typename Stream>
asio::awaitable<AfterWrite> Session<Stream>::write_response(HttpResponse response,
                                                            Framing framing) {
  serialize_head(response, framing, head_);
  const unsigned status = checked_status(response.status);
  const bool send_body = !framing.head_request && status >= 200 && status != 204 && status != 304;
  const std::array<asio::const_buffer, 2> buffers = {
      asio::buffer(head_), send_body ? asio::buffer(response.body) : asio::const_buffer()};
  arm_deadline();
  const auto [error, bytes] = co_await asio::async_write(stream_, buffers, kUseTuple);
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
  transport().socket().shutdown(tcp::socket::shutdown_send, ignored);
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
  transport().close();
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
    spawn_session(state, TlsStream(std::move(socket), *state->tls_context));
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
      connection.transport->close();
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
