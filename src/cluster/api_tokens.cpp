// API tokens in the cluster state; see api_tokens.h.
#include "cluster/api_tokens.h"

#include <algorithm>
#include <map>

#include "common/store_config.h"

namespace ringkv {
namespace {

bool lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool id_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
}

Status invalid(const ApiToken& token, std::string_view what) {
  return {Code::invalid_argument, "token '" + token.id + "': " + std::string(what)};
}

std::string entry_bytes(const ApiToken& token) {
  std::string out;
  ByteWriter writer(out);
  encode_tokens(writer, {token});
  return out;
}

}  // namespace

std::string_view to_string(TokenScope scope) {
  switch (scope) {
    case TokenScope::admin:
      return "admin";
    case TokenScope::read:
      return "read";
    case TokenScope::write:
      return "write";
  }
  return "unknown";
}

Status validate_token(const ApiToken& token) {
  if (token.id.empty() || token.id.size() > kTokenIdBytesMax ||
      !std::all_of(token.id.begin(), token.id.end(), id_char)) {
    return {Code::invalid_argument, "a token id is 1 to " + std::to_string(kTokenIdBytesMax) +
                                        " lowercase letters and digits"};
  }
  if (token.revoked ? !token.secret_hash.empty()
                    : (token.secret_hash.size() != 64 || !lower_hex(token.secret_hash)))
    return invalid(token, "a live token has a 64-digit SHA-256, a revoked one none");
  if (token.scope > TokenScope::write)
    return invalid(token, "unknown scope");
  if (token.scope == TokenScope::admin) {
    if (!token.store.empty())
      return invalid(token, "an admin token names no store");
  } else if (Status name = validate_store_name(token.store); !name.ok()) {
    return invalid(token, name.message());
  }
  if (token.name.size() > kTokenNameBytesMax ||
      !std::all_of(token.name.begin(), token.name.end(),
                   [](char c) { return c >= ' ' && c < 0x7f; })) {
    return invalid(token, "a token name is at most " + std::to_string(kTokenNameBytesMax) +
                              " printable bytes");
  }
  return Status::Ok();
}

void encode_tokens(ByteWriter& writer, const std::vector<ApiToken>& tokens) {
  writer.varint(tokens.size());
  for (const ApiToken& token : tokens) {
    writer.length_prefixed(token.id);
    writer.length_prefixed(token.secret_hash);
    writer.u8(static_cast<uint8_t>(token.scope));
    writer.length_prefixed(token.store);
    writer.length_prefixed(token.name);
    writer.u8(token.revoked ? 1 : 0);
    writer.varint(token.version);
  }
}

bool decode_tokens(ByteReader& reader, std::vector<ApiToken>& tokens, std::string& error) {
  uint64_t count = 0;
  if (!reader.varint(count) || count > kTokensMax || count > reader.remaining()) {
    error = "bad token count";
    return false;
  }
  tokens.clear();
  for (uint64_t index = 0; index < count; ++index) {
    ApiToken token;
    std::string_view id, hash, store, name;
    uint8_t scope = 0, revoked = 0;
    if (!reader.length_prefixed(id) || !reader.length_prefixed(hash) || !reader.u8(scope) ||
        !reader.length_prefixed(store) || !reader.length_prefixed(name) || !reader.u8(revoked) ||
        !reader.varint(token.version)) {
      error = "truncated token";
      return false;
    }
    if (scope > static_cast<uint8_t>(TokenScope::write) || revoked > 1) {
      error = "unknown token scope or flag";
      return false;
    }
    token.id = id;
    token.secret_hash = hash;
    token.scope = static_cast<TokenScope>(scope);
    token.store = store;
    token.name = name;
    token.revoked = revoked == 1;
    if (Status valid = validate_token(token); !valid.ok()) {
      error = "invalid token: " + valid.message();
      return false;
    }
    if (!tokens.empty() && tokens.back().id >= token.id) {
      error = "tokens not sorted by id";
      return false;
    }
    tokens.push_back(std::move(token));
  }
  return true;
}

std::string encode_token_list(const std::vector<ApiToken>& tokens) {
  std::string out;
  ByteWriter writer(out);
  encode_tokens(writer, tokens);
  return out;
}

Result<std::vector<ApiToken>> decode_token_list(std::string_view bytes) {
  ByteReader reader(bytes);
  std::vector<ApiToken> tokens;
  std::string error;
  if (!decode_tokens(reader, tokens, error))
    return Status(Code::invalid_argument, "token list: " + error);
  if (!reader.empty())
    return Status(Code::invalid_argument, "token list: trailing bytes");
  return tokens;
}

std::vector<ApiToken> merge_tokens(const std::vector<ApiToken>& left,
                                   const std::vector<ApiToken>& right) {
  std::map<std::string, ApiToken> merged;
  for (const std::vector<ApiToken>* side : {&left, &right}) {
    for (const ApiToken& token : *side) {
      auto [found, inserted] = merged.try_emplace(token.id, token);
      if (inserted || found->second == token)
        continue;
      const ApiToken& held = found->second;
      if (token.version > held.version ||
          (token.version == held.version && entry_bytes(token) > entry_bytes(held)))
        found->second = token;
    }
  }
  std::vector<ApiToken> out;
  out.reserve(merged.size());
  for (auto& [id, token] : merged)
    out.push_back(std::move(token));
  return out;
}

const ApiToken* find_token(const std::vector<ApiToken>& tokens, std::string_view id) {
  auto found =
      std::lower_bound(tokens.begin(), tokens.end(), id,
                       [](const ApiToken& token, std::string_view key) { return token.id < key; });
  return found != tokens.end() && found->id == id ? &*found : nullptr;
}

}  // namespace ringkv
