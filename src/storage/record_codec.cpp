#include "storage/record_codec.h"

#include "common/bytes.h"

namespace ringkv {
namespace {

constexpr uint8_t kRecordFormat = 1;
constexpr uint8_t kFlagTombstone = 0x01;
// Smallest encoded entry (8-byte actor, 1-byte counter and count) and version
// (flags, timestamp, length): used to bound counts before reserving memory.
constexpr size_t kEntryBytesMin = 10;
constexpr size_t kVersionBytesMin = 3;

Status corrupt(std::string_view why) {
  return {Code::corruption, "stored record is corrupt: " + std::string(why)};
}

bool decode_version(ByteReader& reader, Version& version) {
  uint8_t flags = 0;
  std::string_view value;
  if (!reader.u8(flags) || (flags & ~kFlagTombstone) != 0)
    return false;
  if (!reader.varint(version.timestamp_ms) || !reader.length_prefixed(value))
    return false;
  version.tombstone = (flags & kFlagTombstone) != 0;
  version.value.assign(value);
  return true;
}

}  // namespace

std::string encode_record(const SiblingSet& set) {
  size_t size_hint = 2;
  for (const auto& entry : set.entries()) {
    size_hint += 12;
    for (const Version& version : entry.versions)
      size_hint += 8 + version.value.size();
  }
  std::string out;
  out.reserve(size_hint);
  ByteWriter writer(out);
  writer.u8(kRecordFormat);
  writer.varint(set.entries().size());
  for (const auto& entry : set.entries()) {
    writer.u64_be(entry.actor);
    writer.varint(entry.counter);
    writer.varint(entry.versions.size());
    for (const Version& version : entry.versions) {
      writer.u8(version.tombstone ? kFlagTombstone : 0);
      writer.varint(version.timestamp_ms);
      writer.length_prefixed(version.value);
    }
  }
  return out;
}

Result<SiblingSet> decode_record(std::string_view bytes) {
  ByteReader reader(bytes);
  uint8_t format = 0;
  if (!reader.u8(format))
    return corrupt("empty");
  if (format != kRecordFormat)
    return corrupt("unknown format " + std::to_string(format));
  uint64_t entry_count = 0;
  if (!reader.varint(entry_count) || entry_count > reader.remaining() / kEntryBytesMin) {
    return corrupt("bad entry count");
  }
  std::vector<SiblingSet::ActorEntry> entries(static_cast<size_t>(entry_count));
  for (auto& entry : entries) {
    uint64_t version_count = 0;
    if (!reader.u64_be(entry.actor) || !reader.varint(entry.counter) ||
        !reader.varint(version_count) || version_count > reader.remaining() / kVersionBytesMin) {
      return corrupt("truncated entry");
    }
    if (entry.counter > kCounterMax)
      return corrupt("counter too large");
    entry.versions.resize(static_cast<size_t>(version_count));
    for (Version& version : entry.versions) {
      if (!decode_version(reader, version))
        return corrupt("truncated version");
    }
  }
  if (!reader.empty())
    return corrupt("trailing bytes");
  SiblingSet set;
  if (!SiblingSet::from_entries(std::move(entries), set))
    return corrupt("invalid sibling set");
  return set;
}

}  // namespace ringkv
