// Fuzzes decode_context() with raw X-Context header values. Invariant: it
// never crashes, and whatever it accepts re-encodes to exactly the same token
// (one accepted encoding per context).
#include <cstdlib>
#include <string_view>

#include "version/context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  const auto decoded = ringkv::decode_context(token);
  if (decoded.ok() && ringkv::encode_context(*decoded) != token)
    std::abort();
  return 0;
}
