// PeerStream: the bytes of one peer connection, the socket itself or TLS
// over it, with the awaitable reads and writes the peer transport uses; and
// the helpers the transport shares with nothing else: the peer port's TLS
// context, the rate limit of its warnings, join-contact pseudo-peers.
//
// Thread safety: the loop thread only.
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "common/status.h"
#include "net/peer_certs.h"
#include "net/peer_transport.h"

namespace ringkv::net::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// A connection's bytes: the socket itself, or TLS over it.
struct PeerStream {
  tcp::socket* socket = nullptr;
  std::shared_ptr<ssl::context> context;  // the TLS stream's, kept while it lives
  std::unique_ptr<ssl::stream<tcp::socket&>> tls;

  template <typename Buffers>
  asio::awaitable<std::tuple<error_code, size_t>> write(const Buffers& buffers) {
    auto [error, written] = tls ? co_await asio::async_write(*tls, buffers, kUseTuple)
                                : co_await asio::async_write(*socket, buffers, kUseTuple);
    co_return std::make_tuple(error, written);
  }
  asio::awaitable<std::tuple<error_code, size_t>> read(asio::mutable_buffer buffer) {
    auto [error, read] = tls ? co_await asio::async_read(*tls, buffer, kUseTuple)
                             : co_await asio::async_read(*socket, buffer, kUseTuple);
    co_return std::make_tuple(error, read);
  }
  asio::awaitable<std::tuple<error_code, size_t>> read_some(asio::mutable_buffer buffer) {
    auto [error, read] = tls ? co_await tls->async_read_some(buffer, kUseTuple)
                             : co_await socket->async_read_some(buffer, kUseTuple);
    co_return std::make_tuple(error, read);
  }
  // Starts TLS over the socket with `shared` and runs the handshake as
  // `side`; the error, if it failed.
  asio::awaitable<error_code> start_tls(std::shared_ptr<ssl::context> shared,
                                        ssl::stream_base::handshake_type side) {
    context = std::move(shared);
    tls = std::make_unique<ssl::stream<tcp::socket&>>(*socket, *context);
    auto [error] = co_await tls->async_handshake(side, kUseTuple);
    co_return error;
  }
  // The node id the other side's certificate names (TLS only).
  std::optional<std::string> certified_id() {
    return tls ? peer_certificate_node_id(tls->native_handle()) : std::nullopt;
  }
};

// The TLS context of the peer port: TLS 1.3, this node's certificate (which
// must name `self_id`), and peers verified against the cluster CA alone, both
// ways. An error says which file is wrong and how to make a right one.
Result<std::shared_ptr<ssl::context>> load_tls(const PeerTlsFiles& files,
                                               const std::string& self_id);

// Whether a warning last given at `last` may be given again, noting now if
// so: a flood of refused connections logs a line every 10 s, not one each.
bool warning_due(std::chrono::steady_clock::time_point& last);

// A peer known only by its address (a join contact): whoever answers there.
bool known_by_address_only(std::string_view id);

}  // namespace ringkv::net::detail
