// The peer transport; see peer_transport.h.
#include "net/peer_transport.h"

// As in http_server.cpp: a known g++ 12 false positive on Asio's coroutine
// frame allocator; the sanitizer build checks the real pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "net/connection_deadline.h"
#include "net/peer_certs.h"
#include "net/peer_stream.h"
#include "wire/frame.h"
#include "wire/peer_hello.h"

namespace ringkv::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);
using detail::known_by_address_only;
using detail::load_tls;
using detail::PeerStream;
using detail::warning_due;
// Frames written in one gather write at most (and their bytes).
constexpr size_t kBatchFramesMax = 64;
constexpr size_t kBatchBytesMax = 1 << 20;
// A connection's read buffer is never more than this ahead of the bytes received.
constexpr size_t kRoomMax = 1 << 20;

// This node's hello; `dialled`: the node it means to reach (none when it
// was dialled, or knows only an address).
std::string hello(const PeerTransportOptions& options, const std::string& dialled = {}) {
  return encode_hello({options.protocol_version, options.self_id, options.cluster_id, dialled});
}

// Whether nodes stating these cluster ids may talk: equal, or one of them
// not yet in a cluster (as cluster/cluster_state.h compatible_clusters).
bool compatible(std::string_view left, std::string_view right) {
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

uint32_t milliseconds(std::chrono::milliseconds duration) {
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
  Transport(EventLoop& loop, PeerTransportOptions options, OnFrame on_frame)
      : io_(loop.context()),
        options_(std::move(options)),
        on_frame_(std::move(on_frame)),
        acceptor_(io_),
        hello_(hello(options_)) {}

  Status listen() {
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

  void begin() { asio::co_spawn(io_, accept_loop(shared_from_this()), asio::detached); }

  uint16_t port() const override { return port_; }

  void set_address(const std::string& peer, const std::string& host_port) override {
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

  bool send(const std::string& peer, std::string payload) override {
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

  void set_cluster(const std::string& cluster_id) override {
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

  Status reload_tls() override {
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

  void stop() override {
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

  Stats stats() const override {
    Stats stats = stats_;
    stats.inbound_open = inbound_.size();
    return stats;
  }

 private:
  static asio::awaitable<void> accept_loop(std::shared_ptr<Transport> self) {
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
  bool evict_one() {
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

  void warn_over_cap() {
    if (!warning_due(last_cap_warning_))
      return;
    spdlog::warn(
        "peer port at its cap of {} connections: closing new or unfinished ones ({} so far); "
        "if this cluster has that many nodes, raise the cap",
        options_.inbound_max, stats_.inbound_over_cap);
  }

  // Reads the other side's hello; the hello, or nullopt (and a log line).
  // `accepted`: the other side dialled this node.
  static asio::awaitable<std::optional<PeerHello>> read_hello(Transport* self, PeerStream& stream,
                                                              bool accepted) {
    tcp::socket& socket = *stream.socket;
    // Read what the parser asks for until it has a whole hello: the bytes
    // of a hello are known from its fixed head and its two lengths.
    std::string bytes;
    HelloParse parsed = parse_hello(bytes);
    while (parsed.outcome == HelloParse::Outcome::need_more) {
      const size_t have = bytes.size();
      bytes.resize(have + parsed.needed);
      auto [error, read] = co_await stream.read(asio::buffer(bytes.data() + have, parsed.needed));
      if (error)
        co_return std::nullopt;
      parsed = parse_hello(bytes);
    }
    if (parsed.outcome == HelloParse::Outcome::bad) {
      ++self->stats_.refused;
      spdlog::warn("peer connection refused: {}", parsed.error);
      co_return std::nullopt;
    }
    if (parsed.hello.version != self->options_.protocol_version) {
      ++self->stats_.refused;
      spdlog::warn("peer connection refused: it speaks protocol version {}, this node {}",
                   parsed.hello.version, self->options_.protocol_version);
      co_return std::nullopt;
    }
    const std::string& id = parsed.hello.node_id;
    const std::string& cluster = parsed.hello.cluster_id;
    // With TLS, the id is the certificate's; a handshake that says
    // otherwise is a node speaking for another. (Checked first: what an
    // unproven node says of its cluster changes nothing here.)
    if (stream.tls) {
      const std::optional<std::string> certified = stream.certified_id();
      if (certified != id) {
        ++self->stats_.identity_refused;
        self->warn_identity(fmt::format("a node whose certificate names '{}' said it is '{}'",
                                        certified.value_or(""), id),
                            socket);
        co_return std::nullopt;
      }
    }
    if (!compatible(cluster, self->options_.cluster_id)) {
      ++self->stats_.other_cluster;
      self->warn_other_cluster(id, socket, cluster);
      // Only a node that dialled this one by its id counts it as a member;
      // one that dialled an address it was given knows nothing of it.
      if (accepted && parsed.hello.dialled_id == self->options_.self_id &&
          self->options_.on_other_cluster)
        self->options_.on_other_cluster(id, cluster);
      co_return std::nullopt;
    }
    co_return std::move(parsed.hello);
  }

  void warn_identity(const std::string& what, tcp::socket& socket) {
    if (!warning_due(last_identity_warning_))
      return;
    error_code ignored;
    spdlog::warn(
        "peer connection refused: {} (at {}; {} TLS handshakes and {} identities "
        "refused so far)",
        what, socket.remote_endpoint(ignored).address().to_string(), stats_.tls_refused,
        stats_.identity_refused);
  }

  void warn_other_cluster(const std::string& id, tcp::socket& socket, const std::string& cluster) {
    if (!warning_due(last_cluster_warning_))
      return;
    error_code ignored;
    spdlog::warn(
        "peer connection refused: node '{}' at {} belongs to cluster '{}', this node to '{}' "
        "({} refused so far); a node points at the wrong cluster, or was removed from this one",
        id, socket.remote_endpoint(ignored).address().to_string(), cluster, options_.cluster_id,
        stats_.other_cluster);
  }

  static asio::awaitable<void> read_loop(std::shared_ptr<Transport> self, tcp::socket socket) {
    Inbound connection(std::move(socket), ++self->inbound_sequence_);
    self->inbound_.emplace(connection.sequence, &connection);
    arm(connection.deadline, milliseconds(self->options_.handshake_timeout));
    error_code error;
    if (self->tls_context_) {
      error = co_await connection.stream.start_tls(self->tls_context_, ssl::stream_base::server);
      if (error && !connection.deadline->fired && !connection.evicted && !self->stopped_) {
        ++self->stats_.tls_refused;
        self->warn_identity("TLS handshake failed: " + error.message(), connection.socket);
      }
    }
    if (!error)
      std::tie(error, std::ignore) = co_await connection.stream.write(asio::buffer(self->hello_));
    std::optional<std::string> from;
    if (!error) {
      if (auto greeting = co_await read_hello(self.get(), connection.stream, /*accepted=*/true)) {
        from = std::move(greeting->node_id);
        connection.cluster = std::move(greeting->cluster_id);
      }
    }
    if (from) {
      connection.greeted = true;
      arm(connection.deadline, milliseconds(self->options_.idle_timeout));
    } else if (connection.deadline->fired) {
      ++self->stats_.handshake_timeouts;
    }
    // Frames are parsed out of one buffer filled by read_some, so a burst of
    // small frames costs one recv, not two per frame. A vector, whose
    // reserve allocates exactly what is asked: the receive budget charges
    // its capacity, which a string would double behind the charge's back.
    std::vector<char> buffer;
    size_t begin = 0;
    while (from && !self->stopped_) {
      size_t needed = kFrameHeaderBytes;
      for (;;) {
        const FrameParse parsed =
            parse_frame(std::string_view(buffer.data() + begin, buffer.size() - begin),
                        self->options_.frame_bytes_max);
        if (parsed.outcome == FrameParse::Outcome::too_large) {
          ++self->stats_.refused;
          spdlog::warn("peer '{}' sent a {}-byte frame (limit {}): connection closed", *from,
                       parsed.length, self->options_.frame_bytes_max);
          from.reset();
          break;
        }
        if (parsed.outcome == FrameParse::Outcome::need_more) {
          needed = parsed.needed;
          break;
        }
        ++self->stats_.frames_received;
        arm(connection.deadline, milliseconds(self->options_.idle_timeout));
        self->on_frame_(*from, std::string(parsed.payload));
        begin += parsed.consumed;
      }
      if (!from || self->stopped_)
        break;
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<ptrdiff_t>(begin));
      begin = 0;
      if (buffer.capacity() > 2 * kRoomMax && buffer.size() < kRoomMax)
        buffer.shrink_to_fit();  // a large frame's room goes back
      // Read what is there, at least 64 KiB of room; a large frame's room
      // grows as its bytes arrive (never more than 1 MiB ahead of them).
      const size_t room = std::min<size_t>(std::max<size_t>(needed, 64 * 1024), kRoomMax);
      const size_t filled = buffer.size();
      if (!self->charge(connection, std::max(filled + room, buffer.capacity()))) {
        ++self->stats_.receive_budget_refused;
        spdlog::warn(
            "peer '{}': closing its connection, partly received frames already hold {} bytes "
            "(limit {})",
            *from, self->buffered_, self->options_.receive_bytes_max);
        break;
      }
      buffer.reserve(filled + room);  // exactly the bytes charged
      buffer.resize(filled + room);
      auto [read_error, read] =
          co_await connection.stream.read_some(asio::buffer(buffer.data() + filled, room));
      buffer.resize(filled + (read_error ? 0 : read));
      if (read_error || self->stopped_) {
        if (connection.deadline->fired)
          ++self->stats_.idle_closed;
        break;
      }
    }
    self->buffered_ -= connection.charged;
    self->inbound_.erase(connection.sequence);
  }

  // Sets `connection`'s share of the receive budget to `bytes` (its
  // buffer's size); false, changing nothing, when the budget cannot hold it.
  bool charge(Inbound& connection, size_t bytes) {
    if (bytes > connection.charged &&
        buffered_ + (bytes - connection.charged) > options_.receive_bytes_max)
      return false;
    buffered_ = buffered_ - connection.charged + bytes;
    connection.charged = bytes;
    return true;
  }

  static asio::awaitable<void> write_loop(std::shared_ptr<Transport> self,
                                          std::shared_ptr<Outbound> out) {
    auto backoff = self->options_.backoff_min;
    while (!self->stopped_) {
      if (out->queue.empty()) {
        out->wake->expires_at(asio::steady_timer::time_point::max());
        co_await out->wake->async_wait(kUseTuple);
        continue;
      }
      // A frame queued longer than frame_age_max is dropped, not sent late:
      // the core relies on no message living longer (clock pruning).
      const auto oldest = std::chrono::steady_clock::now() - self->options_.frame_age_max;
      while (!out->queue.empty() && out->queued_at.front() < oldest) {
        out->queued_bytes -= out->queue.front().size();
        out->queue.pop_front();
        out->queued_at.pop_front();
        ++self->stats_.frames_dropped;
        ++self->stats_.frames_expired;
      }
      if (out->queue.empty())
        continue;
      // The receiver closes a connection idle for idle_timeout; one idle for
      // half that is closed here first, so no write races the receiver's close.
      if (out->socket && out->socket->is_open() &&
          std::chrono::steady_clock::now() - out->last_write > self->options_.idle_timeout / 2) {
        error_code ignored;
        out->socket->close(ignored);
      }
      if (!out->socket || !out->socket->is_open()) {
        const uint64_t generation = out->address_generation;
        const bool connected = co_await connect(self.get(), *out);
        if (self->stopped_)
          break;
        if (!connected || generation != out->address_generation) {
          ++self->stats_.connect_failures;
          out->wake->expires_after(backoff);
          co_await out->wake->async_wait(kUseTuple);
          backoff = std::min(backoff * 2, self->options_.backoff_max);
          continue;
        }
        ++self->stats_.connects;
        backoff = self->options_.backoff_min;
      }
      // Gather up to a batch of frames into one write.
      std::vector<asio::const_buffer> buffers;
      size_t frames = 0, bytes = 0;
      for (const std::string& frame : out->queue) {
        if (frames == kBatchFramesMax || (frames > 0 && bytes + frame.size() > kBatchBytesMax))
          break;
        buffers.emplace_back(asio::buffer(frame));
        ++frames;
        bytes += frame.size();
      }
      auto [error, written] = co_await out->stream.write(buffers);
      // Written or not, these frames are done: delivery is at most once.
      for (size_t index = 0; index < frames && !out->queue.empty(); ++index) {
        out->queued_bytes -= out->queue.front().size();
        out->queue.pop_front();
        out->queued_at.pop_front();
      }
      if (error) {
        self->stats_.frames_dropped += frames;
        error_code ignored;
        out->socket->close(ignored);
      } else {
        self->stats_.frames_sent += frames;
        out->last_write = std::chrono::steady_clock::now();
      }
    }
    out->running = false;
  }

  static asio::awaitable<bool> connect(Transport* self, Outbound& out) {
    const auto colon = out.address.rfind(':');
    if (colon == std::string::npos)
      co_return false;
    std::string host = out.address.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    const std::string port = out.address.substr(colon + 1);
    tcp::resolver resolver(self->io_);
    auto [resolve_error, endpoints] = co_await resolver.async_resolve(host, port, kUseTuple);
    if (resolve_error)
      co_return false;
    out.stream = PeerStream{};
    out.socket = std::make_unique<tcp::socket>(self->io_);
    out.stream.socket = out.socket.get();
    // Connect and handshake within handshake_timeout: a peer that accepts
    // and says nothing must not hold this peer's frames.
    auto deadline = std::make_shared<detail::Deadline>(self->io_.get_executor(), *out.socket);
    arm(deadline, milliseconds(self->options_.handshake_timeout));
    auto [error, endpoint] = co_await asio::async_connect(*out.socket, endpoints, kUseTuple);
    std::optional<std::string> id;
    if (!error) {
      out.socket->set_option(tcp::no_delay(true), error);
      // Data the peer does not acknowledge within unacked_timeout (at most
      // half the frame age limit, so a frame cannot sit in the kernel's
      // buffer past that limit either) closes the connection.
      const unsigned user_timeout_ms =
          milliseconds(std::min(self->options_.unacked_timeout, self->options_.frame_age_max / 2));
      (void)::setsockopt(out.socket->native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT,
                         &user_timeout_ms, sizeof user_timeout_ms);
      if (self->tls_context_) {
        error = co_await out.stream.start_tls(self->tls_context_, ssl::stream_base::client);
        if (error && !deadline->fired && !self->stopped_) {
          ++self->stats_.tls_refused;
          self->warn_identity("TLS handshake with '" + out.id + "' failed: " + error.message(),
                              *out.socket);
        }
      }
      const std::string greeting =
          hello(self->options_, known_by_address_only(out.id) ? std::string() : out.id);
      if (!error)
        std::tie(error, std::ignore) = co_await out.stream.write(asio::buffer(greeting));
      if (!error) {
        if (auto answer = co_await read_hello(self, out.stream, /*accepted=*/false)) {
          id = std::move(answer->node_id);
          out.cluster = std::move(answer->cluster_id);
        }
      }
      if (id && *id != out.id && !known_by_address_only(out.id)) {
        ++self->stats_.identity_refused;
        self->warn_identity(
            fmt::format("dialled '{}' at {}, and '{}' answered", out.id, out.address, *id),
            *out.socket);
        id.reset();
      }
    }
    deadline->socket = nullptr;
    deadline->timer.cancel();
    if (!id || !out.socket->is_open()) {
      if (deadline->fired)
        ++self->stats_.handshake_timeouts;
      out.stream = PeerStream{};
      out.socket.reset();
      co_return false;
    }
    out.last_write = std::chrono::steady_clock::now();
    co_return true;
  }

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
