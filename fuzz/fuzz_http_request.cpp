// Fuzzes the server's reading of HTTP/1.1 requests: the bytes of one
// connection go through Beast's request_parser with the server's limits, fed
// as Session::read_request() feeds it (net/http_session.h: header first, the
// Content-Length check, then the body; the end of the input is the client
// closing; further requests on the same connection while keep-alive holds),
// each complete request through fill_request() (net/http_wire.h) into one
// HttpRequest reused as a connection reuses it, then its target through the
// API's path handling (server/http_path.h); a request that cannot be read
// gets read_error_response().
// Invariants: no crash; a read ends (no endless loop at the end of input); a
// request read has its header bytes (request line, fields and CRLFs, as the
// Session counts them: up to the first empty line) within the header limit
// and its body within the body limit, and its method, target and fields fit
// in those header bytes; the reused HttpRequest equals a fresh
// conversion; the bytes read give the same requests, and are refused at the
// same point, however the connection splits them; smaller limits only refuse
// (every request they let through is the one the server's limits read); the
// segments of a target are slices of its path that join back to it, and a
// decoded segment is never longer than the segment, re-encodes to itself, and
// is refused exactly when an escape is malformed.
//
// Input: [split][limits][connection bytes...]: `split` 0 delivers the bytes at
// once, else in pieces of that many; `limits` picks the smaller limits.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/limits.h"
#include "net/http_types.h"
#include "net/http_wire.h"
#include "server/http_path.h"

namespace {

namespace http = boost::beast::http;
using boost::system::error_code;
using ringkv::net::HttpRequest;

struct Limits {
  size_t header_bytes;
  size_t body_bytes;
};

// The server's: HttpServerOptions' defaults; serve.cpp sets the body limit to
// --max-value-bytes, whose default is kValueBytesMaxDefault.
constexpr Limits kServerLimits{ringkv::kHeaderBytesMaxDefault, ringkv::kValueBytesMaxDefault};

// What reading one request from the connection gave.
struct Read {
  bool complete = false;
  HttpRequest request;  // when complete
  unsigned version = 0;
  bool keep_alive = false;
  std::optional<int> error_status;  // when not complete: the response, if any
};

bool same(const HttpRequest& a, const HttpRequest& b) {
  if (a.method != b.method || a.target != b.target || a.body != b.body ||
      a.headers.size() != b.headers.size())
    return false;
  for (size_t index = 0; index < a.headers.size(); ++index) {
    if (a.headers[index].name != b.headers[index].name ||
        a.headers[index].value != b.headers[index].value)
      return false;
  }
  return true;
}

// The same request, or both refused. (Not necessarily with the same
// response: Beast checks a request line that arrives in pieces only once the
// header's end has arrived, so "GET  " sent at once is a 400, byte by byte
// then closed a silent close, and a bad line longer than the limit a 431.)
bool same(const Read& a, const Read& b) {
  if (a.complete != b.complete)
    return false;
  if (!a.complete)
    return true;
  return same(a.request, b.request) && a.version == b.version && a.keep_alive == b.keep_alive;
}

bool hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

void check_path(std::string_view target) {
  const ringkv::PathSegments path = ringkv::path_segments(target);
  const std::string_view whole = target.substr(0, target.find('?'));
  if (path.count > ringkv::kPathDepthMax + 1 ||
      (path.count == 0) != (whole.empty() || whole[0] != '/'))
    std::abort();
  std::string joined;
  const size_t kept = std::min(path.count, ringkv::kPathDepthMax);
  for (size_t index = 0; index < kept; ++index) {
    const std::string_view segment = path.segment[index];
    // A slice of the target itself (parsed in place), without separators.
    if (segment.data() < target.data() ||
        segment.data() + segment.size() > target.data() + target.size() ||
        segment.find_first_of("/?") != std::string_view::npos)
      std::abort();
    joined.append("/").append(segment);

    std::string storage;
    const std::optional<std::string_view> decoded = ringkv::decode_segment(segment, storage);
    bool malformed = false;
    for (size_t at = segment.find('%'); at != std::string_view::npos;
         at = segment.find('%', at + 1)) {
      if (at + 2 >= segment.size() || !hex_digit(segment[at + 1]) || !hex_digit(segment[at + 2])) {
        malformed = true;
        break;
      }
      at += 2;
    }
    if (decoded.has_value() == malformed)
      std::abort();
    if (!decoded)
      continue;
    if (decoded->size() > segment.size())
      std::abort();
    if (segment.find('%') == std::string_view::npos && decoded->data() != segment.data())
      std::abort();  // no escape: the segment itself, no copy
    const std::optional<std::string> again =
        ringkv::net::percent_decode(ringkv::net::percent_encode(*decoded));
    if (!again || *again != *decoded)
      std::abort();
  }
  if (path.count <= ringkv::kPathDepthMax && path.count > 0 && joined != whole)
    std::abort();
}

// The response the server gives to a request it could not read.
std::optional<int> error_status(const error_code& error, const Limits& limits) {
  ringkv::net::HttpServerOptions options;
  options.header_bytes_max = limits.header_bytes;
  options.body_bytes_max = limits.body_bytes;
  const std::optional<ringkv::net::HttpResponse> response =
      ringkv::net::detail::read_error_response(error, options);
  if (!response)
    return std::nullopt;
  const int expected = error == http::error::header_limit ? 431
                       : error == http::error::body_limit ? 413
                                                          : 400;
  if (response->status != expected || response->body.empty() || !response->close)
    std::abort();
  return response->status;
}

// The requests of one connection, read as a Session reads them.
class Connection {
 public:
  Connection(std::string_view bytes, size_t piece, Limits limits)
      : bytes_(bytes), piece_(piece == 0 ? bytes.size() + 1 : piece), limits_(limits) {}

