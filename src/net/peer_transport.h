// PeerTransport: byte frames between nodes over TCP (docs/ARCHITECTURE.md, module map).
//
// Each node keeps one outbound connection per peer and accepts the peers'
// connections; a message from A to B travels on A's connection to B, so each
// direction has its own ordered stream and no connection is shared.
//
// On the wire:
//   handshake, both ways, once per connection:
//     "RKVP" | u32 protocol version | u16 id length | node id
//            | u8 cluster id length | cluster id (empty: not in a cluster yet)
//            | u8 dialled id length | dialled id (empty: dialled by address)
//     a node that speaks another version closes the connection and logs both
//     versions; one that states another cluster's id is refused on both
//     sides (logged, counted, and reported to `on_other_cluster` on the side
//     it dialled, when it dialled that node by its id: it counts that node
//     as its member). With TLS the identity is checked before the cluster.
//     Connections accepted while this node was in no cluster are closed
//     when set_cluster() names another cluster than theirs;
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
// The listening port is bounded, so that nothing that can reach it can make
// the node stop serving its peers:
//   - at most `inbound_max` accepted connections; at the cap a new one
//     closes the oldest that has not finished its handshake, or is itself
//     closed when every one has (counted, logged at most every 10 s);
//   - the handshake (connect included, both ways) must finish within
//     `handshake_timeout`;
//   - an accepted connection that delivers no complete frame for
//     `idle_timeout` is closed (a dribbling sender too); the sender closes
//     its own connections idle for half that, so a member's connection is
//     never cut under its writes;
//   - the bytes held for partly received frames, over every accepted
//     connection, stay within `receive_bytes_max`; a connection that needs
//     more is closed (one frame is at most `frame_bytes_max`).
// Data unacknowledged by the peer for `unacked_timeout` closes the sending
// connection (TCP_USER_TIMEOUT), so a partition that heals is crossed by a
// fresh connection within the reconnect backoff, not after TCP's doubling
// retransmission timer.
//
// With `tls` (mutual TLS), each connection first completes a TLS 1.3
// handshake in which both sides present a certificate from the cluster CA;
// the other side's node id is then the one its certificate names, and a
// handshake that says otherwise is refused: a message is from `n2` only if
// it came on a connection `n2`'s certificate opened. On a connection it
// opened, a node also checks that the other side is the node it dialled.
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

inline constexpr uint32_t kPeerProtocolVersion = 3;

// Mutual TLS on the peer port (net/peer_certs.h): the cluster CA, and this
// node's certificate (its subject common name must be this node's id) and key.
// reload_tls() reads them again and closes every connection, so that each is
// made again under the new files (a revoked certificate is refused at once).
struct PeerTlsFiles {
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string crl_file;  // revoked certificates (net/peer_certs.h); empty: none
  bool enabled() const { return !ca_file.empty(); }
};

struct PeerTransportOptions {
  std::string self_id;
  std::string cluster_id;  // stated in the handshake (set_cluster changes it)
  PeerTlsFiles tls;        // none: plain TCP
  // A node of another cluster dialled this one (its id, its cluster's id).
  std::function<void(const std::string& peer, const std::string& cluster)> on_other_cluster;
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
  size_t inbound_max = 1024;
  std::chrono::milliseconds handshake_timeout{5'000};
  std::chrono::milliseconds idle_timeout{120'000};
  size_t receive_bytes_max = 256 * 1024 * 1024;
  // Capped at half of frame_age_max.
  std::chrono::milliseconds unacked_timeout{10'000};
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
  // set_address(), set_cluster() and send(): PeerLink's (peer_link.h).
  // Closes every connection and the listener.
  virtual void stop() = 0;
  // Reads the TLS files again (SIGHUP): new connections use them, open ones
  // keep theirs. On error nothing changes and the error says why.
  virtual Status reload_tls() = 0;

  struct Stats {
    uint64_t frames_sent = 0;
    uint64_t frames_received = 0;
    uint64_t frames_dropped = 0;  // queue full, peer unknown or expired
    uint64_t frames_expired = 0;  // ... of which older than frame_age_max
    uint64_t connects = 0;
    uint64_t connect_failures = 0;
    uint64_t refused = 0;                 // bad handshake, version or frame
    uint64_t other_cluster = 0;           // the other side states another cluster's id
    uint64_t tls_refused = 0;             // TLS handshake failed (no or an untrusted certificate)
    uint64_t identity_refused = 0;        // its handshake names another node than its
                                          // certificate, or than the node it was dialled as
    uint64_t inbound_open = 0;            // accepted connections open now (a gauge)
    uint64_t inbound_over_cap = 0;        // closed at accept or evicted: inbound_max reached
    uint64_t handshake_timeouts = 0;      // closed: no handshake within handshake_timeout
    uint64_t idle_closed = 0;             // closed: no complete frame within idle_timeout
    uint64_t receive_budget_refused = 0;  // closed: receive_bytes_max reached
  };
  virtual Stats stats() const = 0;
};

}  // namespace ringkv::net
