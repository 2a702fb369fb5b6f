// Fuzzes decode_data_key(). Invariant: no crash; an accepted key re-encodes
// to the same bytes and lies in its store's range.
#include <cstdlib>
#include <string_view>

#include "storage/data_key.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = ringkv::decode_data_key(bytes);
  if (!decoded)
    return 0;
  if (ringkv::encode_data_key(decoded->store, decoded->key) != bytes)
    std::abort();
  const auto range = ringkv::store_range(decoded->store);
  if (bytes < range.begin || (!range.end.empty() && bytes >= range.end))
    std::abort();
  return 0;
}
