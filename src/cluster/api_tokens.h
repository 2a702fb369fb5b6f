// ApiToken: a client API token as the cluster state holds it — its id, the
// SHA-256 of its secret (never the secret), what it may do, and a version —
// and the rules that keep a token list valid and mergeable.
//
// A client presents `rkv_<id>_<secret>` (server/api_auth.h parses and checks
// it); the state holds only the hash, so a copied data directory or a
// gossiped state gives no one a token. Tokens spread with the cluster state
// (cluster_state.h, format 4) and merge like members: per id, the entry with
// the higher version wins (ties: the larger encoding). A revoked token stays
// as a tombstone (no hash) so that a merge cannot bring it back, and a
// cluster that ever had a token keeps requiring one.
//
// Thread safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"

namespace ringkv {

enum class TokenScope : uint8_t {
  admin = 0,  // everything: cluster changes, stores, tokens, every key
  read = 1,   // one store: its config and its keys, read only
  write = 2,  // one store: its config, read and write its keys
};
std::string_view to_string(TokenScope scope);

struct ApiToken {
  std::string id;           // 1..kTokenIdBytesMax of [0-9a-z]
  std::string secret_hash;  // 64 lowercase hex digits; empty once revoked
  TokenScope scope = TokenScope::admin;
  std::string store;  // the store a read or write token is for; empty for admin
  std::string name;   // the operator's label, at most kTokenNameBytesMax printable bytes
  bool revoked = false;
  uint64_t version = 0;  // raised by every change to this entry
  friend bool operator==(const ApiToken&, const ApiToken&) = default;
};

inline constexpr size_t kTokenIdBytesMax = 32;
inline constexpr size_t kTokenNameBytesMax = 128;
// Tokens one cluster state holds, revoked ones included.
inline constexpr size_t kTokensMax = 10'000;

// Why `token` cannot be held, or Ok: the id, hash, scope, store and name
// rules above (a revoked token has no hash; a live one has one).
Status validate_token(const ApiToken& token);

// The entries' canonical bytes, appended to / read from a cluster state
// (sorted by id, each validated). decode fails on a malformed, invalid or
// unsorted entry.
void encode_tokens(ByteWriter& writer, const std::vector<ApiToken>& tokens);
bool decode_tokens(ByteReader& reader, std::vector<ApiToken>& tokens, std::string& error);
// The list alone as bytes (the peer messages carry it so).
std::string encode_token_list(const std::vector<ApiToken>& tokens);
Result<std::vector<ApiToken>> decode_token_list(std::string_view bytes);

// The merge of two token lists (see above): commutative, associative,
// idempotent; sorted by id.
std::vector<ApiToken> merge_tokens(const std::vector<ApiToken>& left,
                                   const std::vector<ApiToken>& right);

// The entry for `id`, if any (`tokens` sorted by id).
const ApiToken* find_token(const std::vector<ApiToken>& tokens, std::string_view id);

}  // namespace ringkv
