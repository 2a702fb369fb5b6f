// Fuzzes decode_peer_message(), the decoder of every frame a peer sends.
// Invariant: no crash and no allocation beyond what the input justifies; an
// accepted message re-encodes to bytes that decode to the same message (the
// protobuf encoding itself is not canonical, so the bytes may differ).
#include <cstdlib>
#include <string_view>

#include "wire/peer_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const auto decoded = ringkv::decode_peer_message(bytes);
  if (!decoded.ok())
    return 0;
  const auto again = ringkv::decode_peer_message(ringkv::encode_peer_message(*decoded));
  if (!again.ok() || !(*again == *decoded))
    std::abort();
  return 0;
}
