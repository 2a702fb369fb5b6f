// The drivers of `ringkv bench --system`: ringkv through KvClient, etcd's JSON
// gateway through net::HttpClient, Redis over a POSIX TCP socket. See
// bench_drivers.h.
#include "cli/bench_drivers.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <utility>

#include "client/kv_client.h"
#include "common/base64url.h"

namespace ringkv::bench {
namespace {

namespace json = boost::json;

constexpr size_t kRespLineMax = 64 * 1024;             // a status/error/length line
constexpr int64_t kRespBulkMax = 512LL * 1024 * 1024;  // Redis's proto-max-bulk-len default
constexpr int64_t kRespArrayMax = 1024 * 1024;         // elements of one array
constexpr int kRespDepthMax = 8;                       // nested arrays

Status malformed(std::string_view why) {
  return {Code::internal, fmt::format("malformed Redis reply: {}", why)};
}

// --- RESP parsing ---

// Reads one "\r\n"-terminated line from bytes[*at]; advances *at past it.
// std::nullopt: not complete yet.
Result<std::optional<std::string_view>> resp_line(std::string_view bytes, size_t* at) {
  const std::string_view rest = bytes.substr(*at);
  for (size_t index = 0; index < rest.size(); ++index) {
    if (rest[index] == '\n')
      return malformed("a bare LF in a line");
    if (rest[index] != '\r')
      continue;
    if (index + 1 == rest.size())
      break;  // the LF has not arrived yet
    if (rest[index + 1] != '\n')
      return malformed("a CR not followed by LF");
    *at += index + 2;
    return std::optional(rest.substr(0, index));
  }
  if (rest.size() > kRespLineMax)
    return malformed("a line over 64 KiB");
  return std::optional<std::string_view>();
}

std::optional<int64_t> resp_integer(std::string_view text) {
  if (text.empty() || text == "-" || text.starts_with('+'))
    return std::nullopt;
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size())
    return std::nullopt;
  return value;
}

Result<std::optional<RespReply>> parse_at(std::string_view bytes, size_t* at, int depth) {
  if (*at >= bytes.size())
    return std::optional<RespReply>();
  if (depth > kRespDepthMax)
    return malformed("arrays nested too deeply");
  const char kind = bytes[*at];
  if (kind != '+' && kind != '-' && kind != ':' && kind != '$' && kind != '*')
    return malformed(fmt::format("unknown reply type byte 0x{:02x}", uint8_t(kind)));
  size_t position = *at + 1;
  auto line = resp_line(bytes, &position);
  if (!line.ok())
    return line.status();
  if (!line->has_value())
    return std::optional<RespReply>();
  const std::string_view text = **line;
  RespReply reply;
  switch (kind) {
    case '+':
      reply.type = RespReply::Type::simple;
      reply.text.assign(text);
      break;
    case '-':
      reply.type = RespReply::Type::error;
      reply.text.assign(text);
      break;
    case ':':
      if (!resp_integer(text))
        return malformed("an integer reply that is not a number");
      reply.type = RespReply::Type::integer;
      reply.text.assign(text);
      break;
    case '$': {
      const auto length = resp_integer(text);
      if (!length || *length < -1 || *length > kRespBulkMax)
        return malformed("a bulk string length that is not -1 or 0 to 512 MiB");
      if (*length == -1) {
        reply.type = RespReply::Type::nil;
        break;
      }
      const size_t size = size_t(*length);
      if (bytes.size() - position < size + 2) {
        // The CRLF may already show that the length is wrong.
        const size_t have = bytes.size() - position;
        if (have > size && bytes[position + size] != '\r')
          return malformed("a bulk string not followed by CRLF");
        return std::optional<RespReply>();
      }
      if (bytes.substr(position + size, 2) != "\r\n")
        return malformed("a bulk string not followed by CRLF");
      reply.type = RespReply::Type::bulk;
      reply.text.assign(bytes.substr(position, size));
      position += size + 2;
      break;
    }
    case '*': {
      const auto count = resp_integer(text);
      if (!count || *count < -1 || *count > kRespArrayMax)
        return malformed("an array length that is not -1 or 0 to 1048576");
      if (*count == -1) {
        reply.type = RespReply::Type::nil;
        break;
      }
      for (int64_t element = 0; element < *count; ++element) {
        auto parsed = parse_at(bytes, &position, depth + 1);
        if (!parsed.ok() || !parsed->has_value())
          return parsed;
      }
      reply.type = RespReply::Type::array;
      reply.text = std::to_string(*count);
      break;
    }
  }
  *at = position;
  return std::optional(std::move(reply));
}

std::string describe(const RespReply& reply) {
  switch (reply.type) {
    case RespReply::Type::simple:
      return "+" + reply.text;
    case RespReply::Type::error:
      return "-" + reply.text;
    case RespReply::Type::integer:
      return ":" + reply.text;
    case RespReply::Type::bulk:
      return fmt::format("a {}-byte bulk string", reply.text.size());
    case RespReply::Type::nil:
      return "nil";
    case RespReply::Type::array:
      return fmt::format("an array of {}", reply.text);
  }
  return "?";
}

Status redis_error(const RespReply& reply) {
  return {Code::internal, fmt::format("Redis: {}", reply.text)};
}

// --- ringkv ---

class RingkvDriver final : public Driver {
 public:
  RingkvDriver(const net::HttpClientOptions& options, std::string store)
      : client_(options), store_(std::move(store)) {}

