// HttpServer: HTTP/1.1 (and HTTPS) front door of a node, on Boost.Beast.
//
// Each connection is one coroutine: read a request, hand it to the handler,
// write the response, repeat while keep-alive holds (the Beast awaitable
// example's shape). Limits are enforced here, before any handler runs:
//   - headers over header_bytes_max        -> 431, connection closed
//   - a body over body_bytes_max           -> 413, connection closed
//   - more than connections_max open       -> 503 with Retry-After, closed
//   - a request not read (or a response not written) within request_timeout_ms,
//     or a TLS handshake not finished in that time -> connection closed
// Error bodies are JSON {"error": ..., "message": ...} like every API error.
//
// With tls_cert_file and tls_key_file set the server speaks only TLS 1.2/1.3;
// a plain-HTTP request to it fails the handshake and is closed, never crashes.
//
// Thread safety: construct, start and stop on the EventLoop's thread (or before
// it runs); handlers are called on that thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/limits.h"
#include "common/status.h"
#include "net/event_loop.h"
#include "net/http_types.h"

namespace ringkv::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;          // 0 picks a free port; see HttpServer::port()
  std::string tls_cert_file;  // PEM; empty = plain HTTP
  std::string tls_key_file;   // PEM
  size_t connections_max = kConnectionsMaxDefault;
  size_t header_bytes_max = kHeaderBytesMaxDefault;
  size_t body_bytes_max = kValueBytesMaxDefault;
  uint32_t request_timeout_ms = kRequestTimeoutMsDefault;
};

class HttpServer {
 public:
  // Binds and listens. Fails with a message naming the file when a TLS
  // certificate or key cannot be loaded, or naming the address when it cannot bind.
  static Result<std::unique_ptr<HttpServer>> start(EventLoop& loop, HttpHandler& handler,
                                                   const HttpServerOptions& options);
  virtual ~HttpServer() = default;

  virtual uint16_t port() const = 0;
  virtual bool tls() const = 0;
  virtual size_t open_connections() const = 0;
  // Stops accepting and closes open connections.
  virtual void stop() = 0;
  // Reads the certificate and key files again (SIGHUP): new connections use
  // them, open ones keep theirs. On error nothing changes and the error says why.
  virtual Status reload_tls() = 0;
};

}  // namespace ringkv::net
