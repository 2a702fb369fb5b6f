// HttpClient: a blocking HTTP/1.1 (and HTTPS) client on Boost.Beast (see
// http_client.h).
//
// Each instance owns a private io_context and runs it only inside send(): the
// asynchronous operations carry the request deadline (beast::tcp_stream's
// expiry), so a blocking call can never outlive timeout_ms by more than the time
// a name lookup refuses to be cancelled. One keep-alive connection is kept
// between calls; when the server has closed it meanwhile, the request is sent
// once more on a fresh connection, but only if nothing at all was received
// (otherwise the server may have acted on it, and the caller must decide).
#include "net/http_client.h"

#include <fmt/format.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <utility>

namespace ringkv::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

using TlsStream = ssl::stream<beast::tcp_stream>;
using RequestMessage = http::request<http::span_body<const char>>;

// Responses carry values up to the server's value limit plus context tokens;
// this bounds a misbehaving server's headers, not the body.
constexpr uint32_t kResponseHeaderBytesMax = 64 * 1024;

// How one attempt to exchange a request for a response ended.
struct Attempt {
  std::optional<HttpResponse> response;
  error_code error;
  bool received_nothing = true;  // a failure here may be retried on a new connection
};

RequestMessage make_message(const HttpRequest& request, const HttpClientOptions& options) {
  RequestMessage message;
  message.version(11);
  message.method_string(request.method);
  message.target(request.target);
  bool has_host = false;
  bool has_authorization = false;
  for (const HttpHeader& header : request.headers) {
    has_host = has_host || header_name_equals(header.name, "Host");
    has_authorization = has_authorization || header_name_equals(header.name, "Authorization");
    message.insert(header.name, header.value);
  }
  if (!has_host)
    message.set(http::field::host, fmt::format("{}:{}", options.host, options.port));
  if (!has_authorization && !options.bearer_token.empty())
    message.set(http::field::authorization, "Bearer " + options.bearer_token);
  message.body() = beast::span<const char>(request.body.data(), request.body.size());
  message.prepare_payload();
  message.keep_alive(true);
  return message;
}

HttpResponse convert_response(http::response<http::string_body>& message) {
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  for (const auto& field : message) {
    response.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  response.body = std::move(message.body());
  response.close = !message.keep_alive();
  return response;
}

bool is_ip_address(const std::string& host) {
  error_code error;
  asio::ip::make_address(host, error);
  return !error;
}

// The certificate problem behind a failed handshake, when there was one.
std::string handshake_failure_reason(TlsStream& stream, const error_code& error) {
  const long verify_result = SSL_get_verify_result(stream.native_handle());
  if (verify_result != X509_V_OK) {
    return fmt::format("certificate verify failed: {}",
                       X509_verify_cert_error_string(verify_result));
  }
  return error.message();
}

}  // namespace

struct HttpClient::Impl {
  explicit Impl(HttpClientOptions options_in) : options(std::move(options_in)) {
    if (options.tls)
      setup_tls();
  }

  Result<HttpResponse> send(const HttpRequest& request);

 private:
  void setup_tls();
  std::string address() const { return fmt::format("{}:{}", options.host, options.port); }
  Status timed_out(std::string_view what) const {
    return {Code::unavailable,
            fmt::format("{} {} timed out after {} ms", what, address(), options.timeout_ms)};
  }
  // Runs the io_context until the operations started on it finish; every one of
  // them is bounded by the stream deadline.
  void run_started_operations() {
    context.restart();
    context.run();
  }
  beast::tcp_stream& transport() {
    return tls_stream ? beast::get_lowest_layer(*tls_stream) : *plain_stream;
  }
  bool connected() const { return plain_stream.has_value() || tls_stream.has_value(); }
  void disconnect();

  Result<tcp::resolver::results_type> resolve();
  Status connect();
  Status handshake();
  template <typename Stream>
  Attempt exchange(Stream& stream, const HttpRequest& request);
  Attempt exchange(const HttpRequest& request);
  Status attempt_failure(const Attempt& attempt) const;

  HttpClientOptions options;
  asio::io_context context{1};
  std::optional<ssl::context> tls_context;
  Status tls_setup_status;  // a bad ca_file, reported by every send()
  std::optional<beast::tcp_stream> plain_stream;
  std::optional<TlsStream> tls_stream;
  beast::flat_buffer buffer;
  std::chrono::steady_clock::time_point deadline;
};

void HttpClient::Impl::setup_tls() {
  ssl::context& tls = tls_context.emplace(ssl::context::tls_client);
  error_code error;
  tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                  error);
  SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
  if (options.insecure) {
    tls.set_verify_mode(ssl::verify_none, error);
    return;
  }
  tls.set_verify_mode(ssl::verify_peer, error);
  if (options.ca_file.empty()) {
    tls.set_default_verify_paths(error);
  } else {
    tls.load_verify_file(options.ca_file, error);
  }
  if (error) {
    const std::string source = options.ca_file.empty() ? "the system's CA certificates"
                                                       : "CA file '" + options.ca_file + "'";
    tls_setup_status = {Code::invalid_argument,
                        fmt::format("cannot load {}: {}", source, error.message())};
  }
}

void HttpClient::Impl::disconnect() {
  if (connected())
    transport().close();
  tls_stream.reset();
  plain_stream.reset();
  buffer.clear();
}

