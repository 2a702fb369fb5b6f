// PeerTransport: byte frames between nodes over TCP (docs/ARCHITECTURE.md, module map).
//
// Each node keeps one outbound connection per peer and accepts the peers'
// connections; a message from A to B travels on A's connection to B, so each
// direction has its own ordered stream and no connection is shared.
//
// On the wire:
//   handshake, both ways, once per connection:
//     "RKVP" | u32 protocol version | u16 id length | node id
//     a node that speaks another version closes the connection and logs both
//     versions; a node id that does not match the address book is refused;
//   then frames: u32 payload length (big-endian) | payload (one message).
// A length over `frame_bytes_max` is refused before anything is allocated
// and closes the connection.
//
// Outbound messages wait in a bounded queue per peer (`queue_bytes_max`):
// send() drops a message when the queue is full or the peer unknown, and
// counts it — the core treats a lost message like a slow peer (timeouts).
// A failed connection is retried with exponential backoff (50 ms doubling to
// 2 s); frames queued meanwhile go out after the reconnect, unless they are
// older than `frame_age_max` by then (dropped: no message lives longer). Delivery is at
// most once and in order per connection.
//
// Thread safety: every method on the loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/limits.h"
#include "common/status.h"
#include "net/event_loop.h"
#include "net/peer_link.h"

namespace ringkv::net {

inline constexpr uint32_t kPeerProtocolVersion = 1;

struct PeerTransportOptions {
  std::string self_id;
  std::string host = "127.0.0.1";  // listen address
  uint16_t port = 0;               // 0: any free port
  uint32_t protocol_version = kPeerProtocolVersion;
  size_t frame_bytes_max = kPeerFrameBytesMax;
  size_t queue_bytes_max = 64 * 1024 * 1024;  // per peer
  std::chrono::milliseconds backoff_min{50};
  std::chrono::milliseconds backoff_max{2000};
  // A frame not handed to the socket within this long of send() is dropped
  // (counted in frames_expired); unacknowledged data closes the connection
  // after half of it (TCP_USER_TIMEOUT). The node core's clock pruning
  // relies on no message living longer (serve sets it to half its
  // prune delay).
  std::chrono::milliseconds frame_age_max{60'000};
};

class PeerTransport : public PeerLink {
 public:
  // `from` is the peer's id as it introduced itself.
  using OnFrame = std::function<void(const std::string& from, std::string payload)>;

  // Listens and starts accepting. Fails naming the address when it cannot bind.
  static Result<std::unique_ptr<PeerTransport>> start(EventLoop& loop, PeerTransportOptions options,
                                                      OnFrame on_frame);
  ~PeerTransport() override = default;

  virtual uint16_t port() const = 0;
  // set_address() and send(): PeerLink's (peer_link.h).
  // Closes every connection and the listener.
  virtual void stop() = 0;

  struct Stats {
    uint64_t frames_sent = 0;
    uint64_t frames_received = 0;
    uint64_t frames_dropped = 0;  // queue full, peer unknown or expired
    uint64_t frames_expired = 0;  // ... of which older than frame_age_max
    uint64_t connects = 0;
    uint64_t connect_failures = 0;
    uint64_t refused = 0;  // bad handshake, version or frame
  };
  virtual Stats stats() const = 0;
};

}  // namespace ringkv::net
