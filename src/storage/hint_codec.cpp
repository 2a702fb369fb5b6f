// Hint keys and values; see hint_codec.h.
#include "storage/hint_codec.h"

#include "common/bytes.h"

namespace ringkv {

std::string encode_hint_key(std::string_view target, std::string_view store, std::string_view key) {
  std::string out;
  ByteWriter writer(out);
  writer.length_prefixed(target);
  writer.length_prefixed(store);
  writer.bytes(key);
  return out;
}

std::optional<HintKey> decode_hint_key(std::string_view bytes) {
  ByteReader reader(bytes);
  std::string_view target;
  std::string_view store;
  if (!reader.length_prefixed(target) || target.empty() || !reader.length_prefixed(store) ||
      store.empty())
    return std::nullopt;
  std::string_view key;
  if (!reader.bytes(reader.remaining(), key))
    return std::nullopt;
  return HintKey{std::string(target), std::string(store), std::string(key)};
}

KeyRange hints_for(std::string_view target) {
  KeyRange range;
  ByteWriter(range.begin).length_prefixed(target);
  // The smallest string above every string with this prefix: drop trailing
  // 0xff bytes and increment the last one (the prefix is never all 0xff: it
  // starts with a varint length below 0x80 for ids of our size).
  range.end = range.begin;
  while (!range.end.empty() && static_cast<uint8_t>(range.end.back()) == 0xff)
    range.end.pop_back();
  if (!range.end.empty())
    range.end.back() = static_cast<char>(static_cast<uint8_t>(range.end.back()) + 1);
  return range;
}

std::string encode_hint_value(uint64_t stored_at_ms, std::string_view record) {
  std::string out;
  ByteWriter writer(out);
  writer.u64_be(stored_at_ms);
  writer.bytes(record);
  return out;
}

std::optional<HintValue> decode_hint_value(std::string_view bytes) {
  ByteReader reader(bytes);
  HintValue out;
  if (!reader.u64_be(out.stored_at_ms))
    return std::nullopt;
  if (!reader.bytes(reader.remaining(), out.record))
    return std::nullopt;
  return out;
}

}  // namespace ringkv
