// PeerStream and the peer transport's helpers; see peer_stream.h.
#include "net/peer_stream.h"

#include <fmt/format.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>

namespace ringkv::net::detail {

Result<std::shared_ptr<ssl::context>> load_tls(const PeerTlsFiles& files,
                                               const std::string& self_id) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls);
  SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_3_VERSION);
  error_code error;
  auto fail = [&](std::string_view what, const std::string& path) {
    return Status(Code::invalid_argument, fmt::format("peer TLS: cannot load the {} '{}': {}", what,
                                                      path, error.message()));
  };
  context->load_verify_file(files.ca_file, error);
  if (error)
    return fail("cluster CA", files.ca_file);
  if (!files.crl_file.empty()) {
    // Revoked certificates are refused at the handshake, both ways.
    FILE* file = std::fopen(files.crl_file.c_str(), "r");
    X509_CRL* list = file != nullptr ? PEM_read_X509_CRL(file, nullptr, nullptr, nullptr) : nullptr;
    if (file != nullptr)
      std::fclose(file);
    X509_STORE* store = SSL_CTX_get_cert_store(context->native_handle());
    const bool added = list != nullptr && X509_STORE_add_crl(store, list) == 1;
    X509_CRL_free(list);
    if (!added) {
      ERR_clear_error();
      return Status(Code::invalid_argument,
                    fmt::format("peer TLS: cannot load the revocation list '{}' (make it with "
                                "`ringkv cert revoke`)",
                                files.crl_file));
    }
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
  }
  context->use_certificate_chain_file(files.cert_file, error);
  if (error)
    return fail("certificate", files.cert_file);
  context->use_private_key_file(files.key_file, ssl::context::pem, error);
  if (error)
    return fail("private key", files.key_file);
  if (SSL_CTX_check_private_key(context->native_handle()) != 1) {
    ERR_clear_error();
    return Status(Code::invalid_argument,
                  fmt::format("peer TLS: the key '{}' does not belong to the certificate '{}'",
                              files.key_file, files.cert_file));
  }
  // This node's certificate must name it: the others take its id from it.
  std::unique_ptr<SSL, void (*)(SSL*)> probe(SSL_new(context->native_handle()), SSL_free);
  X509* own = probe ? SSL_get_certificate(probe.get()) : nullptr;
  std::string named;
  if (own != nullptr) {
    char common_name[256] = {};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(own), NID_commonName, common_name,
                                  sizeof common_name) > 0)
      named = common_name;
  }
  if (named != self_id) {
    return Status(Code::invalid_argument,
                  fmt::format("peer TLS: the certificate '{}' is for node '{}', this node is '{}': "
                              "issue one with `ringkv cert node --id {}`",
                              files.cert_file, named, self_id, self_id));
  }
  context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  return context;
}

// Whether a warning last given at `last` may be given again, noting now if
// so: a flood of refused connections logs a line every 10 s, not one each.
bool warning_due(std::chrono::steady_clock::time_point& last) {
  const auto now = std::chrono::steady_clock::now();
  if (now - last < std::chrono::seconds(10))
    return false;
  last = now;
  return true;
}

// A peer known only by its address (a join contact): whoever answers there.
bool known_by_address_only(std::string_view id) {
  return id.starts_with("contact ");
}

}  // namespace ringkv::net::detail
