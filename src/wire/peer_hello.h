// The peer handshake ("hello"), both ways, once per connection
// (net/peer_transport.h; docs/FORMATS.md, "Internode frames"):
//
//   "RKVP" | u32 protocol version (big-endian) | u16 id length (1..255) | id
//          | u8 cluster id length (0..kClusterIdBytesMax) | cluster id
//          | u8 dialled id length (0..255) | dialled id
//
// The dialled id is the node the dialler means to reach (empty from the side
// that was dialled, and from a node that knows only an address: a join
// contact): a node hears that another cluster counts it as a member only
// from a node that dialled it by its own id.
//
// Pure functions over bytes, so that the transport's parsing is the one the
// fuzzer (fuzz/fuzz_peer_hello.cpp) runs.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringkv {

struct PeerHello {
  uint32_t version = 0;
  std::string node_id;
  std::string cluster_id;
  std::string dialled_id;
  friend bool operator==(const PeerHello&, const PeerHello&) = default;
};

std::string encode_hello(const PeerHello& hello);

struct HelloParse {
  enum class Outcome {
    hello,      // `hello` is complete, in the first `consumed` bytes
    need_more,  // at least `needed` more bytes
    bad,        // not a hello: `error` says why (close the connection)
  };
  Outcome outcome = Outcome::need_more;
  PeerHello hello;
  size_t consumed = 0;
  size_t needed = 0;
  std::string error;
};

// Parses the hello at the start of `bytes`. The version is returned as
// sent: whether it is one this node speaks is the caller's to say.
HelloParse parse_hello(std::string_view bytes);

}  // namespace ringkv
