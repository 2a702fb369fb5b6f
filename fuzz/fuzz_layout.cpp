// Fuzzes decode_layout(). Invariant: no crash, no allocation beyond what the
// input's length justifies (libFuzzer's -malloc_limit_mb), and an accepted
// layout re-encodes to exactly the input (the encoding is canonical).
#include <cstdlib>
#include <string_view>

#include "ring/layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = ringkv::decode_layout(bytes);
  if (!decoded.ok())
    return 0;
  if (ringkv::encode_layout(*decoded) != bytes)
    std::abort();
  if (!decoded->is_empty() && decoded->owners().size() != decoded->partition_count())
    std::abort();
  return 0;
}
