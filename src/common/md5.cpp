#include "common/md5.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace ringkv {
namespace {

// Fetched once and reused: an implicit lookup per call measured ~350 ns per
// 16-byte key instead of ~130 ns.
const EVP_MD* md5_algorithm() {
  static EVP_MD* algorithm = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "MD5", nullptr);
    if (fetched == nullptr) {
      std::fprintf(stderr, "ringkv: OpenSSL has no MD5 implementation available\n");
      std::abort();
    }
    return fetched;
  }();
  return algorithm;
}

}  // namespace

Md5Digest md5(std::string_view data) {
  // One context per thread, reused: EVP_Digest() would allocate and free one per call.
  struct Context {
    EVP_MD_CTX* context = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(context); }
  };
  thread_local Context reusable;
  Md5Digest digest{};
  unsigned int length = 0;
  if (reusable.context == nullptr ||
      EVP_DigestInit_ex2(reusable.context, md5_algorithm(), nullptr) != 1 ||
      EVP_DigestUpdate(reusable.context, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(reusable.context, digest.data(), &length) != 1 ||
      length != digest.size()) {
    std::fprintf(stderr, "ringkv: MD5 digest failed\n");
    std::abort();
  }
  return digest;
}

uint64_t md5_high64(const Md5Digest& digest) {
  uint64_t value = 0;
  for (int index = 0; index < 8; ++index)
    value = (value << 8) | digest[index];
  return value;
}

}  // namespace ringkv