  Status read(const std::string& key, std::string* context) override {
    auto result = client_.get(store_, key);
    if (result.ok() && context != nullptr)
      *context = std::move(result->context);
    return result.status();
  }

  Status write(const std::string& key, std::string value, std::string_view context) override {
    return client_.put(store_, key, std::move(value), context).status();
  }

 private:
  KvClient client_;
  const std::string store_;
};

// --- etcd ---

class EtcdDriver final : public Driver {
 public:
  explicit EtcdDriver(const net::HttpClientOptions& options) : http_(options) {}

  Status read(const std::string& key, std::string* context) override {
    if (context != nullptr)
      context->clear();
    auto response = post("/v3/kv/range", etcd_range_body(key));
    if (!response.ok())
      return response.status();
    return parse_etcd_range(response->body).status();
  }

  Status write(const std::string& key, std::string value, std::string_view) override {
    return post("/v3/kv/put", etcd_put_body(key, value)).status();
  }

 private:
  // The response of a 200, else the error.
  Result<net::HttpResponse> post(std::string target, std::string body) {
    net::HttpRequest request;
    request.method = "POST";
    request.target = std::move(target);
    request.headers.push_back({"Content-Type", "application/json"});
    request.body = std::move(body);
    auto response = http_.send(request);
    if (!response.ok())
      return response.status();
    if (response->status != 200)
      return response_error(*response);
    return response;
  }

  net::HttpClient http_;
};

// --- Redis ---

class RedisDriver final : public Driver {
 public:
  RedisDriver(RedisAddress address, uint32_t timeout_ms)
      : address_(std::move(address)), timeout_ms_(timeout_ms) {}
  ~RedisDriver() override { disconnect(); }
  RedisDriver(const RedisDriver&) = delete;
  RedisDriver& operator=(const RedisDriver&) = delete;

  Status read(const std::string& key, std::string* context) override {
    if (context != nullptr)
      context->clear();
    auto reply = exchange(resp_command({"GET", key}));
    if (!reply.ok())
      return reply.status();
    return redis_get_result(*reply).status();
  }

  Status write(const std::string& key, std::string value, std::string_view) override {
    auto reply = exchange(resp_command({"SET", key, value}));
    if (!reply.ok())
      return reply.status();
    return redis_set_result(*reply);
  }

 private:
  Status transport_error(std::string_view what, int error) {
    disconnect();
    return {Code::unavailable, fmt::format("Redis {}:{}: {}: {}", address_.host, address_.port,
                                           what, std::strerror(error))};
  }

