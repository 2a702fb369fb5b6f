// HttpApi: the client API v1 (README.md, "API (v1)"), as a pure mapping from HTTP
// requests to ClusterNode calls and back.
//
//   PUT    /v1/stores/{store}              create (201), identical exists (200), 409, 400
//   GET    /v1/stores/{store}, /v1/stores  store config(s), JSON
//   PUT    /v1/stores/{store}/keys/{key}   body = value, optional X-Context -> 204 + X-Context
//   GET    /v1/stores/{store}/keys/{key}   200 value | 300 JSON siblings | 404 (+X-Context
//                                          when a tombstone exists); Accept: application/json
//                                          always gives the JSON form
//   DELETE /v1/stores/{store}/keys/{key}   optional X-Context -> 204 + X-Context
//   GET    /v1/cluster, /healthz, /metrics, /v1/stores/{store}/merkle
//   GET    /v1/tokens, POST /v1/tokens, DELETE /v1/tokens/{id}   (token_api.cpp)
//
// Once the cluster holds API tokens (server/api_auth.h), every path but
// /healthz and /metrics needs one: 401 without a valid token, 403 when the
// token may not do what the request asks (admin: everything; a read token:
// its store's config and keys; a write token: also put and delete there).
//
// Every error is JSON {"error": code, "message": what happened and what to do},
// 4xx for the client's mistakes, 503 (with Retry-After) when the node cannot
// take writes now. Keys are percent-decoded path segments of 1..1024 bytes.
//
// Thread safety: runs on the loop thread (the HttpServer's handler thread).
#pragma once

#include <cstdint>
#include <string>

#include "net/http_types.h"
#include "net/peer_transport.h"
#include "server/api_auth.h"
#include "server/cluster_node.h"

namespace ringkv {

struct ApiOptions {
  size_t value_bytes_max = 1024 * 1024;
  std::string node_id;
  std::string zone;
  uint32_t capacity = 1;
  std::string http_address;  // as clients reach it, for /v1/cluster
  std::string peer_address;
};

class HttpApi final : public net::HttpHandler {
 public:
  explicit HttpApi(ApiOptions options);
  // Requests are answered 503 ("starting") until a node is attached.
  void attach(ClusterNode& node) { node_ = &node; }
  // The peer transport whose counters /metrics reports.
  void attach_peers(const net::PeerTransport& peers) { peers_ = &peers; }
  std::optional<net::HttpResponse> handle(net::HttpRequest& request,
                                          const net::Responder& respond) override;
  void answered_later(const net::HttpResponse& response) override;

  struct Stats {
    uint64_t requests = 0;
    uint64_t responses_2xx = 0;
    uint64_t responses_3xx = 0;
    uint64_t responses_4xx = 0;
    uint64_t responses_5xx = 0;
    uint64_t auth_refused = 0;  // 401 and 403 answers
  };
  const Stats& stats() const { return stats_; }

 private:
  std::optional<net::HttpResponse> route(net::HttpRequest& request, const net::Responder& respond);
  // The 401 or 403 answer when the request may not have `access`, else nullopt.
  std::optional<net::HttpResponse> refuse(const net::HttpRequest& request, const Access& access);
  // /v1/tokens and /v1/tokens/{id} (token_api.cpp).
  std::optional<net::HttpResponse> tokens(const net::HttpRequest& request, std::string_view id,
                                          const net::Responder& respond);
  std::optional<net::HttpResponse> handle_store(const net::HttpRequest& request,
                                                std::string_view store,
                                                const net::Responder& respond);
  net::HttpResponse list_stores();
  std::optional<net::HttpResponse> get_key(const net::HttpRequest& request, std::string_view store,
                                           std::string key, const net::Responder& respond);
  std::optional<net::HttpResponse> put_key(net::HttpRequest& request, std::string_view store,
                                           std::string key, bool tombstone,
                                           const net::Responder& respond);
  // The cluster part (cluster_api.cpp).
  net::HttpResponse cluster();
  std::optional<net::HttpResponse> cluster_change(const net::HttpRequest& request, bool cancel,
                                                  const net::Responder& respond);
  net::HttpResponse healthz();
  net::HttpResponse metrics();
  // GET /v1/stores/{store}/merkle: the Merkle root of each partition this
  // node replicates (replicas in sync report equal roots).
  net::HttpResponse merkle_roots(std::string_view store);
  void count(int status);

  ClusterNode* node_ = nullptr;
  const net::PeerTransport* peers_ = nullptr;
  ApiOptions options_;
  Stats stats_;
};

}  // namespace ringkv
