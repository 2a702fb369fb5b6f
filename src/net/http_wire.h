// The HTTP wire details of the server: turning Beast's parsed request into an
// HttpRequest, writing a response's status line and headers by hand, and the
// JSON error responses the server itself gives (431, 413, 400, 500, 503).
//
// Writing the head here rather than with Beast's serializer: its
// buffer-sequence machinery cost more CPU than the rest of a small GET
// (~63k to ~90k requests/s on one core when replaced).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "net/http_server.h"
#include "net/http_types.h"

namespace ringkv::net::detail {

// A JSON error response {"error": code, "message": message}.
HttpResponse error_response(int status, std::string_view code, std::string_view message);
// The response to a request that could not be read, or std::nullopt when the
// connection should just close (the client left or stalled).
std::optional<HttpResponse> read_error_response(const boost::system::error_code& error,
                                                const HttpServerOptions& options);
// 500: the handler threw.
HttpResponse internal_error_response();
// Moves the parsed request into `request` (storage reused per connection).
void fill_request(boost::beast::http::request<boost::beast::http::string_body>& message,
                  HttpRequest& request);
// `status` if it is a valid HTTP status (100..599), else 500.
unsigned checked_status(int status);

// How a response is framed on the wire.
struct Framing {
  unsigned version;  // 10 or 11, as the request
  bool keep_alive;
  bool head_request;  // announce the length, send no body
};

// Writes the status line and headers of `response` into `head`.
void serialize_head(const HttpResponse& response, const Framing& framing, std::string& head);

}  // namespace ringkv::net::detail
