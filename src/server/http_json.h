// JSON responses shared by the HTTP API's files (http_api.cpp,
// cluster_api.cpp): a body with its content type, and the error shape
// {"error": code, "message": sentence} (503s tell the client when to retry).
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "net/http_types.h"

namespace ringkv {

inline net::HttpResponse json_response(int status, const boost::json::value& body) {
  net::HttpResponse response;
  response.status = status;
  response.headers.push_back({"Content-Type", "application/json"});
  response.body = boost::json::serialize(body);
  return response;
}

inline net::HttpResponse error_response(int status, std::string_view code,
                                        std::string_view message) {
  net::HttpResponse response =
      json_response(status, boost::json::object{{"error", code}, {"message", message}});
  if (status == 503)
    response.headers.push_back({"Retry-After", "1"});
  return response;
}

inline net::HttpResponse method_not_allowed(std::string_view allowed) {
  net::HttpResponse response =
      error_response(405, "method_not_allowed", "this path accepts only " + std::string(allowed));
  response.headers.push_back({"Allow", std::string(allowed)});
  return response;
}

}  // namespace ringkv
