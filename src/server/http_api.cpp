// The client API v1 (see http_api.h): routing and authorization, stores,
// keys, Merkle roots and /healthz (the cluster and token paths are in
// cluster_api.cpp and token_api.cpp, /metrics in http_api_metrics.cpp).
#include "server/http_api.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <cmath>
#include <map>

#include "common/base64url.h"
#include "common/limits.h"
#include "server/api_bodies.h"
#include "server/http_json.h"
#include "server/http_path.h"
#include "version/context.h"

namespace ringkv {
namespace {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;

// Maps a Status from the node to an HTTP error.
HttpResponse status_response(const Status& status) {
  switch (status.code()) {
    case Code::invalid_argument:
      return error_response(400, "invalid_argument", status.message());
    case Code::not_found:
      return error_response(404, "store_not_found", status.message());
    case Code::already_exists:
      return error_response(409, "store_config_conflict", status.message());
    case Code::too_large:
      return error_response(413, "too_large", status.message());
    case Code::unavailable:
      return error_response(503, "unavailable", status.message());
    case Code::overloaded:
      return error_response(503, "overloaded", status.message());
    case Code::corruption:
      return error_response(500, "corruption", status.message());
    default:
      return error_response(500, std::string(code_name(status.code())), status.message());
  }
}

json::object store_json(const StoreEntry& store) {
  json::array promises;
  for (const std::string& line : guarantees(store.config))
    promises.emplace_back(line);
  json::object out{{"name", store.name}};
  for (const auto& field : store_config_json(store.config))
    out.emplace(field.key(), field.value());
  out.emplace("guarantees", std::move(promises));
  return out;
}

bool wants_json(const HttpRequest& request) {
  const auto accept = request.header("Accept");
  return accept && accept->find("application/json") != std::string_view::npos;
}

}  // namespace

HttpApi::HttpApi(ApiOptions options) : options_(std::move(options)) {}

void HttpApi::count(int status) {
  if (status < 300) {
    ++stats_.responses_2xx;
  } else if (status < 400) {
    ++stats_.responses_3xx;
  } else if (status < 500) {
    ++stats_.responses_4xx;
  } else {
    ++stats_.responses_5xx;
  }
}

std::optional<HttpResponse> HttpApi::handle(HttpRequest& request, const net::Responder& respond) {
  ++stats_.requests;
  auto response =
      node_ != nullptr
          ? route(request, respond)
          : std::optional<HttpResponse>(error_response(
                503, "starting", "this node is starting or joining its cluster; retry"));
  if (response)
    count(response->status);
  return response;
}

// A later answer (through the Responder) is counted as it is written.
void HttpApi::answered_later(const HttpResponse& response) {
  count(response.status);
}

std::optional<HttpResponse> HttpApi::refuse(const HttpRequest& request, const Access& access) {
  const std::vector<ApiToken>& tokens = node_->tokens();
  if (tokens.empty())
    return std::nullopt;  // (the common case of an open cluster costs no header lookup)
  AuthDecision decision = authorize(tokens, request.header("Authorization"), access);
  if (decision.status == 0)
    return std::nullopt;
  ++stats_.auth_refused;
  HttpResponse response = error_response(decision.status, decision.code, decision.message);
  if (decision.status == 401)
    response.headers.push_back({"WWW-Authenticate", "Bearer realm=\"ringkv\""});
  return response;
}

std::optional<HttpResponse> HttpApi::route(HttpRequest& request, const net::Responder& respond) {
  const PathSegments path = path_segments(request.target);
  const auto& segments = path.segment;
  const std::string& method = request.method;
  if (path.count == 1 && segments[0] == "healthz")
    return healthz();
  if (path.count == 1 && segments[0] == "metrics")
    return metrics();
  if (path.count < 2 || segments[0] != "v1") {
    return error_response(404, "no_such_path",
                          "unknown path; the API lives under /v1/stores and /v1/cluster");
  }
  using Kind = Access::Kind;
  if (path.count == 2 && segments[1] == "cluster") {
    if (auto refused = refuse(request, {Kind::any, {}}))
      return refused;
    return method == "GET" ? cluster() : method_not_allowed("GET");
  }
  if (segments[1] == "cluster" && (path.count == 3 || path.count == 4) &&
      segments[2] == "changes") {
    if (auto refused = refuse(request, {Kind::admin, {}}))
      return refused;
    if (path.count == 3) {
      return method == "POST" ? cluster_change(request, /*cancel=*/false, respond)
                              : method_not_allowed("POST");
    }
    if (segments[3] == "cancel") {
      return method == "POST" ? cluster_change(request, /*cancel=*/true, respond)
                              : method_not_allowed("POST");
    }
  }
  if (segments[1] == "tokens" && path.count <= 3)
    return tokens(request, path.count == 3 ? segments[2] : std::string_view(), respond);
  if (segments[1] != "stores") {
    return error_response(404, "no_such_path",
                          "unknown path; see /v1/stores, /v1/cluster and /v1/tokens");
  }
  if (path.count == 2) {
    if (auto refused = refuse(request, {Kind::any, {}}))
      return refused;
    return method == "GET" ? list_stores() : method_not_allowed("GET");
  }
  std::string store_storage;
  const auto store = decode_segment(segments[2], store_storage);
  if (!store)
    return error_response(400, "invalid_store_name", "malformed percent-escape in the store name");
  if (path.count == 3) {
    const Access access{method == "GET" ? Kind::read : Kind::admin, *store};
    if (auto refused = refuse(request, access))
      return refused;
    return handle_store(request, *store, respond);
  }
  if (path.count == 4 && segments[3] == "merkle") {
    if (auto refused = refuse(request, {Kind::read, *store}))
      return refused;
    if (method != "GET")
      return method_not_allowed("GET");
    return merkle_roots(*store);
  }
  if (path.count != 5 || segments[3] != "keys") {
    return error_response(404, "no_such_path",
                          "unknown path; keys live at /v1/stores/{store}/keys/{key} (encode '/' in "
                          "a key as %2F)");
  }
  std::string key_storage;
  const auto key = decode_segment(segments[4], key_storage);
  if (!key)
    return error_response(400, "invalid_key", "malformed percent-escape in the key");
  if (auto refused = refuse(request, {method == "GET" ? Kind::read : Kind::write, *store}))
    return refused;
  if (key->empty() || key->size() > kKeyBytesMax) {
    return error_response(key->empty() ? 400 : 413, key->empty() ? "invalid_key" : "key_too_large",
                          fmt::format("a key must be 1 to {} bytes after percent-decoding, got {}",
                                      kKeyBytesMax, key->size()));
  }
  if (method == "GET")
    return get_key(request, *store, std::string(*key), respond);
  if (method == "PUT")
    return put_key(request, *store, std::string(*key), false, respond);
  if (method == "DELETE")
    return put_key(request, *store, std::string(*key), true, respond);
  return method_not_allowed("GET, PUT, DELETE");
}

std::optional<HttpResponse> HttpApi::handle_store(const HttpRequest& request,
                                                  std::string_view store,
                                                  const net::Responder& respond) {
  if (request.method == "GET") {
    const StoreEntry* entry = node_->catalog().find(store);
    if (entry == nullptr) {
      return status_response(
          Status(Code::not_found, "no store named '" + std::string(store) + "'"));
    }
    return json_response(200, store_json(*entry));
  }
  if (request.method != "PUT")
    return method_not_allowed("GET, PUT");
  StoreConfig config;
  std::string error;
  if (!parse_store_config(request.body, config, error)) {
    return error_response(400, "invalid_store_config", error);
  }
  if (Status name = validate_store_name(store); !name.ok()) {
    return error_response(400, "invalid_store_name", name.message());
  }
  if (Status valid = validate(config); !valid.ok()) {
    return error_response(400, "invalid_store_config", valid.message());
  }
  node_->create_store(store, config, [respond](CreateStoreDone done) {
    if (!done.status.ok()) {
      respond(status_response(done.status));
      return;
    }
    respond(json_response(done.created ? 201 : 200, store_json(*done.store)));
  });
  return std::nullopt;
}

HttpResponse HttpApi::list_stores() {
  json::array stores;
  for (const StoreEntry* entry : node_->catalog().list())
    stores.push_back(store_json(*entry));
  return json_response(200, json::object{{"stores", std::move(stores)}});
}

namespace {

// The response to a read of a key: its value, its siblings, or 404.
HttpResponse key_response(bool json, SiblingSet& read, const StoreEntry& store) {
  const SiblingSet* set = &read;
  const bool exists = !set->empty();
  std::string context = exists ? encode_context(set->client_context()) : std::string();
  // The common case, one live value as raw bytes, without building the list
  // (with a single version, it is also the lww winner): the value moves.
  if (!json) {
    if (std::optional<std::string> only = read.take_only_value()) {
      HttpResponse response;
      response.status = 200;
      response.headers.reserve(2);
      response.headers.push_back({"Content-Type", "application/octet-stream"});
      response.headers.push_back({"X-Context", std::move(context)});
      response.body = std::move(*only);
      return response;
    }
  }
  std::vector<Sibling> siblings = set->siblings();
  if (store.config.conflicts == ConflictMode::lww && !siblings.empty()) {
    siblings = {*set->lww_winner()};
  }
  bool any_live = false;
  for (const Sibling& sibling : siblings)
    any_live = any_live || !sibling.version->tombstone;
  if (!any_live) {
    HttpResponse response = error_response(
        404, "key_not_found",
        exists ? "the key was deleted; X-Context covers the delete" : "no such key in this store");
    if (exists)
      response.headers.push_back({"X-Context", context});
    return response;
  }
  if (siblings.size() == 1 && !json) {
    HttpResponse response;
    response.status = 200;
    response.headers.push_back({"Content-Type", "application/octet-stream"});
    response.headers.push_back({"X-Context", context});
    response.body = siblings[0].version->value;
    return response;
  }
  json::array listed;
  for (const Sibling& sibling : siblings) {
    if (sibling.version->tombstone) {
      listed.push_back(json::object{{"deleted", true}});
    } else {
      listed.push_back(json::object{{"value", base64_encode(sibling.version->value)}});
    }
  }
  HttpResponse response =
      json_response(siblings.size() == 1 ? 200 : 300,
                    json::object{{"context", context}, {"siblings", std::move(listed)}});
  response.headers.push_back({"X-Context", context});
  return response;
}

}  // namespace

std::optional<HttpResponse> HttpApi::get_key(const HttpRequest& request, std::string_view store,
                                             std::string key, const net::Responder& respond) {
  const bool json = wants_json(request);
  node_->get(store, std::move(key), [json, respond](GetReply reply) {
    if (!reply.status.ok()) {
      respond(status_response(reply.status));
      return;
    }
    respond(key_response(json, reply.set, *reply.store));
  });
  return std::nullopt;
}

std::optional<HttpResponse> HttpApi::put_key(HttpRequest& request, std::string_view store,
                                             std::string key, bool tombstone,
                                             const net::Responder& respond) {
  if (request.body.size() > options_.value_bytes_max) {
    return error_response(413, "value_too_large",
                          fmt::format("values are limited to {} bytes on this node, got {}",
                                      options_.value_bytes_max, request.body.size()));
  }
  if (tombstone && !request.body.empty()) {
    return error_response(400, "unexpected_body", "DELETE takes no body");
  }
  VersionVector seen;
  if (const auto token = request.header("X-Context"); token && !token->empty()) {
    auto decoded = decode_context(*token);
    if (!decoded.ok())
      return error_response(400, "invalid_context", decoded.status().message());
    seen = std::move(decoded).value();
  }
  Version version;
  version.tombstone = tombstone;
  if (!tombstone)
    version.value = std::move(request.body);
#ifdef RINGKV_MUTANT_LOSE_PUTS
  // A deliberately broken node, to show that the nemesis checker catches a
  // lost acknowledged write: every tenth put is answered 204 and dropped.
  // Only a build configured with -DRINGKV_MUTANT=ON has it (never shipped).
  static uint64_t mutant_puts = 0;  // the loop thread's only
  if (!tombstone && ++mutant_puts % 10 == 0) {
    HttpResponse response;
    response.status = 204;
    response.headers.push_back({"X-Context", encode_context(seen)});
    return response;
  }
#endif
  node_->put(store, std::move(key), std::move(seen), std::move(version), [respond](PutReply reply) {
    if (!reply.status.ok()) {
      respond(status_response(reply.status));
      return;
    }
    HttpResponse response;
    response.status = 204;
    response.headers.push_back({"X-Context", encode_context(reply.context)});
    respond(std::move(response));
  });
  return std::nullopt;
}

HttpResponse HttpApi::merkle_roots(std::string_view store) {
  const StoreEntry* entry = node_->catalog().find(store);
  if (entry == nullptr)
    return status_response(Status(Code::not_found, "no store named '" + std::string(store) + "'"));
  json::array partitions;
  for (const auto& [partition, root] : node_->merkle_roots(*entry)) {
    partitions.push_back(
        json::object{{"partition", partition}, {"root", fmt::format("{:016x}", root)}});
  }
  const NodeCore::Counts counts = node_->store_counts(*entry);
  return json_response(200, json::object{{"node", options_.node_id},
                                         {"store", entry->name},
                                         {"keys", counts.keys},
                                         {"bytes", counts.bytes},
                                         {"partitions", std::move(partitions)}});
}

HttpResponse HttpApi::healthz() {
  const Status fence = node_->write_fence();
  if (!fence.ok()) {
    return json_response(503,
                         json::object{{"status", "refusing_writes"}, {"message", fence.message()}});
  }
  if (const Status space = node_->write_queue().refusing(); !space.ok()) {
    return json_response(503,
                         json::object{{"status", "refusing_writes"}, {"message", space.message()}});
  }
  if (const NodeCore::RecoveryView recovery = node_->recovery(); recovery.recovering) {
    // Up (it takes writes and coordinates), but its own copies do not serve
    // reads yet: 200, with the state and progress for whoever looks.
    return json_response(200, json::object{{"status", "recovering"},
                                           {"partitions_done", recovery.partitions_done},
                                           {"partitions_total", recovery.partitions_total}});
  }
  return json_response(200, json::object{{"status", "ok"}});
}

}  // namespace ringkv
