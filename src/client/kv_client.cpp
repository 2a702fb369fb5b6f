#include "client/kv_client.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <charconv>

#include "common/base64url.h"

namespace ringkv {
namespace {

namespace json = boost::json;

std::string key_target(std::string_view store, std::string_view key) {
  return "/v1/stores/" + net::percent_encode(store) + "/keys/" + net::percent_encode(key);
}

}  // namespace

Result<net::HttpClientOptions> parse_server_url(std::string_view url) {
  net::HttpClientOptions options;
  auto bad = [&] {
    return Status(Code::invalid_argument,
                  fmt::format("'{}' is not a server URL like http://127.0.0.1:8080", url));
  };
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
    options.tls = true;
  } else {
    return bad();
  }
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  const size_t colon = rest.rfind(':');
  const size_t bracket = rest.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    options.host.assign(rest);
    options.port = options.tls ? 443 : 80;
  } else {
    options.host.assign(rest.substr(0, colon));
    const std::string_view port = rest.substr(colon + 1);
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return bad();
    }
    options.port = static_cast<uint16_t>(value);
  }
  if (options.host.size() >= 2 && options.host.front() == '[') {
    options.host = options.host.substr(1, options.host.size() - 2);
  }
  if (options.host.empty())
    return bad();
  return options;
}

Status response_error(const net::HttpResponse& response) {
  std::string code = "error";
  std::string message = response.body;
  boost::system::error_code parse_error;
  const json::value parsed = json::parse(response.body, parse_error);
  if (!parse_error && parsed.is_object()) {
    const auto& object = parsed.as_object();
    if (const auto* found = object.if_contains("error"); found && found->is_string()) {
      code = std::string(found->as_string());
    }
    if (const auto* found = object.if_contains("message"); found && found->is_string()) {
      message = std::string(found->as_string());
    }
  }
  Code mapped = Code::internal;
  switch (response.status) {
    case 400:
      mapped = Code::invalid_argument;
      break;
    case 404:
      mapped = Code::not_found;
      break;
    case 409:
      mapped = Code::already_exists;
      break;
    case 413:
    case 431:
      mapped = Code::too_large;
      break;
    case 401:
    case 403:
      mapped = Code::permission_denied;
      break;
    case 503:
      mapped = Code::unavailable;
      break;
    default:
      break;
  }
  return {mapped, fmt::format("HTTP {} {}: {}", response.status, code, message)};
}

KvClient::KvClient(net::HttpClientOptions options) : http_(std::move(options)) {}

Result<net::HttpResponse> KvClient::send(net::HttpRequest request) {
  return http_.send(request);
}

Result<std::string> KvClient::put(std::string_view store, std::string_view key, std::string value,
                                  std::string_view context) {
  return write_key("PUT", store, key, std::move(value), context);
}

Result<std::string> KvClient::remove(std::string_view store, std::string_view key,
                                     std::string_view context) {
  return write_key("DELETE", store, key, {}, context);
}

Result<std::string> KvClient::write_key(std::string method, std::string_view store,
                                        std::string_view key, std::string body,
                                        std::string_view context) {
  net::HttpRequest request{std::move(method), key_target(store, key), {}, std::move(body)};
  if (!context.empty())
    request.headers.push_back({"X-Context", std::string(context)});
  auto response = http_.send(request);
  if (!response.ok())
    return response.status();
  if (response->status != 204)
    return response_error(*response);
  return std::string(response->header("X-Context").value_or(""));
}

Result<GetResult> KvClient::get(std::string_view store, std::string_view key) {
  net::HttpRequest request{"GET", key_target(store, key), {{"Accept", "application/json"}}, {}};
  auto response = http_.send(request);
  if (!response.ok())
    return response.status();
  GetResult result;
  result.context = std::string(response->header("X-Context").value_or(""));
  if (response->status == 404) {
    const Status error = response_error(*response);
    if (error.message().find("key_not_found") == std::string::npos)
      return error;
    return result;
  }
  if (response->status != 200 && response->status != 300)
    return response_error(*response);
  boost::system::error_code parse_error;
  const json::value parsed = json::parse(response->body, parse_error);
  const json::object* object = parse_error ? nullptr : parsed.if_object();
  const json::value* siblings = object ? object->if_contains("siblings") : nullptr;
  if (siblings == nullptr || !siblings->is_array()) {
    return Status(Code::internal, "server sent a malformed sibling list: " + response->body);
  }
  for (const json::value& sibling : siblings->as_array()) {
    const json::object* entry = sibling.if_object();
    const json::value* value = entry ? entry->if_contains("value") : nullptr;
    if (value && value->is_string()) {
      auto decoded = base64_decode(std::string_view(value->as_string()));
      if (!decoded)
        return Status(Code::internal, "server sent a value that is not base64");
      result.siblings.emplace_back(std::move(*decoded));
      result.found = true;
    } else {
      result.siblings.emplace_back(std::nullopt);
    }
  }
  return result;
}

Result<std::pair<std::string, bool>> KvClient::create_store(std::string_view name,
                                                            const StoreConfig& config) {
  const json::object body{{"n", config.n},
                          {"r", config.r},
                          {"w", config.w},
                          {"quorum", to_string(config.quorum)},
                          {"conflicts", to_string(config.conflicts)},
                          {"durability", to_string(config.durability)}};
  net::HttpRequest request{"PUT",
                           "/v1/stores/" + net::percent_encode(name),
                           {{"Content-Type", "application/json"}},
                           json::serialize(body)};
  auto response = http_.send(request);
  if (!response.ok())
    return response.status();
  if (response->status != 200 && response->status != 201)
    return response_error(*response);
  return std::make_pair(response->body, response->status == 201);
}

Result<std::string> KvClient::get_json(std::string target) {
  auto response = http_.send({"GET", std::move(target), {}, {}});
  if (!response.ok())
    return response.status();
  if (response->status != 200)
    return response_error(*response);
  return response->body;
}

Result<std::string> KvClient::show_store(std::string_view name) {
  return get_json("/v1/stores/" + net::percent_encode(name));
}

Result<std::string> KvClient::list_stores() {
  return get_json("/v1/stores");
}

Result<std::string> KvClient::change_cluster(std::string change, bool dry_run, bool cancel) {
  std::string target = cancel ? "/v1/cluster/changes/cancel" : "/v1/cluster/changes";
  if (dry_run)
    target += "?dry_run=true";
  auto response = http_.send(
      {"POST", std::move(target), {{"Content-Type", "application/json"}}, std::move(change)});
  if (!response.ok())
    return response.status();
  if (response->status != 200)
    return response_error(*response);
  return response->body;
}

Result<std::string> KvClient::cluster() {
  return get_json("/v1/cluster");
}

Result<std::string> KvClient::create_token(std::string body) {
  auto response =
      http_.send({"POST", "/v1/tokens", {{"Content-Type", "application/json"}}, std::move(body)});
  if (!response.ok())
    return response.status();
  if (response->status != 201)
    return response_error(*response);
  return response->body;
}

Result<std::string> KvClient::list_tokens() {
  return get_json("/v1/tokens");
}

Result<std::string> KvClient::revoke_token(std::string_view id) {
  auto response = http_.send({"DELETE", "/v1/tokens/" + net::percent_encode(id), {}, {}});
  if (!response.ok())
    return response.status();
  if (response->status != 200)
    return response_error(*response);
  return response->body;
}

}  // namespace ringkv
