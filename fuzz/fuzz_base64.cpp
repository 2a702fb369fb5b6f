// Fuzzes both base64 decoders. Invariant: no crash; accepted text is the
// canonical encoding of what it decodes to.
#include <cstdlib>
#include <string_view>

#include "common/base64url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto decoded = ringkv::base64url_decode(text)) {
    if (ringkv::base64url_encode(*decoded) != text)
      std::abort();
  }
  if (const auto decoded = ringkv::base64_decode(text)) {
    if (ringkv::base64_encode(*decoded) != text)
      std::abort();
  }
  return 0;
}
