// TlsStream: a TLS server connection driven by OpenSSL directly (the HTTP
// server's transport when a certificate is configured).
//
// A BIO of our own over two buffers stands between OpenSSL and the socket: the
// Session moves received bytes into `input` and sends what OpenSSL wrote to
// `output`, with Asio doing the socket I/O. This replaces asio::ssl::stream,
// whose pair of memory BIOs and layer of composed operations cost more CPU than
// the TLS work itself on a small request (docs/ARCHITECTURE.md).
//
// Thread safety: one connection, used on the loop thread only.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include <memory>
#include <optional>
#include <string>

namespace ringkv::net::detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// A TLS connection driven by OpenSSL directly, through a BIO of our own over
// two buffers that the Session moves to and from the socket with Asio: what was
// received waits in `input` for OpenSSL, the records it makes wait in `output`
// to be sent. Asio's ssl::stream does the same through a pair of memory BIOs
// and its own layer of composed operations, and made the TLS work of a small
// HTTPS GET about twice nginx's.
struct TlsStream {
  struct SslFree {
    void operator()(SSL* ssl) const { SSL_free(ssl); }
  };
  // On the heap, so that its address, which the BIO keeps, survives moves.
  struct Buffers {
    beast::flat_buffer input;  // received, not yet read by OpenSSL
    std::string output;        // made by OpenSSL, not yet sent
    std::string sending;       // a response's records while they are sent
  };

  tcp::socket socket;
  std::unique_ptr<Buffers> buffers;
  std::unique_ptr<SSL, SslFree> ssl;  // owns its BIO

  asio::any_io_executor get_executor() { return socket.get_executor(); }
};

// SSL_get_error() needs an empty error queue before each TLS call; errors left by
// any other OpenSSL use on this thread are dropped here (peeking first: clearing
// an empty queue costs more than looking at it).
inline void clear_tls_errors() {
  if (ERR_peek_error() != 0)
    ERR_clear_error();
}

// A TLS failure as an error_code, with OpenSSL's reason when it gave one. The
// error queue is left empty, as the next SSL call on this thread requires.
error_code tls_error(int ssl_error);

// A TLS server connection on `socket`, or std::nullopt (the connection is then
// closed unanswered) when OpenSSL cannot make one.
std::optional<TlsStream> make_tls_stream(ssl::context& context, tcp::socket socket);

}  // namespace ringkv::net::detail
