#include "common/base64url.h"

#include <array>
#include <cstdint>

namespace ringkv {
namespace {

constexpr std::string_view kUrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kStdAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::array<int8_t, 256> make_reverse(std::string_view alphabet) {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  for (size_t index = 0; index < alphabet.size(); ++index) {
    table[static_cast<uint8_t>(alphabet[index])] = static_cast<int8_t>(index);
  }
  return table;
}

std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  // Written into storage sized once (a push_back per character checked the
  // capacity each time: ~600 instructions for a GET's 40-character context).
  const size_t whole = bytes.size() / 3;
  const size_t rest = bytes.size() - whole * 3;
  const size_t size = whole * 4 + (rest == 0 ? 0 : pad ? 4 : rest + 1);
  std::string out(size, '=');
  char* to = out.data();
  const auto* from = reinterpret_cast<const uint8_t*>(bytes.data());
  const char* const letters = alphabet.data();
  for (size_t group_index = 0; group_index < whole; ++group_index, from += 3, to += 4) {
    const uint32_t group = (uint32_t{from[0]} << 16) | (uint32_t{from[1]} << 8) | from[2];
    to[0] = letters[(group >> 18) & 63];
    to[1] = letters[(group >> 12) & 63];
    to[2] = letters[(group >> 6) & 63];
    to[3] = letters[group & 63];
  }
  if (rest != 0) {
    const uint32_t group = (uint32_t{from[0]} << 16) | (rest == 2 ? uint32_t{from[1]} << 8 : 0);
    to[0] = letters[(group >> 18) & 63];
    to[1] = letters[(group >> 12) & 63];
    if (rest == 2)
      to[2] = letters[(group >> 6) & 63];
  }
  return out;
}

// Decodes unpadded text; rejects impossible lengths and non-zero unused bits.
std::optional<std::string> decode_unpadded(std::string_view text,
                                           const std::array<int8_t, 256>& reverse) {
  if (text.size() % 4 == 1)
    return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t accumulator = 0;
  int bits = 0;
  for (const char character : text) {
    const int8_t sextet = reverse[static_cast<uint8_t>(character)];
    if (sextet < 0)
      return std::nullopt;
    accumulator = (accumulator << 6) | static_cast<uint32_t>(sextet);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((accumulator >> bits) & 0xff));
    }
  }
  if ((accumulator & ((1u << bits) - 1)) != 0)
    return std::nullopt;
  return out;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, kUrlAlphabet, false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  static const auto reverse = make_reverse(kUrlAlphabet);
  return decode_unpadded(text, reverse);
}

std::string base64_encode(std::string_view bytes) {
  return encode(bytes, kStdAlphabet, true);
}

std::optional<std::string> base64_decode(std::string_view text) {
  static const auto reverse = make_reverse(kStdAlphabet);
  if (text.size() % 4 != 0)
    return std::nullopt;
  size_t padding = 0;
  while (padding < 2 && !text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++padding;
  }
  auto decoded = decode_unpadded(text, reverse);
  if (!decoded)
    return std::nullopt;
  // The padding must be exactly what the unpadded length implies.
  const size_t expected_padding = (4 - text.size() % 4) % 4;
  if (padding != expected_padding)
    return std::nullopt;
  return decoded;
}

}  // namespace ringkv
