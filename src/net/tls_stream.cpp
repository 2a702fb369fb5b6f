// TlsStream: the BIO that connects OpenSSL to the Session's buffers, and the
// making of a server connection (see tls_stream.h).
#include "net/tls_stream.h"

#include <openssl/bio.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/error.hpp>

namespace ringkv::net::detail {
namespace {

TlsStream::Buffers& bio_buffers(BIO* bio) {
  return *static_cast<TlsStream::Buffers*>(BIO_get_data(bio));
}

int tls_bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  bio_buffers(bio).output.append(data, static_cast<size_t>(size));
  return size;
}

// Reads what the Session received; asks to be retried when that is used up.
int tls_bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  beast::flat_buffer& input = bio_buffers(bio).input;
  if (input.size() == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const size_t copied =
      asio::buffer_copy(asio::buffer(data, static_cast<size_t>(size)), input.data());
  input.consume(copied);
  return static_cast<int>(copied);
}

long tls_bio_ctrl(BIO*, int command, long, void*) {
  return command == BIO_CTRL_FLUSH ? 1 : 0;  // the Session sends `output` after each call
}

// The BIO_METHOD, made once (thread-safe static initialisation) and kept.
const BIO_METHOD* tls_bio_method() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* made = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ringkv tls");
    if (made != nullptr) {
      BIO_meth_set_write(made, tls_bio_write);
      BIO_meth_set_read(made, tls_bio_read);
      BIO_meth_set_ctrl(made, tls_bio_ctrl);
    }
    return made;
  }();
  return method;
}

}  // namespace

error_code tls_error(int ssl_error) {
  const unsigned long reason = ERR_get_error();
  ERR_clear_error();
  if (ssl_error == SSL_ERROR_ZERO_RETURN)
    return asio::error::eof;  // the peer's close_notify
  if (reason != 0)
    return error_code(static_cast<int>(reason), asio::error::get_ssl_category());
  return ssl::error::stream_truncated;  // the connection ended without close_notify
}

std::optional<TlsStream> make_tls_stream(ssl::context& context, tcp::socket socket) {
  std::unique_ptr<SSL, TlsStream::SslFree> ssl(SSL_new(context.native_handle()));
  const BIO_METHOD* method = tls_bio_method();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (ssl == nullptr || bio == nullptr) {
    BIO_free(bio);
    ERR_clear_error();
    return std::nullopt;
  }
  auto buffers = std::make_unique<TlsStream::Buffers>();
  BIO_set_data(bio, buffers.get());
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl.get(), bio, bio);  // the SSL owns the BIO
  // The record buffers are kept while the connection lives: with
  // SSL_MODE_RELEASE_BUFFERS (Asio's choice) they are freed and allocated again
  // for every record; keeping them costs ~34 KiB per connection (~35 MiB at the
  // default connection limit).
  SSL_clear_mode(ssl.get(), SSL_MODE_RELEASE_BUFFERS);
  return TlsStream{std::move(socket), std::move(buffers), std::move(ssl)};
}

}  // namespace ringkv::net::detail
