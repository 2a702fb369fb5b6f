// The plain HTTP value helpers: case-insensitive header lookup and the
// percent-encoding of path segments.
//
// Keys travel as path segments, so percent_encode() leaves exactly RFC 3986's
// unreserved characters as they are and escapes every other byte (including
// '/'), and percent_decode() refuses a malformed escape instead of guessing:
// two different strings must never decode to the same key by accident.
#include "net/http_types.h"

#include <array>
#include <cstdint>

namespace ringkv::net {
namespace {

char lower_ascii(char character) {
  if (character >= 'A' && character <= 'Z') {
    return static_cast<char>(character - 'A' + 'a');
  }
  return character;
}

bool is_unreserved(char character) {
  return (character >= 'A' && character <= 'Z') || (character >= 'a' && character <= 'z') ||
         (character >= '0' && character <= '9') || character == '-' || character == '.' ||
         character == '_' || character == '~';
}

// The value of one hex digit, or -1 when `character` is not one.
int hex_value(char character) {
  if (character >= '0' && character <= '9')
    return character - '0';
  if (character >= 'a' && character <= 'f')
    return character - 'a' + 10;
  if (character >= 'A' && character <= 'F')
    return character - 'A' + 10;
  return -1;
}

std::optional<std::string_view> find_header(const std::vector<HttpHeader>& headers,
                                            std::string_view name) {
  for (const HttpHeader& header : headers) {
    if (header_name_equals(header.name, name))
      return std::string_view(header.value);
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
  return find_header(headers, name);
}

std::optional<std::string_view> HttpResponse::header(std::string_view name) const {
  return find_header(headers, name);
}

bool header_name_equals(std::string_view left, std::string_view right) {
  if (left.size() != right.size())
    return false;
  for (size_t index = 0; index < left.size(); ++index) {
    if (lower_ascii(left[index]) != lower_ascii(right[index]))
      return false;
  }
  return true;
}

std::string percent_encode(std::string_view segment) {
  static constexpr std::array<char, 16> kHexDigits = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                      '8', '9', 'A', 'B', 'C', 'D', 'E', 'F'};
  std::string encoded;
  encoded.reserve(segment.size());
  for (char character : segment) {
    if (is_unreserved(character)) {
      encoded.push_back(character);
      continue;
    }
    const auto byte = static_cast<uint8_t>(character);
    encoded.push_back('%');
    encoded.push_back(kHexDigits[byte >> 4]);
    encoded.push_back(kHexDigits[byte & 0x0F]);
  }
  return encoded;
}

std::optional<std::string> percent_decode(std::string_view segment) {
  std::string decoded;
  decoded.reserve(segment.size());
  for (size_t index = 0; index < segment.size(); ++index) {
    if (segment[index] != '%') {
      decoded.push_back(segment[index]);
      continue;
    }
    if (index + 2 >= segment.size())
      return std::nullopt;  // "%" or "%4" at the end
    const int high = hex_value(segment[index + 1]);
    const int low = hex_value(segment[index + 2]);
    if (high < 0 || low < 0)
      return std::nullopt;
    decoded.push_back(static_cast<char>((high << 4) | low));
    index += 2;
  }
  return decoded;
}

}  // namespace ringkv::net
