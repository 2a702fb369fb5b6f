// Fuzzes decode_cluster_state() (the meta record a node starts from).
// Invariant: no crash; an accepted state re-encodes to exactly the input.
#include <cstdlib>
#include <string_view>

#include "cluster/cluster_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = ringkv::decode_cluster_state(bytes);
  if (!decoded.ok())
    return 0;
  if (ringkv::encode_cluster_state(*decoded) != bytes)
    std::abort();
  return 0;
}
