// Client API tokens at the HTTP edge; see api_auth.h.
#include "server/api_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "common/base64url.h"
#include "common/check.h"

namespace ringkv {
namespace {

constexpr std::string_view kPrefix = "rkv_";
constexpr size_t kIdHexDigits = 16;
constexpr size_t kSecretBytes = 32;
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, unpadded

std::string hex(const unsigned char* bytes, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t index = 0; index < size; ++index) {
    out.push_back(kDigits[bytes[index] >> 4]);
    out.push_back(kDigits[bytes[index] & 15]);
  }
  return out;
}

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

AuthDecision unauthorized(std::string message) {
  return {401, "unauthorized", std::move(message)};
}

AuthDecision forbidden(std::string message) {
  return {403, "forbidden", std::move(message)};
}

}  // namespace

std::string secret_hash(std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  RINGKV_ASSERT(EVP_Digest(secret.data(), secret.size(), digest, &size, EVP_sha256(), nullptr) == 1,
                "SHA-256 failed");
  return hex(digest, size);
}

Result<IssuedToken> issue_token(TokenScope scope, std::string_view store, std::string_view name) {
  unsigned char id_bytes[kIdHexDigits / 2];
  unsigned char secret[kSecretBytes];
  if (RAND_bytes(id_bytes, sizeof id_bytes) != 1 || RAND_bytes(secret, sizeof secret) != 1)
    return Status(Code::unavailable, "the random source failed; retry");
  IssuedToken issued;
  issued.entry.id = hex(id_bytes, sizeof id_bytes);
  const std::string secret_text =
      base64url_encode(std::string_view(reinterpret_cast<const char*>(secret), sizeof secret));
  issued.entry.secret_hash = secret_hash(secret_text);
  issued.entry.scope = scope;
  issued.entry.store = scope == TokenScope::admin ? "" : std::string(store);
  issued.entry.name = name;
  if (Status valid = validate_token(issued.entry); !valid.ok())
    return Status(Code::invalid_argument, valid.message());
  issued.text = std::string(kPrefix) + issued.entry.id + "_" + secret_text;
  return issued;
}

std::optional<PresentedToken> parse_token(std::string_view text) {
  if (!text.starts_with(kPrefix))
    return std::nullopt;
  text.remove_prefix(kPrefix.size());
  const size_t separator = text.find('_');
  if (separator == std::string_view::npos || separator == 0 || separator > kTokenIdBytesMax)
    return std::nullopt;
  PresentedToken out{std::string(text.substr(0, separator)),
                     std::string(text.substr(separator + 1))};
  ApiToken probe;
  probe.id = out.id;
  probe.revoked = true;  // (no hash to check here)
  if (!validate_token(probe).ok())
    return std::nullopt;
  if (out.secret.size() != kSecretChars ||
      !std::all_of(out.secret.begin(), out.secret.end(), base64url_char))
    return std::nullopt;
  return out;
}

AuthDecision authorize(const std::vector<ApiToken>& tokens,
                       std::optional<std::string_view> authorization, const Access& access) {
  if (access.kind == Access::Kind::open || tokens.empty())
    return {};
  if (!authorization) {
    return unauthorized(
        "this cluster requires an API token: send 'Authorization: Bearer rkv_...' "
        "(the CLI takes --token or RINGKV_TOKEN; an admin creates one with `ringkv token "
        "create`)");
  }
  std::string_view value = *authorization;
  constexpr std::string_view kScheme = "Bearer ";
  if (value.size() < kScheme.size() ||
      !std::equal(kScheme.begin(), kScheme.end(), value.begin(), [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) ==
               std::tolower(static_cast<unsigned char>(b));
      })) {
    return unauthorized("the Authorization header must be 'Bearer rkv_<id>_<secret>'");
  }
  value.remove_prefix(kScheme.size());
  const std::optional<PresentedToken> presented = parse_token(value);
  if (!presented)
    return unauthorized("the bearer token is not a ringkv token (rkv_<id>_<secret>)");
  const ApiToken* token = find_token(tokens, presented->id);
  const std::string hash = secret_hash(presented->secret);
  // Compared in constant time, and only with a live token's hash.
  const bool valid = token != nullptr && !token->revoked &&
                     token->secret_hash.size() == hash.size() &&
                     CRYPTO_memcmp(token->secret_hash.data(), hash.data(), hash.size()) == 0;
  if (!valid) {
    return unauthorized(
        fmt::format("token '{}' is unknown, revoked or wrong; ask an admin for a valid one "
                    "(`ringkv token list` shows the cluster's tokens)",
                    presented->id));
  }
  if (token->scope == TokenScope::admin)
    return {};
  switch (access.kind) {
    case Access::Kind::open:
    case Access::Kind::any:
      return {};
    case Access::Kind::admin:
      return forbidden(fmt::format(
          "token '{}' may {} store '{}' only; this request needs an admin token", token->id,
          token->scope == TokenScope::read ? "read" : "read and write", token->store));
    case Access::Kind::read:
    case Access::Kind::write:
      if (token->store != access.store) {
        return forbidden(fmt::format("token '{}' is for store '{}', not '{}'", token->id,
                                     token->store, access.store));
      }
      if (access.kind == Access::Kind::write && token->scope != TokenScope::write) {
        return forbidden(
            fmt::format("token '{}' may only read store '{}'; writing needs a write token",
                        token->id, token->store));
      }
      return {};
  }
  return {};
}

}  // namespace ringkv
