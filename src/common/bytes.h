// Byte-level encoding helpers shared by every codec (records, contexts, keys).
//
// ByteWriter appends; ByteReader consumes and never reads past its end: every
// read returns false on truncation or an over-long varint, so decoders reject
// malformed input instead of crashing. Varints are unsigned LEB128 (at most 10
// bytes for 64 bits); a varint with redundant trailing zero groups is rejected
// so that every value has exactly one encoding (canonical bytes matter: Merkle
// trees hash them).
//
// Thread safety: none needed; plain values.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ringkv {

class ByteWriter {
 public:
  explicit ByteWriter(std::string& out) : out_(out) {}

  void u8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
  // Multi-byte values are laid out in a local buffer and appended at once:
  // one capacity check instead of one per byte (every record, context and
  // key is written through here).
  void varint(uint64_t value) {
    char buffer[10];
    size_t size = 0;
    while (value >= 0x80) {
      buffer[size++] = static_cast<char>((value & 0x7f) | 0x80);
      value >>= 7;
    }
    buffer[size++] = static_cast<char>(value);
    out_.append(buffer, size);
  }
  // Big-endian so that byte order equals numeric order (used in sortable keys).
  void u32_be(uint32_t value) {
    char buffer[4];
    for (size_t index = 0; index < 4; ++index)
      buffer[index] = static_cast<char>(value >> (24 - 8 * index));
    out_.append(buffer, 4);
  }
  void u64_be(uint64_t value) {
    char buffer[8];
    for (size_t index = 0; index < 8; ++index)
      buffer[index] = static_cast<char>(value >> (56 - 8 * index));
    out_.append(buffer, 8);
  }
  void bytes(std::string_view data) { out_.append(data); }
  // A varint length followed by the bytes.
  void length_prefixed(std::string_view data) {
    varint(data.size());
    out_.append(data);
  }

 private:
  std::string& out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  size_t remaining() const { return in_.size(); }
  bool empty() const { return in_.empty(); }

  [[nodiscard]] bool u8(uint8_t& value) {
    if (in_.empty())
      return false;
    value = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  [[nodiscard]] bool varint(uint64_t& value) {
    value = 0;
    for (int index = 0; index < 10; ++index) {
      if (in_.empty())
        return false;
      const auto byte = static_cast<uint8_t>(in_[0]);
      in_.remove_prefix(1);
      if (index == 9 && byte > 1)
        return false;  // would overflow 64 bits
      value |= static_cast<uint64_t>(byte & 0x7f) << (7 * index);
      if ((byte & 0x80) == 0) {
        if (index > 0 && byte == 0)
          return false;  // non-canonical: redundant zero group
        return true;
      }
    }
    return false;
  }
  [[nodiscard]] bool u32_be(uint32_t& value) {
    if (in_.size() < 4)
      return false;
    value = 0;
    for (int index = 0; index < 4; ++index)
      value = (value << 8) | static_cast<uint8_t>(in_[index]);
    in_.remove_prefix(4);
    return true;
  }
  [[nodiscard]] bool u64_be(uint64_t& value) {
    if (in_.size() < 8)
      return false;
    value = 0;
    for (int index = 0; index < 8; ++index)
      value = (value << 8) | static_cast<uint8_t>(in_[index]);
    in_.remove_prefix(8);
    return true;
  }
  [[nodiscard]] bool bytes(size_t count, std::string_view& out) {
    if (in_.size() < count)
      return false;
    out = in_.substr(0, count);
    in_.remove_prefix(count);
    return true;
  }
  [[nodiscard]] bool length_prefixed(std::string_view& out) {
    uint64_t length = 0;
    if (!varint(length))
      return false;
    if (length > in_.size())
      return false;  // checked before any allocation
    return bytes(static_cast<size_t>(length), out);
  }

 private:
  std::string_view in_;
};

}  // namespace ringkv
