#include "version/context.h"

#include "common/base64url.h"
#include "common/bytes.h"
#include "common/limits.h"

#include <xxhash.h>

namespace ringkv {
namespace {

constexpr uint8_t kContextFormat = 1;
constexpr size_t kCheckBytes = 4;
// Smallest encoded entry: 8 bytes of actor and a 1-byte varint.
constexpr size_t kEntryBytesMin = 9;

// The check: the low 32 bits of XXH3-64 of `payload`, little-endian. It catches
// corruption and hand edits; it is not a MAC (clients are trusted, and counters
// are bounded so that even a forged token cannot harm a key).
void append_check(std::string& bytes) {
  const uint64_t hash = XXH3_64bits(bytes.data(), bytes.size());
  for (size_t index = 0; index < kCheckBytes; ++index) {
    bytes.push_back(static_cast<char>((hash >> (8 * index)) & 0xff));
  }
}

Status malformed(std::string_view why) {
  return {Code::invalid_argument,
          std::string("malformed context (") + std::string(why) +
              "): send back the X-Context of a previous response unchanged, or omit it"};
}

}  // namespace

std::string encode_context(const VersionVector& context) {
  // The bytes before base64 in storage kept per thread: every read's reply
  // encodes a context, and only the text leaves this function.
  thread_local std::string scratch;
  std::string& bytes = scratch;
  bytes.clear();
  bytes.reserve(2 + context.size() * 12 + kCheckBytes);
  ByteWriter writer(bytes);
  writer.u8(kContextFormat);
  writer.varint(context.size());
  for (const auto& entry : context.entries()) {
    writer.u64_be(entry.actor);
    writer.varint(entry.counter);
  }
  append_check(bytes);
  return base64url_encode(bytes);
}

Result<VersionVector> decode_context(std::string_view token) {
  if (token.size() > kContextTokenBytesMax)
    return malformed("too long");
  const auto bytes = base64url_decode(token);
  if (!bytes)
    return malformed("not base64url");
  if (bytes->size() < 1 + 1 + kCheckBytes)
    return malformed("too short");
  const std::string_view payload(bytes->data(), bytes->size() - kCheckBytes);
  std::string expected(payload);
  append_check(expected);
  if (expected != *bytes)
    return malformed("check failed");
  ByteReader reader(payload);
  uint8_t format = 0;
  if (!reader.u8(format) || format != kContextFormat)
    return malformed("unknown format");
  uint64_t count = 0;
  if (!reader.varint(count))
    return malformed("bad entry count");
  if (count > kActorsPerKeyMax || count > reader.remaining() / kEntryBytesMin) {
    return malformed("too many entries");
  }
  std::vector<VersionVector::Entry> entries;
  entries.reserve(static_cast<size_t>(count));
  for (uint64_t index = 0; index < count; ++index) {
    VersionVector::Entry entry;
    if (!reader.u64_be(entry.actor) || !reader.varint(entry.counter)) {
      return malformed("truncated");
    }
    if (entry.counter > kCounterMax)
      return malformed("counter too large");
    entries.push_back(entry);
  }
  if (!reader.empty())
    return malformed("trailing bytes");
  VersionVector context;
  if (!VersionVector::from_entries(std::move(entries), context)) {
    return malformed("unsorted actors or zero counter");
  }
  return context;
}

}  // namespace ringkv
