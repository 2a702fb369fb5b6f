// base64url (RFC 4648 §5) without padding: how opaque tokens such as the client
// context travel in HTTP headers.
//
// Decoding is strict: it rejects padding, characters outside the URL-safe
// alphabet, a length that cannot occur (len % 4 == 1), and non-zero unused
// trailing bits, so that every byte string has exactly one accepted encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ringkv {

std::string base64url_encode(std::string_view bytes);
// Returns std::nullopt when `text` is not canonical unpadded base64url.
std::optional<std::string> base64url_decode(std::string_view text);

// Standard base64 with padding (RFC 4648 §4), used for values inside JSON bodies.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ringkv
