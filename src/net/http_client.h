// HttpClient: a small blocking HTTP/1.1 (and HTTPS) client on Boost.Beast, for
// the CLI, the bench tool and tests. One keep-alive connection, reopened when
// the server closes it.
//
// Thread safety: one instance per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "net/http_types.h"

namespace ringkv::net {

struct HttpClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  bool tls = false;
  std::string ca_file;           // PEM bundle to verify the server; empty = system default paths
  bool insecure = false;         // skip certificate verification (self-signed test certificates)
  uint32_t timeout_ms = 30'000;  // per request: connect + write + read
  // Sent as "Authorization: Bearer <token>" with every request that carries
  // no Authorization header of its own; empty: none.
  std::string bearer_token;
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and waits for its response. `request.target` is sent as
  // is (the caller percent-encodes). Fails with unavailable/io_error when the
  // server cannot be reached, the TLS handshake fails, or the deadline passes.
  Result<HttpResponse> send(const HttpRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::net
