// Fuzzes parse_token() and authorize() (server/api_auth.h): the client API's
// bearer tokens, read from any Authorization header a client sends.
// Invariants: no crash on any header bytes; parse_token accepts exactly the
// text rkv_ + id (1..kTokenIdBytesMax of [0-9a-z]) + '_' + 43 base64url
// characters, and an accepted token re-assembles to exactly its input;
// authorize(), over a token list built from the input, decides as a reference
// model of the rules does: for every access but open it never allows
// (status 0) a request whose header does not carry, after "Bearer ", the
// secret whose SHA-256 (computed here with OpenSSL, not with secret_hash) a
// live entry of that id holds, nor one whose token's scope does not cover the
// access; it allows one that does, and a refusal is a 401 or 403 with a code
// and a message.
//
// Input: [control][entry flags][header mode][header bytes...]; the header is
// the bytes as they are, or a token assembled from them (so that the allowing
// paths are reached, not only the refusals).
#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api_tokens.h"
#include "server/api_auth.h"

namespace {

using ringkv::Access;
using ringkv::ApiToken;
using ringkv::TokenScope;

constexpr std::string_view kStore = "orders";
constexpr std::string_view kIdChars = "0123456789abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kBase64UrlChars =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool id_char(char c) {
  return kIdChars.find(c) != std::string_view::npos;
}
bool base64url_char(char c) {
  return kBase64UrlChars.find(c) != std::string_view::npos;
}

struct Token {
  std::string id;
  std::string secret;
};

// The token grammar, written apart from parse_token(): "rkv_", an id of
// 1..kTokenIdBytesMax of [0-9a-z] (ids hold no '_', so the first '_' after
// the prefix ends it), '_', then exactly 43 base64url characters.
std::optional<Token> reference_parse(std::string_view text) {
  if (text.substr(0, 4) != "rkv_")
    return std::nullopt;
  text.remove_prefix(4);
  size_t id_size = 0;
  while (id_size < text.size() && id_char(text[id_size]))
    ++id_size;
  if (id_size == 0 || id_size > ringkv::kTokenIdBytesMax || id_size >= text.size() ||
      text[id_size] != '_')
    return std::nullopt;
  const std::string_view secret = text.substr(id_size + 1);
  if (secret.size() != 43 || !std::all_of(secret.begin(), secret.end(), base64url_char))
    return std::nullopt;
  return Token{std::string(text.substr(0, id_size)), std::string(secret)};
}

std::string sha256_hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_sha256(), nullptr) != 1)
    std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int index = 0; index < size; ++index) {
    out.push_back(kHex[digest[index] >> 4]);
    out.push_back(kHex[digest[index] & 15]);
  }
  return out;
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// What the header carries after a case-insensitive "Bearer ", if anything.
std::optional<std::string_view> bearer(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() < kScheme.size())
    return std::nullopt;
  for (size_t index = 0; index < kScheme.size(); ++index) {
    if (ascii_lower(header[index]) != kScheme[index])
      return std::nullopt;
  }
  return header.substr(kScheme.size());
}

// The decision the rules of api_auth.h call for: 0, 401 or 403.
int reference_status(const std::vector<ApiToken>& tokens, std::optional<std::string_view> header,
                     const Access& access) {
  if (access.kind == Access::Kind::open || tokens.empty())
    return 0;
  if (!header)
    return 401;
  const std::optional<std::string_view> carried = bearer(*header);
  if (!carried)
    return 401;
  const std::optional<Token> token = reference_parse(*carried);
  if (!token)
    return 401;
  const auto entry = std::find_if(tokens.begin(), tokens.end(),
                                  [&](const ApiToken& held) { return held.id == token->id; });
  if (entry == tokens.end() || entry->revoked || entry->secret_hash != sha256_hex(token->secret))
    return 401;
  if (entry->scope == TokenScope::admin)
    return 0;
  switch (access.kind) {
    case Access::Kind::open:
    case Access::Kind::any:
      return 0;
    case Access::Kind::admin:
      return 403;
    case Access::Kind::read:
    case Access::Kind::write:
      if (entry->store != access.store)
        return 403;
      if (access.kind == Access::Kind::write && entry->scope != TokenScope::write)
        return 403;
      return 0;
  }
  std::abort();
}

