// Fuzzes decode_record() with arbitrary stored bytes. Invariant: no crash, no
// allocation beyond what the input can hold (ASan/libFuzzer's -rss_limit_mb
// and -malloc_limit_mb catch that), and accepted records are canonical and
// keep the SiblingSet invariants (merge with itself is the identity).
#include <cstdlib>
#include <string_view>

#include "storage/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = ringkv::decode_record(bytes);
  if (!decoded.ok())
    return 0;
  if (ringkv::encode_record(*decoded) != bytes)
    std::abort();
  if (ringkv::SiblingSet::merged(*decoded, *decoded) != *decoded)
    std::abort();
  return 0;
}
