// Fuzzes decode_cluster_state() (the meta record a node starts from).
// Invariant: no crash; an accepted state re-encodes to exactly the input,
// except a legacy record (format 1: no roles; format 2: no cluster id; format 3: no tokens) or
// one holding a legacy layout (layout format 1: owners), which is re-encoded in the current
// formats and must decode back to the same state and re-encode to itself.
#include <cstdlib>
#include <string>
#include <string_view>

#include "cluster/cluster_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = ringkv::decode_cluster_state(bytes);
  if (!decoded.ok())
    return 0;
  const std::string encoded = ringkv::encode_cluster_state(*decoded);
  if (size > 0 && (data[0] >= 1 && data[0] <= 3)) {  // legacy: read, never written
    const auto again = ringkv::decode_cluster_state(encoded);
    if (!again.ok() || !(*again == *decoded))
      std::abort();
    return 0;
  }
  if (encoded == bytes)
    return 0;
  // Only a layout of format 1 inside may change the bytes (layout.h).
  const auto again = ringkv::decode_cluster_state(encoded);
  if (!again.ok() || !(*again == *decoded) || ringkv::encode_cluster_state(*again) != encoded)
    std::abort();
  return 0;
}
