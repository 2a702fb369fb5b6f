// The peer transport; see peer_transport.h. The transport object: listening
// and accepting within the connection cap, the queues of set_address() and
// send(), cluster and TLS changes, stop; a connection's life is in
// peer_connection.cpp, what both share in peer_transport_state.h.
#include "net/peer_transport.h"

// As in http_server.cpp: a known g++ 12 false positive on Asio's coroutine
// frame allocator; the sanitizer build checks the real pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "net/peer_transport_state.h"
#include "wire/frame.h"

namespace ringkv::net {
namespace detail {

Transport::Transport(EventLoop& loop, PeerTransportOptions options, OnFrame on_frame)
    : io_(loop.context()),
      options_(std::move(options)),
      on_frame_(std::move(on_frame)),
      acceptor_(io_),
      hello_(hello(options_)) {}

Status Transport::listen() {
  if (options_.tls.enabled()) {
    auto loaded = load_tls(options_.tls, options_.self_id);
    if (!loaded.ok())
      return loaded.status();
    tls_context_ = std::move(loaded).value();
  }
  error_code error;
  const auto address = asio::ip::make_address(options_.host, error);
  if (error)
    return {Code::invalid_argument,
            fmt::format("peer listen address '{}' is not an IP address", options_.host)};
  const tcp::endpoint endpoint(address, options_.port);
  acceptor_.open(endpoint.protocol(), error);
  if (!error)
    acceptor_.set_option(asio::socket_base::reuse_address(true), error);
  if (!error)
    acceptor_.bind(endpoint, error);
  if (!error)
    acceptor_.listen(asio::socket_base::max_listen_connections, error);
  if (error)
    return {Code::io_error, fmt::format("cannot listen for peers on {}:{}: {}", options_.host,
                                        options_.port, error.message())};
  port_ = acceptor_.local_endpoint().port();
  return Status::Ok();
}

void Transport::begin() {
  asio::co_spawn(io_, accept_loop(shared_from_this()), asio::detached);
}

void Transport::set_address(const std::string& peer, const std::string& host_port) {
  if (peer == options_.self_id)
    return;
  auto& slot = peers_[peer];
  if (!slot) {
    slot = std::make_shared<Outbound>();
    slot->id = peer;
    slot->wake = std::make_unique<asio::steady_timer>(io_);
  }
  if (slot->address == host_port)
    return;
  slot->address = host_port;
  ++slot->address_generation;
  if (slot->socket) {
    error_code ignored;
    slot->socket->close(ignored);  // the writer reconnects to the new address
  }
  slot->wake->cancel();
}

bool Transport::send(const std::string& peer, std::string payload) {
  auto found = peers_.find(peer);
  if (stopped_ || found == peers_.end() ||
      found->second->queued_bytes + payload.size() + 4 > options_.queue_bytes_max) {
    ++stats_.frames_dropped;
    return false;
  }
  Outbound& out = *found->second;
  std::string frame = frame_payload(payload);
  out.queued_bytes += frame.size();
  out.queue.push_back(std::move(frame));
  out.queued_at.push_back(std::chrono::steady_clock::now());
  if (!out.running) {
    out.running = true;
    asio::co_spawn(io_, write_loop(shared_from_this(), found->second), asio::detached);
  } else {
    out.wake->cancel();
  }
  return true;
}

void Transport::set_cluster(const std::string& cluster_id) {
  options_.cluster_id = cluster_id;
  hello_ = hello(options_);  // new connections state it
  // Connections made while this node was in no cluster stated theirs to a
  // node that could not object: the ones of another cluster go now.
  error_code ignored;
  for (auto& [sequence, inbound] : inbound_) {
    if (inbound->greeted && !compatible(inbound->cluster, cluster_id)) {
      ++stats_.other_cluster;
      inbound->socket.close(ignored);
    }
  }
  for (auto& [id, out] : peers_) {
    if (out->socket && !compatible(out->cluster, cluster_id)) {
      ++stats_.other_cluster;
      out->socket->close(ignored);
    }
  }
}

Status Transport::reload_tls() {
  if (!options_.tls.enabled())
    return {Code::invalid_argument, "peer TLS is not configured: nothing to reload"};
  auto loaded = load_tls(options_.tls, options_.self_id);
  if (!loaded.ok())
    return loaded.status();
  tls_context_ = std::move(loaded).value();
  // Every connection is made again under the new files, so that a
  // certificate revoked or a CA replaced is refused now, not at the
  // peer's next reconnect (peers reconnect within the backoff).
  error_code ignored;
  for (auto& [sequence, inbound] : inbound_)
    inbound->socket.close(ignored);
  for (auto& [id, out] : peers_) {
    if (out->socket)
      out->socket->close(ignored);
  }
  return Status::Ok();
}

void Transport::stop() {
  if (stopped_)
    return;
  stopped_ = true;
  error_code ignored;
  acceptor_.close(ignored);
  for (auto& [id, out] : peers_) {
    if (out->socket)
      out->socket->close(ignored);
    out->wake->cancel();
  }
  for (auto& [sequence, inbound] : inbound_)
    inbound->socket.close(ignored);
}

Transport::Stats Transport::stats() const {
  Stats stats = stats_;
  stats.inbound_open = inbound_.size();
  return stats;
}

asio::awaitable<void> Transport::accept_loop(std::shared_ptr<Transport> self) {
  while (!self->stopped_) {
    auto [error, socket] = co_await self->acceptor_.async_accept(kUseTuple);
    if (self->stopped_)
      break;
    if (error)
      continue;
    if (self->inbound_.size() >= self->options_.inbound_max && !self->evict_one()) {
      ++self->stats_.inbound_over_cap;
      self->warn_over_cap();
      continue;  // `socket` closes here
    }
    socket.set_option(tcp::no_delay(true), error);
    asio::co_spawn(self->io_, read_loop(self, std::move(socket)), asio::detached);
  }
}

// At the connection cap: closes the oldest connection still in its
// handshake, so that connections that never finish one cannot keep a
// member out. False when every connection has finished its handshake.
bool Transport::evict_one() {
  for (auto found = inbound_.begin(); found != inbound_.end(); ++found) {
    if (!found->second->greeted) {
      error_code ignored;
      found->second->evicted = true;
      found->second->socket.close(ignored);
      inbound_.erase(found);  // counts no more (its read loop ends soon)
      ++stats_.inbound_over_cap;
      warn_over_cap();
      return true;
    }
  }
  return false;
}

void Transport::warn_over_cap() {
  if (!warning_due(last_cap_warning_))
    return;
  spdlog::warn(
      "peer port at its cap of {} connections: closing new or unfinished ones ({} so far); "
      "if this cluster has that many nodes, raise the cap",
      options_.inbound_max, stats_.inbound_over_cap);
}

}  // namespace detail

namespace {

using detail::Transport;

// The public object owns the shared state the coroutines also hold.
class TransportHandle final : public PeerTransport {
 public:
  explicit TransportHandle(std::shared_ptr<Transport> impl) : impl_(std::move(impl)) {}
  ~TransportHandle() override { impl_->stop(); }
  uint16_t port() const override { return impl_->port(); }
  void set_address(const std::string& peer, const std::string& host_port) override {
    impl_->set_address(peer, host_port);
  }
  bool send(const std::string& peer, std::string payload) override {
    return impl_->send(peer, std::move(payload));
  }
  void set_cluster(const std::string& cluster_id) override { impl_->set_cluster(cluster_id); }
  void stop() override { impl_->stop(); }
  Status reload_tls() override { return impl_->reload_tls(); }
  Stats stats() const override { return impl_->stats(); }

 private:
  std::shared_ptr<Transport> impl_;
};

}  // namespace

Result<std::unique_ptr<PeerTransport>> PeerTransport::start(EventLoop& loop,
                                                            PeerTransportOptions options,
                                                            OnFrame on_frame) {
  auto impl = std::make_shared<Transport>(loop, std::move(options), std::move(on_frame));
  if (Status status = impl->listen(); !status.ok())
    return status;
  impl->begin();
  return std::unique_ptr<PeerTransport>(std::make_unique<TransportHandle>(std::move(impl)));
}

}  // namespace ringkv::net