  void disconnect() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }

  Status connect() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(address_.port);
    if (int error = ::getaddrinfo(address_.host.c_str(), port.c_str(), &hints, &found);
        error != 0) {
      return {Code::unavailable, fmt::format("Redis {}:{}: cannot resolve: {}", address_.host,
                                             address_.port, ::gai_strerror(error))};
    }
    Status last(Code::unavailable, "no address");
    for (addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
      last = connect_to(*candidate);
      if (last.ok())
        break;
    }
    ::freeaddrinfo(found);
    return last;
  }

  Status connect_to(const addrinfo& address) {
    fd_ = ::socket(address.ai_family, address.ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                   address.ai_protocol);
    if (fd_ < 0)
      return transport_error("socket", errno);
    if (::connect(fd_, address.ai_addr, address.ai_addrlen) != 0) {
      if (errno != EINPROGRESS)
        return transport_error("connect", errno);
      pollfd waiting{fd_, POLLOUT, 0};
      const int ready = ::poll(&waiting, 1, int(timeout_ms_));
      if (ready == 0)
        return transport_error("connect", ETIMEDOUT);
      if (ready < 0)
        return transport_error("connect", errno);
      int error = 0;
      socklen_t length = sizeof error;
      if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &error, &length) != 0)
        return transport_error("connect", errno);
      if (error != 0)
        return transport_error("connect", error);
    }
    // Blocking from here on, each send and receive bounded by the timeout.
    if (::fcntl(fd_, F_SETFL, 0) != 0)
      return transport_error("fcntl", errno);
    timeval timeout{};
    timeout.tv_sec = time_t(timeout_ms_ / 1000);
    timeout.tv_usec = suseconds_t((timeout_ms_ % 1000) * 1000);
    const int one = 1;
    if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout) != 0 ||
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
      return transport_error("setsockopt", errno);
    }
    return Status::Ok();
  }

  Status send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent < 0 && errno == EINTR)
        continue;
      if (sent < 0)
        return transport_error("send", errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno);
      bytes.remove_prefix(size_t(sent));
    }
    return Status::Ok();
  }

  // Sends one command and waits for its one reply.
  Result<RespReply> exchange(const std::string& command) {
    if (fd_ < 0) {
      if (Status status = connect(); !status.ok())
        return status;
    }
    if (Status status = send_all(command); !status.ok())
      return status;
    char chunk[16 * 1024];
    for (;;) {
      size_t consumed = 0;
      auto parsed = parse_resp_reply(buffer_, &consumed);
      if (!parsed.ok()) {
        disconnect();  // the stream cannot be followed any further
        return parsed.status();
      }
      if (parsed->has_value()) {
        if (consumed != buffer_.size()) {
          disconnect();
          return malformed("bytes after the reply to a single command");
        }
        buffer_.clear();
        return std::move(**parsed);
      }
      const ssize_t received = ::recv(fd_, chunk, sizeof chunk, 0);
      if (received < 0 && errno == EINTR)
        continue;
      if (received < 0) {
        return transport_error("receive",
                               errno == EAGAIN || errno == EWOULDBLOCK ? ETIMEDOUT : errno);
      }
      if (received == 0) {
        const bool truncated = !buffer_.empty();
        disconnect();
        if (truncated)
          return malformed("the connection closed in the middle of a reply");
        return Status(Code::unavailable, fmt::format("Redis {}:{}: the connection closed",
                                                     address_.host, address_.port));
      }
      buffer_.append(chunk, size_t(received));
    }
  }

  const RedisAddress address_;
  const uint32_t timeout_ms_;
  int fd_ = -1;
  std::string buffer_;  // received bytes not yet parsed
};

}  // namespace

Result<System> parse_system(std::string_view text) {
  if (text == "ringkv")
    return System::ringkv;
  if (text == "etcd")
    return System::etcd;
  if (text == "redis")
    return System::redis;
  return Status(Code::invalid_argument,
                fmt::format("--system must be ringkv, etcd or redis, not '{}'", text));
}