  std::vector<Read> read_all() {
    std::vector<Read> reads;
    constexpr size_t kRequestsMax = 16;
    while (reads.size() < kRequestsMax) {
      reads.push_back(read_request());
      if (!reads.back().complete || !reads.back().keep_alive)
        break;
    }
    return reads;
  }

 private:
  // Session::read_request() and read_body().
  Read read_request() {
    Read read;
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(
        std::min<size_t>(limits_.header_bytes, std::numeric_limits<uint32_t>::max())));
    parser_->body_limit(limits_.body_bytes);
    header_bytes_ = 0;
    header_.clear();
    eofs_ = 0;
    error_code error;
    while (!parse_buffered(/*header_only=*/true, error) && !error) {
      error = read_more();
      if (error)
        break;
    }
    if (!error && header_bytes_ > limits_.header_bytes)
      error = http::error::header_limit;
    if (!error) {
      const boost::optional<uint64_t> content_length = parser_->content_length();
      if (content_length && *content_length > limits_.body_bytes) {
        read.error_status = error_status(http::error::body_limit, limits_);
        return read;
      }
      while (!parse_buffered(/*header_only=*/false, error) && !error) {
        error = read_more();
        if (error)
          break;
      }
    }
    if (error) {
      read.error_status = error_status(error, limits_);
      return read;
    }
    check_request(read);
    return read;
  }

  // Session::parse_buffered(), over buffer_.
  bool parse_buffered(bool header_only, error_code& error) {
    for (;;) {
      if (header_only ? parser_->is_header_done() : parser_->is_done())
        return true;
      if (buffer_.empty())
        return false;
      const size_t used = parser_->put(boost::asio::buffer(buffer_), error);
      if (header_only)
        header_.append(buffer_, 0, used);
      buffer_.erase(0, used);
      if (header_only)
        header_bytes_ += used;
      if (error == http::error::need_more || (!error && used == 0)) {
        error = {};
        return false;
      }
      if (error)
        return false;
    }
  }

  // A read from the connection, then Session::commit_read().
  error_code read_more() {
    if (offset_ < bytes_.size()) {
      const size_t size = std::min(piece_, bytes_.size() - offset_);
      buffer_.append(bytes_.substr(offset_, size));
      offset_ += size;
      return {};
    }
    // The client closed. A second end of input with no verdict in between
    // would be the server reading a closed connection for ever.
    if (++eofs_ > 1)
      std::abort();
    if (!parser_->got_some())
      return http::error::end_of_stream;
    error_code eof_error;
    parser_->put_eof(eof_error);
    return eof_error;
  }

