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

#include "net/http_session.h"

// g++ 12 at -O2 reports -Wmismatched-new-delete where Asio's recycling allocator
// for coroutine frames (awaitable_frame_base::operator new/delete over
// aligned_new/aligned_delete) is inlined here: a known false positive, which
// other Asio coroutine users silence the same way (erigontech/silkworm#2046). The
// sanitizer build checks the real pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ringkv::net {

void Responder::operator()(HttpResponse response) const {
  const std::shared_ptr<detail::PendingResponse> alive = ticket_->pending.lock();
  if (!alive || !alive->awaiting || alive->request_number != ticket_->request_number)
    return;  // the connection is gone, or a second call
  alive->handler.answered_later(response);
  alive->awaiting = false;
  alive->response = std::move(response);
  alive->timer.cancel();
}

namespace {

using namespace detail;  // the server's own internals (http_server_state.h, http_session.h)

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

  Status reload_tls() override {
    if (!state_->tls_context)
      return {Code::invalid_argument, "HTTPS is not configured: nothing to reload"};
    std::optional<ssl::context> fresh;
    if (Status loaded = load_tls(state_->options, fresh); !loaded.ok())
      return loaded;
    // Each open connection's SSL holds a reference to the old context's
    // SSL_CTX, so it lives on until they close.
    state_->tls_context = std::move(fresh);
    return Status::Ok();
  }

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
