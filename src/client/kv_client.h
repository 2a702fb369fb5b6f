// KvClient: the ringkv client API v1 in C++ (used by the CLI, the bench tool
// and tests). One HTTP(S) connection, kept alive; blocking calls.
//
// Every call returns the decoded result or a Status whose message carries the
// server's JSON error ("HTTP 409 store_config_conflict: ..."), mapped to a Code:
// 400 -> invalid_argument, 404 -> not_found, 409 -> already_exists,
// 413/431 -> too_large, 503 -> unavailable, 401/403 -> permission_denied,
// others -> internal; transport
// failures come from HttpClient (unavailable).
//
// Thread safety: one instance per thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/store_config.h"
#include "net/http_client.h"

namespace ringkv {

// "http://host:port" or "https://host:port" -> client options (TLS on for https).
Result<net::HttpClientOptions> parse_server_url(std::string_view url);

struct GetResult {
  bool found = false;   // at least one live (not deleted) version
  std::string context;  // empty when the key never existed
  // Every returned version; std::nullopt marks a delete that is concurrent with a value.
  std::vector<std::optional<std::string>> siblings;
};

class KvClient {
 public:
  explicit KvClient(net::HttpClientOptions options);

  // Stores `value`; returns the new context. `context` empty = blind put.
  Result<std::string> put(std::string_view store, std::string_view key, std::string value,
                          std::string_view context = {});
  Result<GetResult> get(std::string_view store, std::string_view key);
  // Writes a tombstone; returns the new context.
  Result<std::string> remove(std::string_view store, std::string_view key,
                             std::string_view context = {});

  // Returns the store's JSON and whether it was created now (false: identical existed).
  Result<std::pair<std::string, bool>> create_store(std::string_view name,
                                                    const StoreConfig& config);
  Result<std::string> show_store(std::string_view name);  // JSON
  Result<std::string> list_stores();                      // JSON
  Result<std::string> cluster();                          // JSON
  // POST /v1/cluster/changes (`change` is its JSON body; see cluster_api.cpp)
  // or, with `cancel`, /v1/cluster/changes/cancel; the answer's JSON.
  Result<std::string> change_cluster(std::string change, bool dry_run, bool cancel = false);
  // POST /v1/tokens (`body` is its JSON; see server/token_api.cpp): the new
  // token's JSON, secret included. GET /v1/tokens; DELETE /v1/tokens/{id}.
  Result<std::string> create_token(std::string body);
  Result<std::string> list_tokens();
  Result<std::string> revoke_token(std::string_view id);

  // Sends any request (tests and tools); no status mapping.
  Result<net::HttpResponse> send(net::HttpRequest request);

 private:
  // PUT or DELETE of a key; the new context of a 204, else the error.
  Result<std::string> write_key(std::string method, std::string_view store, std::string_view key,
                                std::string body, std::string_view context);
  // GET `target`; the body of a 200, else the error.
  Result<std::string> get_json(std::string target);

  net::HttpClient http_;
};

// Turns a non-success response into a Status as described above.
Status response_error(const net::HttpResponse& response);

}  // namespace ringkv
