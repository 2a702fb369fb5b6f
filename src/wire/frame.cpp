// The peer protocol's framing; see frame.h.
#include "wire/frame.h"

namespace ringkv {

std::string frame_payload(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + kFrameHeaderBytes);
  const auto length = static_cast<uint32_t>(payload.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((length >> shift) & 0xff));
  out.append(payload);
  return out;
}

FrameParse parse_frame(std::string_view bytes, size_t frame_bytes_max) {
  FrameParse out;
  if (bytes.size() < kFrameHeaderBytes) {
    out.needed = kFrameHeaderBytes - bytes.size();
    return out;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  out.length = (uint64_t{in[0]} << 24) | (uint64_t{in[1]} << 16) | (uint64_t{in[2]} << 8) | in[3];
  if (out.length > frame_bytes_max) {
    out.outcome = FrameParse::Outcome::too_large;
    return out;
  }
  const size_t total = kFrameHeaderBytes + static_cast<size_t>(out.length);
  if (bytes.size() < total) {
    out.needed = total - bytes.size();
    return out;
  }
  out.outcome = FrameParse::Outcome::frame;
  out.payload = bytes.substr(kFrameHeaderBytes, static_cast<size_t>(out.length));
  out.consumed = total;
  return out;
}

}  // namespace ringkv
