// Fuzzes decode_layout(). Invariant: no crash, no allocation beyond what the
// input's length justifies (libFuzzer's -malloc_limit_mb), and an accepted
// layout re-encodes to exactly the input (the encoding is canonical) — or,
// for format 1 (owners, read by converting to lists), to a format-2 encoding
// that decodes to the same layout.
#include <cstdlib>
#include <string_view>

#include "ring/layout.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = ringkv::decode_layout(bytes);
  if (!decoded.ok())
    return 0;
  const std::string encoded = ringkv::encode_layout(*decoded);
  if (bytes[0] == 1) {
    const auto again = ringkv::decode_layout(encoded);
    if (!again.ok() || !(*again == *decoded))
      std::abort();
  } else if (encoded != bytes) {
    std::abort();
  }
  if (!decoded->is_empty() &&
      decoded->lists().size() != size_t{decoded->partition_count()} * decoded->width())
    std::abort();
  return 0;
}
