// Cluster CA and node certificates; see peer_certs.h.
#include "net/peer_certs.h"

#include <fmt/format.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>

namespace ringkv::net {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* pointer) const { Free(pointer); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Certificate = std::unique_ptr<X509, Deleter<X509, X509_free>>;

std::string openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0)
    return "unknown OpenSSL error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  return text;
}

Status failed(std::string_view what) {
  return {Code::io_error, fmt::format("{}: {}", what, openssl_reason())};
}

Key new_key() {
  return Key(EVP_EC_gen("P-256"));
}

// Adds extension `nid` with `value` (OpenSSL's config syntax) to `certificate`.
bool add_extension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr)
    return false;
  const bool added = X509_add_ext(certificate, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return added;
}

// A certificate for `key`'s public half, named `common_name`, valid for
// `days` from now, with a random serial; not yet signed.
Certificate new_certificate(EVP_PKEY* key, const std::string& common_name, int days) {
  Certificate certificate(X509_new());
  if (!certificate)
    return nullptr;
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1)
    return nullptr;
  serial[0] &= 0x7f;  // positive
  BIGNUM* number = BN_bin2bn(serial, sizeof serial, nullptr);
  const bool ok =
      number != nullptr && X509_set_version(certificate.get(), 2) == 1 &&
      BN_to_ASN1_INTEGER(number, X509_get_serialNumber(certificate.get())) != nullptr &&
      X509_gmtime_adj(X509_getm_notBefore(certificate.get()), -3600) != nullptr &&
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()), 86400L * days) != nullptr &&
      X509_set_pubkey(certificate.get(), key) == 1 &&
      X509_NAME_add_entry_by_txt(X509_get_subject_name(certificate.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1,
                                 -1, 0) == 1;
  BN_free(number);
  return ok ? std::move(certificate) : nullptr;
}

// Writes `text` to `path` with `mode`, refusing to replace a file.
Status write_new_file(const std::string& path, const std::string& text, mode_t mode) {
  if (std::filesystem::exists(path)) {
    return {
        Code::already_exists,
        fmt::format("'{}' exists: move it away to issue a new one (nothing was written)", path)};
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);  // never replaces
  FILE* file = fd >= 0 ? ::fdopen(fd, "w") : nullptr;
  if (file == nullptr) {
    if (fd >= 0)
      ::close(fd);
    return {Code::io_error, fmt::format("cannot create '{}'", path)};
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed)
    return {Code::io_error, fmt::format("cannot write '{}'", path)};
  return Status::Ok();
}

std::string pem_of(X509* certificate) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, certificate);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(size));
  BIO_free(bio);
  return out;
}

std::string pem_of(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(size));
  BIO_free(bio);
  return out;
}

// Writes the pair (key first: a certificate without its key is useless).
Result<IssuedFiles> write_pair(const std::string& directory, const std::string& name,
                               X509* certificate, EVP_PKEY* key) {
  IssuedFiles files{(std::filesystem::path(directory) / (name + ".crt")).string(),
                    (std::filesystem::path(directory) / (name + ".key")).string()};
  if (std::filesystem::exists(files.certificate)) {
    return Status(Code::already_exists, fmt::format("'{}' exists: move it away to issue a new "
                                                    "one (nothing was written)",
                                                    files.certificate));
  }
  if (Status status = write_new_file(files.key, pem_of(key), 0600); !status.ok())
    return status;
  if (Status status = write_new_file(files.certificate, pem_of(certificate), 0644); !status.ok())
    return status;
  return files;
}

template <typename T>
T* read_pem(const std::string& path, T* (*reader)(FILE*, T**, pem_password_cb*, void*)) {
  FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr)
    return nullptr;
  T* out = reader(file, nullptr, nullptr, nullptr);
  std::fclose(file);
  return out;
}

}  // namespace