  void check_request(Read& read) {
    http::request<http::string_body>& message = parser_->get();
    // What the server counted is the header: it ends at the first empty line.
    if (header_.size() != header_bytes_ || header_.find("\r\n\r\n") + 4 != header_.size())
      std::abort();
    if (!parser_->is_done() || header_bytes_ > limits_.header_bytes ||
        message.body().size() > limits_.body_bytes)
      std::abort();
    const boost::optional<uint64_t> content_length = parser_->content_length();
    if (content_length && *content_length != message.body().size())
      std::abort();
    read.version = message.version() == 10 ? 10u : 11u;
    read.keep_alive = message.keep_alive();
    const http::request<http::string_body> copy = message;
    ringkv::net::detail::fill_request(message, request_);  // reused, as a Session's
    HttpRequest fresh;
    http::request<http::string_body> copied = copy;
    ringkv::net::detail::fill_request(copied, fresh);
    if (!same(request_, fresh))
      std::abort();
    std::string method(copy.method_string());
    for (char& c : method) {
      if (c >= 'a' && c <= 'z')
        c = static_cast<char>(c - 'a' + 'A');
    }
    size_t field_bytes = request_.method.size() + request_.target.size();
    for (const auto& header : request_.headers)
      field_bytes += header.name.size() + header.value.size();
    if (request_.method.empty() || request_.method != method || field_bytes > header_bytes_ ||
        request_.body != copy.body())
      std::abort();
    check_path(request_.target);
    read.complete = true;
    read.request = request_;
  }

  std::string_view bytes_;
  size_t piece_;
  Limits limits_;
  size_t offset_ = 0;
  std::string buffer_;  // read, not yet parsed (kept across requests)
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpRequest request_;
  size_t header_bytes_ = 0;  // of the current request, fed to the parser (as Session counts)
  std::string header_;       // those bytes
  int eofs_ = 0;
};

}  // namespace

// Boost's asserts (BOOST_ENABLE_ASSERT_HANDLER): fatal, as assert() is, but
// one. Beast 1.81's parse_chunk_header() asserts n >= 5 when it resumes a
// final chunk, where 3 is valid: a body that is only "0\r\n" so far, its
// trailer's CRLF arriving a byte at a time. Upstream corrected the assert
// (boostorg/beast#2861); the code after it handles n >= 3, and release builds
// (NDEBUG) never check it.
namespace boost {
void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (std::string_view(expr) == "n >= 5" &&
      std::string_view(function).find("parse_chunk_header") != std::string_view::npos)
    return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion '%s' failed.\n", file, line, function, expr);
  std::abort();
}
void assertion_failed_msg(char const* expr, char const* message, char const* function,
                          char const* file, long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion '%s' failed: %s\n", file, line, function, expr,
               message);
  std::abort();
}
}  // namespace boost

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2)
    return 0;
  const size_t piece = data[0];
  const Limits small{16 + static_cast<size_t>(data[1] & 0x3f) * 16,
                     static_cast<size_t>(data[1] >> 6) * 64};
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 2, size - 2);

  const std::vector<Read> reads = Connection(bytes, piece, kServerLimits).read_all();
  // However the connection splits the bytes, they read alike.
  const std::vector<Read> at_once = Connection(bytes, 0, kServerLimits).read_all();
  if (reads.size() != at_once.size())
    std::abort();
  for (size_t index = 0; index < reads.size(); ++index) {
    if (!same(reads[index], at_once[index]))
      std::abort();
  }
  // Smaller limits refuse sooner, and let nothing else through.
  const std::vector<Read> limited = Connection(bytes, piece, small).read_all();
  if (limited.size() > reads.size())
    std::abort();
  for (size_t index = 0; index < limited.size(); ++index) {
    if (limited[index].complete && !same(limited[index], reads[index]))
      std::abort();
  }
  return 0;
}
