// Framing of the peer protocol: how one message's bytes travel in a stream.
//
//   frame = u32 payload length (big-endian) | payload (one encoded message)
//
// The peer transport frames what it sends (net/peer_transport.cpp) and
// parses what it reads (net/peer_connection.cpp) with these two functions,
// and so does the simulator's network (sim/sim_cluster.cpp): a frame the
// parser refuses in production is refused in simulation too.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringkv {

inline constexpr size_t kFrameHeaderBytes = 4;

// The frame of `payload`.
std::string frame_payload(std::string_view payload);

struct FrameParse {
  enum class Outcome {
    frame,      // `payload` is the first frame's; `consumed` bytes used
    need_more,  // the first frame is incomplete: `needed` more bytes
    too_large,  // its length (`length`) is over the limit: close the stream
  };
  Outcome outcome = Outcome::need_more;
  std::string_view payload;
  size_t consumed = 0;
  size_t needed = 0;
  uint64_t length = 0;
};

// Parses the first frame of `bytes`. A length over `frame_bytes_max` is
// refused before the payload is waited for (nothing is allocated for it).
FrameParse parse_frame(std::string_view bytes, size_t frame_bytes_max);

}  // namespace ringkv
