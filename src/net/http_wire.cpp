// See http_wire.h.
#include "net/http_wire.h"

#include <fmt/format.h>
#include <boost/beast/http/error.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <vector>

namespace ringkv::net::detail {

namespace http = boost::beast::http;
using error_code = boost::system::error_code;

static std::string json_escape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (char character : text) {
    if (character == '"' || character == '\\') {
      escaped.push_back('\\');
      escaped.push_back(character);
    } else if (static_cast<unsigned char>(character) < 0x20) {
      escaped += fmt::format("\\u{:04x}", static_cast<unsigned>(character));
    } else {
      escaped.push_back(character);
    }
  }
  return escaped;
}

// The JSON error every API error uses; always closes the connection.
HttpResponse error_response(int status, std::string_view code, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.headers.push_back({"Content-Type", "application/json"});
  response.body =
      fmt::format(R"({{"error":"{}","message":"{}"}})", json_escape(code), json_escape(message));
  response.close = true;
  return response;
}

static bool is_http_parse_error(const error_code& error) {
  return error.category() == make_error_code(http::error::bad_target).category();
}

// The response to a request that could not be read, or std::nullopt when the
// connection should just close (the client left or stalled).
std::optional<HttpResponse> read_error_response(const error_code& error,
                                                const HttpServerOptions& options) {
  if (error == http::error::header_limit) {
    return error_response(431, "header_too_large",
                          fmt::format("The request line and headers are over {} bytes; send "
                                      "fewer or shorter headers.",
                                      options.header_bytes_max));
  }
  if (error == http::error::body_limit) {
    return error_response(413, "value_too_large",
                          fmt::format("The request body is over {} bytes; store a value of at "
                                      "most that size.",
                                      options.body_bytes_max));
  }
  if (error == http::error::end_of_stream || error == http::error::partial_message ||
      !is_http_parse_error(error)) {
    return std::nullopt;
  }
  return error_response(
      400, "bad_request",
      fmt::format("The request is not valid HTTP/1.1 ({}); fix the client.", error.message()));
}

HttpResponse internal_error_response() {
  return error_response(500, "internal",
                        "The node failed while handling this request; retry, and report it "
                        "with the node's log if it persists.");
}

// Copies a parsed Beast request into `request`, reusing its strings' storage.
void fill_request(http::request<http::string_body>& message, HttpRequest& request) {
  const std::string_view method = message.method_string();
  request.method.assign(method.data(), method.size());
  for (char& character : request.method) {
    if (character >= 'a' && character <= 'z')
      character = static_cast<char>(character - 'a' + 'A');  // ASCII only, whatever the locale
  }
  const std::string_view target = message.target();
  request.target.assign(target.data(), target.size());
  size_t count = 0;
  for (const auto& field : message) {
    if (count == request.headers.size())
      request.headers.emplace_back();
    const std::string_view name = field.name_string();
    const std::string_view value = field.value();
    request.headers[count].name.assign(name.data(), name.size());
    request.headers[count].value.assign(value.data(), value.size());
    ++count;
  }
  request.headers.resize(count);
  request.body = std::move(message.body());
}

// A status outside 100..599 is a handler bug; the client sees a 500 instead.
unsigned checked_status(int status) {
  return status >= 100 && status <= 599 ? static_cast<unsigned>(status) : 500;
}

// True when `text` holds a CR, LF or NUL. First a test of eight bytes at a
// time for any byte below 14 (all three are; Bit Twiddling Hacks' "hasless":
// exact as a whole-word test for bounds up to 128), then, only for the rare
// header with such a control character, the exact test.
static bool breaks_line(std::string_view text) {
  constexpr uint64_t kOnes = 0x0101010101010101;
  constexpr uint64_t kHighBits = 0x8080808080808080;
  const char* bytes = text.data();
  size_t left = text.size();
  bool low = false;
  for (; left >= 8; bytes += 8, left -= 8) {
    uint64_t word;
    std::memcpy(&word, bytes, 8);
    low |= ((word - kOnes * 14) & ~word & kHighBits) != 0;
  }
  for (; left > 0; ++bytes, --left)
    low |= static_cast<unsigned char>(*bytes) < 14;
  if (!low)
    return false;
  for (const char character : text) {
    if (character == '\r' || character == '\n' || character == '\0')
      return true;
  }
  return false;
}

