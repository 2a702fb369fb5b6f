// Internal to src/net (the peer transport, peer_transport.h): the Transport
// behind the PeerTransport handle, the state of its connections (Inbound,
// Outbound), and the helpers both halves of it share. Only
// peer_transport.cpp and peer_connection.cpp include it:
//   - peer_transport.cpp: the transport object: listening and accepting
//     within the connection cap, queueing frames per peer (send), addresses,
//     the cluster id and TLS files changing, stop, stats;
//   - peer_connection.cpp: one connection's life: the hello handshake both
//     ways, reading frames within the receive budget and the idle timeout,
//     dialling (with TLS) and writing a peer's queue, reconnecting with
//     backoff.
//
// Invariants:
//   - every coroutine spawned (accept, read and write loops) holds the
//     Transport (shared_ptr), so it outlives them; the handle stops it when
//     it goes;
//   - an Inbound lives in its read loop's frame; `inbound_` points at every
//     one whose read loop runs, except the evicted ones (erased at eviction);
//   - `buffered_` is the sum of `charged` over the Inbounds whose read loop
//     runs (evicted ones included, until their loop ends);
//   - an Outbound's `queued_bytes` is the sum of its queue's frame sizes,
//     `queued_at` has one time per frame of `queue`, and `running` is true
//     while its write loop runs (at most one per peer);
//   - an Outbound's `socket` is null before its first connection and after a
//     failed one, else the last connection made, open or closed (the write
//     loop dials again when it finds it closed).
//
// Thread safety: the loop thread only, as PeerTransport.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "net/connection_deadline.h"
#include "net/event_loop.h"
#include "net/peer_stream.h"
#include "net/peer_transport.h"
#include "wire/peer_hello.h"

namespace ringkv::net::detail {

// This node's hello; `dialled`: the node it means to reach (none when it
// was dialled, or knows only an address).
inline std::string hello(const PeerTransportOptions& options, const std::string& dialled = {}) {
  return encode_hello({options.protocol_version, options.self_id, options.cluster_id, dialled});
}

// Whether nodes stating these cluster ids may talk: equal, or one of them
// not yet in a cluster (as cluster/cluster_state.h compatible_clusters).
inline bool compatible(std::string_view left, std::string_view right) {
  return left.empty() || right.empty() || left == right;
}

// An accepted connection; `deadline` closes it when its handshake or its
// next frame is late.
struct Inbound {
  explicit Inbound(tcp::socket accepted, uint64_t sequence)
      : socket(std::move(accepted)),
        deadline(std::make_shared<detail::Deadline>(socket.get_executor(), socket)),
        sequence(sequence) {
    stream.socket = &socket;
  }
  ~Inbound() {
    deadline->socket = nullptr;
    deadline->timer.cancel();
  }
  tcp::socket socket;
  PeerStream stream;  // over `socket`
  std::shared_ptr<detail::Deadline> deadline;
  uint64_t sequence;     // accept order
  bool greeted = false;  // its handshake is done
  bool evicted = false;  // closed to make room at the connection cap
  std::string cluster;   // the cluster id its hello stated
  size_t charged = 0;    // bytes of receive_bytes_max its buffer holds
};

inline uint32_t milliseconds(std::chrono::milliseconds duration) {
  return static_cast<uint32_t>(std::clamp<int64_t>(duration.count(), 1, UINT32_MAX));
}

struct Outbound {
  std::string id;
  std::string address;
  uint64_t address_generation = 0;                              // bumped when the address changes
  std::deque<std::string> queue;                                // framed (length prefix included)
  std::deque<std::chrono::steady_clock::time_point> queued_at;  // per frame of `queue`
  size_t queued_bytes = 0;
  std::unique_ptr<asio::steady_timer> wake;
  std::unique_ptr<tcp::socket> socket;
  PeerStream stream;                                 // over `socket`
  std::string cluster;                               // the cluster id its hello stated
  std::chrono::steady_clock::time_point last_write;  // on `socket`
  bool running = false;
};

class Transport final : public PeerTransport, public std::enable_shared_from_this<Transport> {
 public:
  // peer_transport.cpp
  Transport(EventLoop& loop, PeerTransportOptions options, OnFrame on_frame);
  Status listen();
  void begin();
  uint16_t port() const override { return port_; }
  void set_address(const std::string& peer, const std::string& host_port) override;
  bool send(const std::string& peer, std::string payload) override;
  void set_cluster(const std::string& cluster_id) override;
  Status reload_tls() override;
  void stop() override;
  Stats stats() const override;

 private:
  // peer_transport.cpp: accepting, within the connection cap.
  static asio::awaitable<void> accept_loop(std::shared_ptr<Transport> self);
  bool evict_one();
  void warn_over_cap();

  // peer_connection.cpp: the handshake, an accepted connection's frames, a
  // peer's queue written on the connection this node dialled.
  static asio::awaitable<std::optional<PeerHello>> read_hello(Transport* self, PeerStream& stream,
                                                              bool accepted);
  void warn_identity(const std::string& what, tcp::socket& socket);
  void warn_other_cluster(const std::string& id, tcp::socket& socket, const std::string& cluster);
  static asio::awaitable<void> read_loop(std::shared_ptr<Transport> self, tcp::socket socket);
  bool charge(Inbound& connection, size_t bytes);
  static asio::awaitable<void> write_loop(std::shared_ptr<Transport> self,
                                          std::shared_ptr<Outbound> out);
  static asio::awaitable<bool> connect(Transport* self, Outbound& out);

  asio::io_context& io_;
  PeerTransportOptions options_;
  OnFrame on_frame_;
  tcp::acceptor acceptor_;
  std::string hello_;
  uint16_t port_ = 0;
  bool stopped_ = false;
  std::map<std::string, std::shared_ptr<Outbound>> peers_;
  std::map<uint64_t, Inbound*> inbound_;  // by accept order
  uint64_t inbound_sequence_ = 0;
  size_t buffered_ = 0;  // receive buffer bytes charged, over every inbound connection
  std::chrono::steady_clock::time_point last_cap_warning_;
  std::chrono::steady_clock::time_point last_cluster_warning_;
  std::chrono::steady_clock::time_point last_identity_warning_;
  std::shared_ptr<ssl::context> tls_context_;  // null: plain TCP
  Stats stats_;
};

}  // namespace ringkv::net::detail