Result<tcp::resolver::results_type> HttpClient::Impl::resolve() {
  tcp::resolver resolver(context);
  bool done = false;
  error_code error;
  tcp::resolver::results_type results;
  resolver.async_resolve(options.host, std::to_string(options.port),
                         [&](const error_code& resolve_error, tcp::resolver::results_type found) {
                           done = true;
                           error = resolve_error;
                           results = std::move(found);
                         });
  context.restart();
  context.run_until(deadline);
  if (!done) {
    resolver.cancel();
    run_started_operations();
    return timed_out("cannot connect to");
  }
  if (error) {
    return Status(Code::unavailable,
                  fmt::format("cannot connect to {}: {}", address(), error.message()));
  }
  return results;
}

Status HttpClient::Impl::connect() {
  Result<tcp::resolver::results_type> endpoints = resolve();
  if (!endpoints.ok())
    return endpoints.status();
  if (options.tls) {
    tls_stream.emplace(context, *tls_context);
  } else {
    plain_stream.emplace(context);
  }
  error_code error;
  transport().expires_at(deadline);
  transport().async_connect(*endpoints, [&](const error_code& connect_error, const tcp::endpoint&) {
    error = connect_error;
  });
  run_started_operations();
  if (error == beast::error::timeout)
    return timed_out("cannot connect to");
  if (error) {
    return {Code::unavailable, fmt::format("cannot connect to {}: {}", address(), error.message())};
  }
  error_code ignored;
  transport().socket().set_option(tcp::no_delay(true), ignored);
  return options.tls ? handshake() : Status::Ok();
}

Status HttpClient::Impl::handshake() {
  // SNI names the host; it must not carry an IP address (RFC 6066).
  if (!is_ip_address(options.host)) {
    SSL_set_tlsext_host_name(tls_stream->native_handle(), options.host.c_str());
  }
  if (!options.insecure) {
    tls_stream->set_verify_callback(ssl::host_name_verification(options.host));
  }
  error_code error;
  transport().expires_at(deadline);
  tls_stream->async_handshake(ssl::stream_base::client,
                              [&](const error_code& handshake_error) { error = handshake_error; });
  run_started_operations();
  if (error == beast::error::timeout)
    return timed_out("TLS handshake with");
  if (error) {
    return {Code::unavailable,
            fmt::format("TLS handshake with {} failed: {} (use --cacert FILE, or --insecure for "
                        "a self-signed test certificate)",
                        address(), handshake_failure_reason(*tls_stream, error))};
  }
  return Status::Ok();
}

template <typename Stream>
Attempt HttpClient::Impl::exchange(Stream& stream, const HttpRequest& request) {
  Attempt attempt;
  RequestMessage message = make_message(request, options);
  transport().expires_at(deadline);
  http::async_write(stream, message,
                    [&](const error_code& error, size_t) { attempt.error = error; });
  run_started_operations();
  if (attempt.error)
    return attempt;

  http::response_parser<http::string_body> parser;
  parser.header_limit(kResponseHeaderBytesMax);
  parser.body_limit(boost::none);
  if (message.method() == http::verb::head)
    parser.skip(true);
  transport().expires_at(deadline);
  http::async_read(stream, buffer, parser,
                   [&](const error_code& error, size_t) { attempt.error = error; });
  run_started_operations();
  attempt.received_nothing = !parser.got_some() && buffer.size() == 0;
  if (!attempt.error)
    attempt.response = convert_response(parser.get());
  return attempt;
}

Attempt HttpClient::Impl::exchange(const HttpRequest& request) {
  return tls_stream ? exchange(*tls_stream, request) : exchange(*plain_stream, request);
}

Status HttpClient::Impl::attempt_failure(const Attempt& attempt) const {
  if (attempt.error == beast::error::timeout)
    return timed_out("request to");
  if (attempt.error.category() == make_error_code(http::error::bad_target).category() &&
      attempt.error != http::error::end_of_stream &&
      attempt.error != http::error::partial_message) {
    return {Code::io_error, fmt::format("{} sent a malformed HTTP response: {}", address(),
                                        attempt.error.message())};
  }
  return {Code::io_error,
          fmt::format("request to {} failed: {}", address(), attempt.error.message())};
}

Result<HttpResponse> HttpClient::Impl::send(const HttpRequest& request) {
  if (!tls_setup_status.ok())
    return tls_setup_status;
  if (request.method.empty() || request.target.empty()) {
    return Status(Code::invalid_argument, "an HTTP request needs a method and a target");
  }
  deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.timeout_ms);
  const bool reused = connected();
  if (!reused) {
    Status connected_status = connect();
    if (!connected_status.ok()) {
      disconnect();
      return connected_status;
    }
  }
  Attempt attempt = exchange(request);
  if (attempt.error && reused && attempt.received_nothing &&
      attempt.error != beast::error::timeout) {
    // The server closed the idle connection before it saw this request.
    disconnect();
    Status connected_status = connect();
    if (!connected_status.ok()) {
      disconnect();
      return connected_status;
    }
    attempt = exchange(request);
  }
  if (attempt.error) {
    disconnect();
    return attempt_failure(attempt);
  }
  if (attempt.response->close)
    disconnect();
  return std::move(*attempt.response);
}

HttpClient::HttpClient(HttpClientOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

HttpClient::~HttpClient() = default;

Result<HttpResponse> HttpClient::send(const HttpRequest& request) {
  return impl_->send(request);
}

}  // namespace ringkv::net
