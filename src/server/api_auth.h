// Client API tokens at the HTTP edge: drawing a new token, reading a
// request's bearer token, and deciding whether it may do what the request
// asks (the cluster's tokens are in its state: cluster/api_tokens.h).
//
// A token is `rkv_<id>_<secret>`: a 16-hex-digit id (public: it names the
// token in lists and revocations) and a 256-bit random secret in base64url
// (43 characters). The cluster holds SHA-256(secret) only; a high-entropy
// secret needs no slow hash. The secret's hash is compared in constant time.
//
// A cluster requires tokens once its state holds any (revoked ones count,
// so revoking never opens a cluster); until then every request is allowed.
// /healthz and /metrics never need one (probes and scrapers).
//
// Thread safety: pure functions, except issue_token (the OS's random source).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api_tokens.h"
#include "common/status.h"

namespace ringkv {

struct IssuedToken {
  ApiToken entry;    // what the cluster state holds (version set by the core)
  std::string text;  // what the client presents: shown once, never stored
};

// A new token for `scope` (and `store` unless admin) named `name`, from the
// OS's random source; invalid_argument when the store or name is invalid.
Result<IssuedToken> issue_token(TokenScope scope, std::string_view store, std::string_view name);

// The lowercase hex SHA-256 of `secret`.
std::string secret_hash(std::string_view secret);

struct PresentedToken {
  std::string id;
  std::string secret;
};
// The id and secret of a token's text; nullopt when it is not one.
std::optional<PresentedToken> parse_token(std::string_view text);

// What a request needs.
struct Access {
  enum class Kind {
    open,   // nothing (health, metrics)
    any,    // any valid token (cluster status, the store list)
    admin,  // an admin token
    read,   // read `store` (its config, its keys)
    write,  // write `store`'s keys
  };
  Kind kind = Kind::open;
  std::string_view store;
};

struct AuthDecision {
  int status = 0;  // 0: allowed; else 401 (no valid token) or 403 (not allowed)
  std::string code;
  std::string message;  // what is missing, and what to do
};

// Whether a request carrying `authorization` (its Authorization header, if
// any) may have `access`, given the cluster's `tokens`.
AuthDecision authorize(const std::vector<ApiToken>& tokens,
                       std::optional<std::string_view> authorization, const Access& access);

}  // namespace ringkv