// A token's text from arbitrary bytes: an id of [0-9a-z] from the first
// bytes (1..16 of them), then 43 base64url characters from the rest (cycled),
// then whatever is left over.
std::string assemble_token(std::string_view bytes) {
  std::string out = "rkv_";
  const size_t id_size = bytes.empty() ? 1 : 1 + static_cast<unsigned char>(bytes[0]) % 16;
  for (size_t index = 0; index < id_size; ++index) {
    const size_t byte = index + 1 < bytes.size() ? static_cast<unsigned char>(bytes[index + 1]) : 0;
    out.push_back(kIdChars[byte % kIdChars.size()]);
  }
  out.push_back('_');
  const std::string_view rest = bytes.size() > id_size + 1 ? bytes.substr(id_size + 1) : "";
  for (size_t index = 0; index < 43; ++index) {
    const size_t byte =
        rest.empty() ? index : static_cast<unsigned char>(rest[index % rest.size()]);
    out.push_back(kBase64UrlChars[byte % kBase64UrlChars.size()]);
  }
  if (rest.size() > 43)
    out.append(rest.substr(43));
  return out;
}

void check_parse(std::string_view text) {
  const std::optional<ringkv::PresentedToken> parsed = ringkv::parse_token(text);
  const std::optional<Token> expected = reference_parse(text);
  if (parsed.has_value() != expected.has_value())
    std::abort();
  if (parsed) {
    if (parsed->id != expected->id || parsed->secret != expected->secret ||
        "rkv_" + parsed->id + "_" + parsed->secret != text)
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  check_parse(input);
  if (size < 3)
    return 0;
  const uint8_t control = data[0];
  const uint8_t flags = data[1];
  const uint8_t mode = data[2];
  const std::string_view bytes = input.substr(3);

  std::string header;
  switch (mode % 4) {
    case 0:  // any bytes
      header = bytes;
      break;
    case 1:
      header = "Bearer " + std::string(bytes);
      break;
    case 2:
      header = "Bearer rkv_" + std::string(bytes);
      break;
    default: {  // a token assembled from the bytes, under a scheme of any case
      header = "Bearer " + assemble_token(bytes);
      for (size_t index = 0; index < 6; ++index) {
        if ((mode >> (2 + index)) & 1)
          header[index] = static_cast<char>(header[index] ^ 0x20);
      }
      break;
    }
  }
  if (const std::optional<std::string_view> carried = bearer(header))
    check_parse(*carried);

  // The cluster's tokens: an entry for the presented id (right or wrong
  // secret, revoked or live, any scope and store) and decoys, sorted by id.
  std::vector<ApiToken> tokens;
  const std::optional<std::string_view> carried = bearer(header);
  const std::optional<Token> presented = carried ? reference_parse(*carried) : std::nullopt;
  if (presented && (flags & 1)) {
    ApiToken entry;
    entry.id = presented->id;
    entry.revoked = (flags & 4) != 0;
    if (!entry.revoked)
      entry.secret_hash = sha256_hex((flags & 2) ? presented->secret + "x" : presented->secret);
    entry.scope = static_cast<TokenScope>(((flags >> 3) & 3) % 3);
    if (entry.scope != TokenScope::admin)
      entry.store = (flags & 32) ? std::string(kStore) : "other";
    tokens.push_back(std::move(entry));
  }
  if (flags & 64) {
    for (const std::string_view id : {"0", "zzzz"}) {
      if (presented && presented->id == id)
        continue;
      ApiToken decoy;
      decoy.id = id;
      decoy.secret_hash = sha256_hex(id);
      decoy.scope = TokenScope::admin;
      tokens.push_back(std::move(decoy));
    }
  }
  std::sort(tokens.begin(), tokens.end(),
            [](const ApiToken& a, const ApiToken& b) { return a.id < b.id; });
  for (const ApiToken& token : tokens) {
    if (!ringkv::validate_token(token).ok())
      std::abort();  // (the harness built an entry no cluster state could hold)
  }

  Access access;
  access.kind = static_cast<Access::Kind>(control % 5);
  if (access.kind == Access::Kind::read || access.kind == Access::Kind::write)
    access.store = kStore;
  const std::optional<std::string_view> authorization =
      (control & 0x80) ? std::nullopt : std::optional<std::string_view>(header);

  const ringkv::AuthDecision decision = ringkv::authorize(tokens, authorization, access);
  const int expected = reference_status(tokens, authorization, access);
  if (decision.status != expected)
    std::abort();
  if (decision.status == 0) {
    // The property itself, spelled out: an allowed request that needs a token
    // carries a live entry's secret.
    if (access.kind != Access::Kind::open && !tokens.empty()) {
      if (!presented || !authorization)
        std::abort();
      const ApiToken* entry = ringkv::find_token(tokens, presented->id);
      if (entry == nullptr || entry->revoked || entry->secret_hash != sha256_hex(presented->secret))
        std::abort();
    }
    if (!decision.code.empty() || !decision.message.empty())
      std::abort();
  } else {
    const std::string_view code = decision.status == 401 ? "unauthorized" : "forbidden";
    if (decision.code != code || decision.message.empty())
      std::abort();
  }
  return 0;
}