Result<IssuedFiles> create_cluster_ca(const std::string& directory, int days) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error)
    return Status(Code::io_error,
                  fmt::format("cannot create '{}': {}", directory, error.message()));
  Key key = new_key();
  if (!key)
    return failed("cannot make a key");
  Certificate certificate = new_certificate(key.get(), "ringkv cluster CA", days);
  if (!certificate)
    return failed("cannot make a certificate");
  X509_set_issuer_name(certificate.get(), X509_get_subject_name(certificate.get()));
  if (!add_extension(certificate.get(), certificate.get(), NID_basic_constraints,
                     "critical,CA:TRUE,pathlen:0") ||
      !add_extension(certificate.get(), certificate.get(), NID_key_usage,
                     "critical,keyCertSign,cRLSign") ||
      !add_extension(certificate.get(), certificate.get(), NID_subject_key_identifier, "hash"))
    return failed("cannot make the CA's extensions");
  if (X509_sign(certificate.get(), key.get(), EVP_sha256()) == 0)
    return failed("cannot sign the CA certificate");
  return write_pair(directory, "ca", certificate.get(), key.get());
}

Result<IssuedFiles> issue_node_certificate(const std::string& directory, const std::string& node_id,
                                           const std::vector<std::string>& hosts, int days) {
  if (node_id.empty() || node_id == "ca" || node_id.find('/') != std::string::npos ||
      node_id.find(',') != std::string::npos || node_id.front() == '.') {
    return Status(Code::invalid_argument,
                  fmt::format("'{}' cannot name a node's certificate files", node_id));
  }
  const std::string ca_path = (std::filesystem::path(directory) / "ca.crt").string();
  const std::string ca_key_path = (std::filesystem::path(directory) / "ca.key").string();
  Certificate ca(read_pem<X509>(ca_path, PEM_read_X509));
  Key ca_key(read_pem<EVP_PKEY>(ca_key_path, PEM_read_PrivateKey));
  if (!ca || !ca_key) {
    ERR_clear_error();
    return Status(Code::invalid_argument,
                  fmt::format("cannot read the cluster CA from '{}' and '{}': create it first "
                              "with `ringkv cert ca --dir {}`",
                              ca_path, ca_key_path, directory));
  }
  Key key = new_key();
  if (!key)
    return failed("cannot make a key");
  Certificate certificate = new_certificate(key.get(), node_id, days);
  if (!certificate)
    return failed("cannot make a certificate");
  X509_set_issuer_name(certificate.get(), X509_get_subject_name(ca.get()));
  std::string names = "DNS:" + node_id;
  for (const std::string& host : hosts) {
    const bool ip = host.find_first_not_of("0123456789.") == std::string::npos ||
                    host.find(':') != std::string::npos;
    names += (ip ? ",IP:" : ",DNS:") + host;
  }
  if (!add_extension(certificate.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(certificate.get(), ca.get(), NID_key_usage,
                     "critical,digitalSignature,keyEncipherment") ||
      !add_extension(certificate.get(), ca.get(), NID_ext_key_usage, "serverAuth,clientAuth") ||
      !add_extension(certificate.get(), ca.get(), NID_subject_alt_name, names) ||
      !add_extension(certificate.get(), ca.get(), NID_authority_key_identifier, "keyid")) {
    return Status(
        Code::invalid_argument,
        fmt::format("cannot make the certificate's names from '{}': {}", names, openssl_reason()));
  }
  if (X509_sign(certificate.get(), ca_key.get(), EVP_sha256()) == 0)
    return failed("cannot sign the node certificate");
  return write_pair(directory, node_id, certificate.get(), key.get());
}

Result<std::string> revoke_certificate(const std::string& directory,
                                       const std::string& certificate_path) {
  const std::filesystem::path base(directory);
  const std::string ca_path = (base / "ca.crt").string();
  const std::string ca_key_path = (base / "ca.key").string();
  const std::string crl_path = (base / "ca.crl").string();
  Certificate ca(read_pem<X509>(ca_path, PEM_read_X509));
  Key ca_key(read_pem<EVP_PKEY>(ca_key_path, PEM_read_PrivateKey));
  if (!ca || !ca_key) {
    ERR_clear_error();
    return Status(Code::invalid_argument,
                  fmt::format("cannot read the cluster CA from '{}' and '{}' (the CA's key is "
                              "needed to sign the revocation list)",
                              ca_path, ca_key_path));
  }
  Certificate revoked(read_pem<X509>(certificate_path, PEM_read_X509));
  if (!revoked) {
    ERR_clear_error();
    return Status(Code::invalid_argument,
                  fmt::format("cannot read a certificate from '{}'", certificate_path));
  }
  if (X509_check_issued(ca.get(), revoked.get()) != X509_V_OK) {
    return Status(Code::invalid_argument,
                  fmt::format("'{}' was not issued by the CA '{}'", certificate_path, ca_path));
  }
  using Crl = std::unique_ptr<X509_CRL, Deleter<X509_CRL, X509_CRL_free>>;
  Crl list(read_pem<X509_CRL>(crl_path, PEM_read_X509_CRL));
  ERR_clear_error();
  if (!list) {
    list.reset(X509_CRL_new());
    if (!list || X509_CRL_set_version(list.get(), 1) != 1 ||
        X509_CRL_set_issuer_name(list.get(), X509_get_subject_name(ca.get())) != 1)
      return failed("cannot make a revocation list");
  }
  const ASN1_INTEGER* serial = X509_get0_serialNumber(revoked.get());
  bool listed = false;
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(list.get());
  for (int index = 0; entries != nullptr && index < sk_X509_REVOKED_num(entries); ++index) {
    listed = listed ||
             ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(entries, index)),
                              serial) == 0;
  }
  if (!listed) {
    X509_REVOKED* entry = X509_REVOKED_new();
    ASN1_TIME* when = ASN1_TIME_new();
    const bool made =
        entry != nullptr && when != nullptr && X509_gmtime_adj(when, 0) != nullptr &&
        X509_REVOKED_set_serialNumber(entry, const_cast<ASN1_INTEGER*>(serial)) == 1 &&
        X509_REVOKED_set_revocationDate(entry, when) == 1 &&
        X509_CRL_add0_revoked(list.get(), entry) == 1;
    ASN1_TIME_free(when);
    if (!made) {
      X509_REVOKED_free(entry);
      return failed("cannot add the certificate to the revocation list");
    }
  }
  // Valid from an hour ago (clocks a little behind) for ten years: a list
  // past its next update would make every peer fail verification.
  ASN1_TIME* from = ASN1_TIME_new();
  ASN1_TIME* until = ASN1_TIME_new();
  const bool dated = from != nullptr && until != nullptr &&
                     X509_gmtime_adj(from, -3600) != nullptr &&
                     X509_time_adj_ex(until, 3650, 0, nullptr) != nullptr &&
                     X509_CRL_set1_lastUpdate(list.get(), from) == 1 &&
                     X509_CRL_set1_nextUpdate(list.get(), until) == 1;
  ASN1_TIME_free(from);
  ASN1_TIME_free(until);
  if (!dated || X509_CRL_sort(list.get()) != 1 ||
      X509_CRL_sign(list.get(), ca_key.get(), EVP_sha256()) == 0)
    return failed("cannot sign the revocation list");
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(bio, list.get());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  const std::string text(data, static_cast<size_t>(size));
  BIO_free(bio);
  const std::string temporary = crl_path + ".tmp";
  std::filesystem::remove(temporary);
  if (Status written = write_new_file(temporary, text, 0644); !written.ok())
    return written;
  std::error_code error;
  std::filesystem::rename(temporary, crl_path, error);
  if (error)
    return Status(Code::io_error,
                  fmt::format("cannot replace '{}': {}", crl_path, error.message()));
  return crl_path;
}

std::optional<std::string> peer_certificate_node_id(SSL* ssl) {
  X509* certificate = SSL_get0_peer_certificate(ssl);
  if (certificate == nullptr)
    return std::nullopt;
  X509_NAME* subject = X509_get_subject_name(certificate);
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0)
    return std::nullopt;
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  const unsigned char* bytes = ASN1_STRING_get0_data(data);
  return std::string(reinterpret_cast<const char*>(bytes),
                     static_cast<size_t>(ASN1_STRING_length(data)));
}

}  // namespace ringkv::net
