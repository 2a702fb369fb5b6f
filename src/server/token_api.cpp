// The token part of the HTTP API (see http_api.h; tokens: server/api_auth.h):
//   GET    /v1/tokens        the cluster's tokens (ids, scopes, stores, names,
//                            revoked or not; never a secret or its hash)
//   POST   /v1/tokens        {"scope":"admin"|"read"|"write","store":"s","name":"ci"}
//                            -> 201 {"token":"rkv_...", ...}: the only time the
//                            secret is shown
//   DELETE /v1/tokens/{id}   revoke -> 200
// All three need an admin token once the cluster has tokens. While it has
// none, anyone may create the first, which must be an admin token: it turns
// authentication on for the whole cluster.
#include <boost/json.hpp>

#include "server/api_bodies.h"
#include "server/http_api.h"
#include "server/http_json.h"

namespace ringkv {
namespace {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;

constexpr size_t kTokenBodyBytesMax = 64 * 1024;

json::object token_json(const ApiToken& token) {
  json::object out{{"id", token.id},
                   {"scope", to_string(token.scope)},
                   {"name", token.name},
                   {"revoked", token.revoked}};
  if (token.scope != TokenScope::admin)
    out["store"] = token.store;
  return out;
}

HttpResponse token_error(const Status& status) {
  switch (status.code()) {
    case Code::invalid_argument:
      return error_response(400, "invalid_token_change", status.message());
    case Code::not_found:
      return error_response(404, "token_not_found", status.message());
    case Code::already_exists:
      return error_response(409, "conflict", status.message());
    case Code::too_large:
      return error_response(413, "too_many_tokens", status.message());
    case Code::unavailable:
      return error_response(503, "unavailable", status.message());
    default:
      return error_response(500, std::string(code_name(status.code())), status.message());
  }
}

}  // namespace

std::optional<HttpResponse> HttpApi::tokens(const HttpRequest& request, std::string_view id,
                                            const net::Responder& respond) {
  const std::vector<ApiToken>& held = node_->tokens();
  const bool creating = id.empty() && request.method == "POST";
  // The first token of an open cluster may be created by anyone (everything
  // is open until then); it must be an admin token.
  if (!(creating && held.empty())) {
    if (auto refused = refuse(request, {Access::Kind::admin, {}}))
      return refused;
  }
  if (id.empty() && request.method == "GET") {
    json::array list;
    for (const ApiToken& token : held)
      list.push_back(token_json(token));
    return json_response(200,
                         json::object{{"required", !held.empty()}, {"tokens", std::move(list)}});
  }
  if (creating) {
    if (request.body.size() > kTokenBodyBytesMax)
      return error_response(413, "too_large", "a token request is at most 64 KiB");
    TokenRequest wanted;
    std::string error;
    if (!parse_token_request(request.body, wanted, error))
      return error_response(400, "invalid_token_request", error);
    if (held.empty() && wanted.scope != TokenScope::admin) {
      return error_response(400, "invalid_token_request",
                            "the cluster has no tokens yet: the first must be an admin token "
                            "(it turns authentication on; then create store tokens with it)");
    }
    auto issued = issue_token(wanted.scope, wanted.store, wanted.name);
    if (!issued.ok())
      return token_error(issued.status());
    TokenChange change;
    change.create = issued->entry;
    json::object shown = token_json(issued->entry);
    shown["token"] = issued->text;
    node_->change_tokens(change, [respond, shown = std::move(shown)](ClusterChangeDone done) {
      respond(done.status.ok() ? json_response(201, shown) : token_error(done.status));
    });
    return std::nullopt;
  }
  if (id.empty())
    return method_not_allowed("GET, POST");
  if (request.method != "DELETE")
    return method_not_allowed("DELETE");
  TokenChange change;
  change.revoke = std::string(id);
  node_->change_tokens(change, [respond, id = std::string(id)](ClusterChangeDone done) {
    respond(done.status.ok() ? json_response(200, json::object{{"id", id}, {"revoked", true}})
                             : token_error(done.status));
  });
  return std::nullopt;
}

}  // namespace ringkv
