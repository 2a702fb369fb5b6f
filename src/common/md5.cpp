#include "common/md5.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace ringkv {
namespace {

// Fetched once and reused: an implicit lookup per call measured ~350 ns per
// 16-byte key instead of ~130 ns (STACK.md).
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
  Md5Digest digest{};
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &length, md5_algorithm(), nullptr) != 1 ||
      length != digest.size()) {
    std::fprintf(stderr, "ringkv: EVP_Digest(MD5) failed\n");
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
