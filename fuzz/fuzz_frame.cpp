// Fuzzes parse_frame(), the peer protocol's framing, over a stream of
// frames. Invariants: no crash; every frame parsed is within the limit and
// re-frames to the bytes it was parsed from; a stream ends with need_more
// (asking for at least one byte) or too_large (its length over the limit).
#include <cstdlib>
#include <string>
#include <string_view>

#include "wire/frame.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  constexpr size_t kLimit = 1024;
  for (;;) {
    const ringkv::FrameParse parsed = ringkv::parse_frame(bytes, kLimit);
    if (parsed.outcome == ringkv::FrameParse::Outcome::too_large) {
      if (parsed.length <= kLimit)
        std::abort();
      return 0;
    }
    if (parsed.outcome == ringkv::FrameParse::Outcome::need_more) {
      if (parsed.needed == 0)
        std::abort();
      return 0;
    }
    if (parsed.payload.size() > kLimit || parsed.consumed > bytes.size() ||
        ringkv::frame_payload(parsed.payload) != bytes.substr(0, parsed.consumed))
      std::abort();
    bytes.remove_prefix(parsed.consumed);
  }
}