// A header the server writes itself, or one that would break the framing.
static bool skip_handler_header(const HttpHeader& header) {
  if (header.name.empty() || header_name_equals(header.name, "Content-Length") ||
      header_name_equals(header.name, "Connection") ||
      header_name_equals(header.name, "Transfer-Encoding")) {
    return true;
  }
  return breaks_line(header.name) || breaks_line(header.value);
}

// "HTTP/1.1 <status> <reason>\r\nServer: ringkv\r\n" for every status, made once
// (thread-safe static initialisation): most of a small response's head.
constexpr unsigned kStatusMin = 100;
constexpr unsigned kStatusMax = 599;
constexpr size_t kStatusLineMinorVersionAt = 7;  // the "1" of "HTTP/1.1"
constexpr std::string_view kContentLength = "Content-Length: ";
constexpr std::string_view kConnectionClose = "Connection: close\r\n";
constexpr std::string_view kConnectionKeepAlive = "Connection: keep-alive\r\n";
static const std::vector<std::string>& status_lines() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> made;
    for (unsigned status = kStatusMin; status <= kStatusMax; ++status) {
      made.push_back(
          fmt::format("HTTP/1.1 {} {}\r\nServer: ringkv\r\n", status,
                      std::string_view(http::obsolete_reason(static_cast<http::status>(status)))));
    }
    return made;
  }();
  return lines;
}

// Writes the status line and headers of `response` into `head` (storage reused
// per connection). Beast still parses requests, but its response serializer's
// buffer-sequence machinery cost more CPU than the rest of a small GET: writing
// the head here raised one core's rate from ~63k to ~90k requests/s (wrk, 32
// connections, 12-byte body; nginx on the same machine: ~100k).
void serialize_head(const HttpResponse& response, const Framing& framing, std::string& head) {
  // Two passes: which headers go out and how many bytes the head takes, then
  // one write into storage sized once (appending piece by piece checked the
  // capacity a dozen times per small response).
  const unsigned status = checked_status(response.status);
  const std::string& status_line = status_lines()[status - kStatusMin];
  constexpr size_t kKeptFlagsMax = 32;  // more headers take the same path, flags recomputed
  std::array<bool, kKeptFlagsMax> kept_flags;
  const std::vector<HttpHeader>& headers = response.headers;
  size_t size = status_line.size() + 2;  // the blank line
  std::optional<std::string_view> announced_length;
  for (size_t index = 0; index < headers.size(); ++index) {
    const HttpHeader& header = headers[index];
    if (header_name_equals(header.name, "Content-Length"))
      announced_length = header.value;
    const bool kept = !skip_handler_header(header);
    if (index < kKeptFlagsMax)
      kept_flags[index] = kept;
    if (kept)
      size += header.name.size() + 2 + header.value.size() + 2;
  }
  const bool bodiless = status < 200 || status == 204 || status == 304;
  std::string_view length_text;
  std::array<char, 24> digits;
  if (!bodiless) {
    // A HEAD response announces the length a GET would have, if the handler said.
    if (framing.head_request && announced_length &&
        std::all_of(announced_length->begin(), announced_length->end(),
                    [](char character) { return character >= '0' && character <= '9'; })) {
      length_text = *announced_length;
    } else {
      const auto [end, error] =
          std::to_chars(digits.data(), digits.data() + digits.size(), response.body.size());
      (void)error;  // 24 characters hold any size_t
      length_text = std::string_view(digits.data(), static_cast<size_t>(end - digits.data()));
    }
    size += kContentLength.size() + length_text.size() + 2;
  }
  const bool keep_alive = framing.keep_alive && !response.close;
  const std::string_view connection = !keep_alive             ? kConnectionClose
                                      : framing.version == 10 ? kConnectionKeepAlive
                                                              : std::string_view();
  size += connection.size();

  head.resize(size);
  char* out = head.data();
  auto put = [&out](std::string_view text) {
    if (text.empty())
      return;  // (an empty view's data() may be null, which memcpy must not get)
    std::memcpy(out, text.data(), text.size());
    out += text.size();
  };
  put(status_line);
  if (framing.version == 10)
    head[kStatusLineMinorVersionAt] = '0';
  for (size_t index = 0; index < headers.size(); ++index) {
    const HttpHeader& header = headers[index];
    if (index < kKeptFlagsMax ? !kept_flags[index] : skip_handler_header(header))
      continue;
    put(header.name);
    put(": ");
    put(header.value);
    put("\r\n");
  }
  if (!bodiless) {
    put(kContentLength);
    put(length_text);
    put("\r\n");
  }
  put(connection);
  put("\r\n");
}

}  // namespace ringkv::net::detail
