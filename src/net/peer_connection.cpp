// A peer connection's life (the peer transport; see peer_transport.h and
// peer_transport_state.h): the hello handshake both ways, an accepted
// connection's frames within the receive budget, and a peer's queue written
// on the connection this node dials, reconnecting with backoff.
#include "net/peer_transport_state.h"

// As in http_server.cpp: a known g++ 12 false positive on Asio's coroutine
// frame allocator; the sanitizer build checks the real pairing.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <vector>

#include "wire/frame.h"
#include "wire/peer_hello.h"

namespace ringkv::net::detail {
namespace {

// Frames written in one gather write at most (and their bytes).
constexpr size_t kBatchFramesMax = 64;
constexpr size_t kBatchBytesMax = 1 << 20;
// A connection's read buffer is never more than this ahead of the bytes received.
constexpr size_t kRoomMax = 1 << 20;

}  // namespace

// Reads the other side's hello; the hello, or nullopt (and a log line).
// `accepted`: the other side dialled this node.
asio::awaitable<std::optional<PeerHello>> Transport::read_hello(Transport* self, PeerStream& stream,
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

void Transport::warn_identity(const std::string& what, tcp::socket& socket) {
  if (!warning_due(last_identity_warning_))
    return;
  error_code ignored;
  spdlog::warn(
      "peer connection refused: {} (at {}; {} TLS handshakes and {} identities "
      "refused so far)",
      what, socket.remote_endpoint(ignored).address().to_string(), stats_.tls_refused,
      stats_.identity_refused);
}

void Transport::warn_other_cluster(const std::string& id, tcp::socket& socket,
                                   const std::string& cluster) {
  if (!warning_due(last_cluster_warning_))
    return;
  error_code ignored;
  spdlog::warn(
      "peer connection refused: node '{}' at {} belongs to cluster '{}', this node to '{}' "
      "({} refused so far); a node points at the wrong cluster, or was removed from this one",
      id, socket.remote_endpoint(ignored).address().to_string(), cluster, options_.cluster_id,
      stats_.other_cluster);
}

asio::awaitable<void> Transport::read_loop(std::shared_ptr<Transport> self, tcp::socket socket) {
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
bool Transport::charge(Inbound& connection, size_t bytes) {
  if (bytes > connection.charged &&
      buffered_ + (bytes - connection.charged) > options_.receive_bytes_max)
    return false;
  buffered_ = buffered_ - connection.charged + bytes;
  connection.charged = bytes;
  return true;
}

asio::awaitable<void> Transport::write_loop(std::shared_ptr<Transport> self,
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

asio::awaitable<bool> Transport::connect(Transport* self, Outbound& out) {
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
    (void)::setsockopt(out.socket->native_handle(), IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms,
                       sizeof user_timeout_ms);
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

}  // namespace ringkv::net::detail