std::string_view system_name(System system) {
  switch (system) {
    case System::ringkv:
      return "ringkv";
    case System::etcd:
      return "etcd";
    case System::redis:
      return "redis";
  }
  return "?";
}

std::unique_ptr<Driver> make_ringkv_driver(const net::HttpClientOptions& options,
                                           std::string store) {
  return std::make_unique<RingkvDriver>(options, std::move(store));
}

std::unique_ptr<Driver> make_etcd_driver(const net::HttpClientOptions& options) {
  return std::make_unique<EtcdDriver>(options);
}

Result<RedisAddress> parse_redis_address(std::string_view text) {
  auto bad = [&] {
    return Status(Code::invalid_argument,
                  fmt::format("'{}' is not a Redis address like 127.0.0.1:6379", text));
  };
  std::string_view rest = text;
  if (rest.starts_with("redis://"))
    rest.remove_prefix(8);
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  RedisAddress address;
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with('[')) {  // [IPv6]:port
    const size_t close = rest.find(']');
    if (close == std::string_view::npos)
      return bad();
    host = rest.substr(1, close - 1);
    const std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':'))
        return bad();
      port = after.substr(1);
      if (port.empty())
        return bad();
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string_view::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty() || host.find(':') != std::string_view::npos)
      return bad();
  }
  if (host.empty() || host.find_first_of("/@ ") != std::string_view::npos)
    return bad();
  address.host.assign(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
      return bad();
    address.port = uint16_t(value);
  }
  return address;
}

std::unique_ptr<Driver> make_redis_driver(RedisAddress address, uint32_t timeout_ms) {
  return std::make_unique<RedisDriver>(std::move(address), timeout_ms);
}

std::string resp_command(std::initializer_list<std::string_view> arguments) {
  std::string out = fmt::format("*{}\r\n", arguments.size());
  for (std::string_view argument : arguments) {
    out += fmt::format("${}\r\n", argument.size());
    out += argument;
    out += "\r\n";
  }
  return out;
}

Result<std::optional<RespReply>> parse_resp_reply(std::string_view bytes, size_t* consumed) {
  size_t at = 0;
  auto parsed = parse_at(bytes, &at, 0);
  if (parsed.ok() && parsed->has_value())
    *consumed = at;
  return parsed;
}

Status redis_set_result(const RespReply& reply) {
  if (reply.type == RespReply::Type::simple && reply.text == "OK")
    return Status::Ok();
  if (reply.type == RespReply::Type::error)
    return redis_error(reply);
  return malformed(fmt::format("SET answered {}, not +OK", describe(reply)));
}

Result<bool> redis_get_result(const RespReply& reply) {
  if (reply.type == RespReply::Type::bulk)
    return true;
  if (reply.type == RespReply::Type::nil)
    return false;
  if (reply.type == RespReply::Type::error)
    return redis_error(reply);
  return malformed(fmt::format("GET answered {}, not a bulk string or nil", describe(reply)));
}

std::string etcd_put_body(std::string_view key, std::string_view value) {
  // base64 needs no JSON escaping.
  return fmt::format(R"({{"key":"{}","value":"{}"}})", base64_encode(key), base64_encode(value));
}

std::string etcd_range_body(std::string_view key) {
  return fmt::format(R"({{"key":"{}"}})", base64_encode(key));
}

Result<bool> parse_etcd_range(std::string_view body) {
  auto bad = [](std::string_view why) {
    return Status(Code::internal, fmt::format("malformed etcd range answer: {}", why));
  };
  boost::system::error_code error;
  const json::value parsed = json::parse(body, error);
  if (error)
    return bad(error.message());
  if (!parsed.is_object())
    return bad("not a JSON object");
  const json::value* kvs = parsed.as_object().if_contains("kvs");
  if (kvs == nullptr)
    return false;
  if (!kvs->is_array())
    return bad("\"kvs\" is not an array");
  return !kvs->as_array().empty();
}

}  // namespace ringkv::bench
