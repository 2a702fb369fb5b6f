// Plain HTTP request and response values exchanged between the HTTP server
// (Boost.Beast, confined to src/net) and the request handlers above it.
//
// Keeping Beast's types out of this interface keeps its templates out of every
// other translation unit (faster builds) and makes handlers pure
// functions of a request that tests can call directly.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringkv::net {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method;  // upper case, e.g. "GET"
  std::string target;  // as sent: path plus optional "?query", still percent-encoded
  std::vector<HttpHeader> headers;
  std::string body;

  // The first header named `name` (case-insensitive), or std::nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<HttpHeader> headers;  // Content-Length is added by the server
  std::string body;
  bool close = false;  // close the connection after this response

  // The first header named `name` (case-insensitive), or std::nullopt.
  std::optional<std::string_view> header(std::string_view name) const;
};

// Case-insensitive ASCII comparison of header names.
bool header_name_equals(std::string_view left, std::string_view right);

// Percent-encodes one path segment (RFC 3986 unreserved characters pass as is).
std::string percent_encode(std::string_view segment);
// Decodes %XX escapes ('+' is not special in paths); std::nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view segment);

namespace detail {
struct ResponderTicket;
}

// Completes a request that a handler answers later. Call exactly once, on the
// thread that runs the server's EventLoop. Safe to call after the client has
// gone away (the response is then dropped). A copy costs one reference
// count, no allocation (a std::function around a shared ticket cost one per
// copy, and a GET's answer passed through several copies on its way back).
class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<detail::ResponderTicket> ticket)
      : ticket_(std::move(ticket)) {}
  void operator()(HttpResponse response) const;
  explicit operator bool() const { return ticket_ != nullptr; }

 private:
  std::shared_ptr<detail::ResponderTicket> ticket_;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Called on the event-loop thread for each complete request. Returns the
  // response now, or std::nullopt after keeping a copy of `respond` to call later.
  virtual std::optional<HttpResponse> handle(HttpRequest& request, const Responder& respond) = 0;
  // Called with each answer given through a Responder (not with those
  // handle() returned), just before it is written; for the handler's counts.
  virtual void answered_later(const HttpResponse& /*response*/) {}
};

}  // namespace ringkv::net
