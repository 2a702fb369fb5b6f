// The flags every client command shares (`put`, `get`, `store`, `cluster`,
// `token`, `bench`): the node to talk to, TLS verification, the deadline and
// the API token, and the HTTP client options they make.
//
// Thread safety: plain values and pure functions (client_options reads the
// token file).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "common/status.h"
#include "net/http_client.h"

namespace ringkv {

struct ClientFlags {
  std::string server = "http://127.0.0.1:8080";
  std::string cacert;
  bool insecure = false;
  uint32_t timeout_ms = 30'000;
  std::string token;
  std::string token_file;
};

// Registers the flags (with their RINGKV_* environment variables) on `command`.
void add_client_flags(CLI::App& command, ClientFlags& flags);

// The HTTP client options for `flags`: the server URL parsed, the token
// (from --token-file when given) as the bearer token; the error names what
// is wrong.
Result<net::HttpClientOptions> client_options(const ClientFlags& flags);

}  // namespace ringkv
