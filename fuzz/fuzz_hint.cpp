// Fuzzes decode_hint_key() and decode_hint_value(). Invariants: no crash; an
// accepted key re-encodes to the same bytes and lies in its target's range;
// an accepted value re-encodes to the same bytes.
#include <cstdlib>
#include <string_view>

#include "storage/hint_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (const auto key = ringkv::decode_hint_key(bytes)) {
    if (ringkv::encode_hint_key(key->target, key->store, key->key) != bytes)
      std::abort();
    const auto range = ringkv::hints_for(key->target);
    if (bytes < range.begin || (!range.end.empty() && bytes >= range.end))
      std::abort();
  }
  if (const auto value = ringkv::decode_hint_value(bytes)) {
    if (ringkv::encode_hint_value(value->stored_at_ms, value->record) != bytes)
      std::abort();
  }
  return 0;
}
