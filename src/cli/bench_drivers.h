// The systems `ringkv bench --system` can load: one Driver interface with a
// read and a write, implemented for ringkv (KvClient, with its contexts), etcd
// (its v3 JSON gateway: POST /v3/kv/put and /v3/kv/range over
// net::HttpClient) and Redis (RESP over a blocking TCP socket: SET and GET).
//
// The wire formats are pure functions here so that tests can call them: the
// RESP command encoder and reply parser, and the etcd request bodies and
// range-answer parser.
//
// Thread safety: a Driver is one connection; use each from one thread at a
// time. The free functions are pure and safe from any thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "net/http_client.h"

namespace ringkv::bench {

enum class System { ringkv, etcd, redis };

// "ringkv", "etcd" or "redis" -> System; invalid_argument naming them otherwise.
Result<System> parse_system(std::string_view text);
std::string_view system_name(System system);

// One connection to the system under test.
class Driver {
 public:
  virtual ~Driver() = default;
  // Reads `key`; a missing key is a success. When `context` is not null it
  // receives what a later write of the key should send (ringkv's causal
  // context; empty for systems without one, or when the key never existed).
  virtual Status read(const std::string& key, std::string* context) = 0;
  // Writes `value`; `context` empty is a blind write (the only kind etcd and
  // Redis have: they ignore it).
  virtual Status write(const std::string& key, std::string value, std::string_view context) = 0;
};

// ringkv: GET/PUT /v1/stores/{store}/keys/{key} through KvClient.
std::unique_ptr<Driver> make_ringkv_driver(const net::HttpClientOptions& options,
                                           std::string store);
// etcd: POST /v3/kv/range and /v3/kv/put; HTTP 200 is success.
std::unique_ptr<Driver> make_etcd_driver(const net::HttpClientOptions& options);

struct RedisAddress {
  std::string host;
  uint16_t port = 6379;
};
// "HOST:PORT", "redis://HOST:PORT" (a missing port is 6379; "[::1]:6379" for
// IPv6) -> the address; invalid_argument otherwise.
Result<RedisAddress> parse_redis_address(std::string_view text);
// Redis: SET and GET over one TCP connection, reopened after a failure.
// `timeout_ms` bounds the connect and each send and receive.
std::unique_ptr<Driver> make_redis_driver(RedisAddress address, uint32_t timeout_ms);

// --- RESP (the Redis serialization protocol, version 2) ---

// A command as RESP sends it: an array of bulk strings,
// "*2\r\n$3\r\nGET\r\n$4\r\nkey1\r\n".
std::string resp_command(std::initializer_list<std::string_view> arguments);

struct RespReply {
  enum class Type { simple, error, integer, bulk, nil, array };
  Type type = Type::nil;
  // simple: the text after '+'; error: after '-'; integer: the digits; bulk:
  // the bytes; array: the element count (its elements are parsed and skipped).
  std::string text;
};

// Parses one reply from the start of `bytes`. Returns the reply and sets
// `*consumed` to its length; std::nullopt when `bytes` holds only a prefix of
// a reply (read more); an error Status (Code::internal, "malformed Redis
// reply: ...") when the bytes cannot start a valid reply.
Result<std::optional<RespReply>> parse_resp_reply(std::string_view bytes, size_t* consumed);

// SET's reply: "+OK" is success; an error reply is an error Status carrying
// its text; anything else is a malformed-reply error.
Status redis_set_result(const RespReply& reply);
// GET's reply: a bulk string (found, true) or nil (missing, false); an error
// reply is an error Status with its text; anything else is malformed.
Result<bool> redis_get_result(const RespReply& reply);

// --- etcd's v3 JSON gateway ---

// {"key":"<base64>","value":"<base64>"}
std::string etcd_put_body(std::string_view key, std::string_view value);
// {"key":"<base64>"}
std::string etcd_range_body(std::string_view key);
// A range answer (HTTP 200) -> whether the key was found ("kvs" a non-empty
// array; absent when nothing matched); a malformed-answer error when it is not
// a JSON object or "kvs" is not an array.
Result<bool> parse_etcd_range(std::string_view body);

}  // namespace ringkv::bench
