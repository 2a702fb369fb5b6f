// MD5 (RFC 1321) written out, for the short inputs the ring hashes (keys).
//
// OpenSSL's EVP interface cost ~1,550 instructions per 15-byte key, about
// half of it dispatch (context init, provider lookup, cleansing), and every
// GET hashed its key more than once (the preference list, the data key): ~12% of
// a GET's user-space instructions (callgrind). This is the plain algorithm:
// no allocation, no dispatch. Checked against the RFC's vectors and against
// OpenSSL on random inputs (tests/property/codec_properties_test.cpp).
#include "common/md5.h"

#include <cstdint>
#include <cstring>

namespace ringkv {
namespace {

// The round functions (RFC 1321 section 3.4).
struct F {
  static uint32_t mix(uint32_t b, uint32_t c, uint32_t d) { return (b & c) | (~b & d); }
};
struct G {
  static uint32_t mix(uint32_t b, uint32_t c, uint32_t d) { return (d & b) | (~d & c); }
};
struct H {
  static uint32_t mix(uint32_t b, uint32_t c, uint32_t d) { return b ^ c ^ d; }
};
struct I {
  static uint32_t mix(uint32_t b, uint32_t c, uint32_t d) { return c ^ (b | ~d); }
};

// a = b + ((a + mix(b, c, d) + word + sine) <<< shift)
template <typename Round>
inline void step(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t word, uint32_t sine,
                 int shift) {
  a += Round::mix(b, c, d) + word + sine;
  a = b + ((a << shift) | (a >> (32 - shift)));
}

uint32_t load_le32(const uint8_t* bytes) {
  return uint32_t{bytes[0]} | uint32_t{bytes[1]} << 8 | uint32_t{bytes[2]} << 16 |
         uint32_t{bytes[3]} << 24;
}

// One 64-byte block into the state (RFC 1321 section 3.4), its 64 steps
// written out (the sines are floor(abs(sin(i + 1)) * 2^32)).
void transform(uint32_t state[4], const uint8_t* block) {
  uint32_t words[16];
  for (int index = 0; index < 16; ++index)
    words[index] = load_le32(block + 4 * index);
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  step<F>(a, b, c, d, words[0], 0xd76aa478, 7);
  step<F>(d, a, b, c, words[1], 0xe8c7b756, 12);
  step<F>(c, d, a, b, words[2], 0x242070db, 17);
  step<F>(b, c, d, a, words[3], 0xc1bdceee, 22);
  step<F>(a, b, c, d, words[4], 0xf57c0faf, 7);
  step<F>(d, a, b, c, words[5], 0x4787c62a, 12);
  step<F>(c, d, a, b, words[6], 0xa8304613, 17);
  step<F>(b, c, d, a, words[7], 0xfd469501, 22);
  step<F>(a, b, c, d, words[8], 0x698098d8, 7);
  step<F>(d, a, b, c, words[9], 0x8b44f7af, 12);
  step<F>(c, d, a, b, words[10], 0xffff5bb1, 17);
  step<F>(b, c, d, a, words[11], 0x895cd7be, 22);
  step<F>(a, b, c, d, words[12], 0x6b901122, 7);
  step<F>(d, a, b, c, words[13], 0xfd987193, 12);
  step<F>(c, d, a, b, words[14], 0xa679438e, 17);
  step<F>(b, c, d, a, words[15], 0x49b40821, 22);
  step<G>(a, b, c, d, words[1], 0xf61e2562, 5);
  step<G>(d, a, b, c, words[6], 0xc040b340, 9);
  step<G>(c, d, a, b, words[11], 0x265e5a51, 14);
  step<G>(b, c, d, a, words[0], 0xe9b6c7aa, 20);
  step<G>(a, b, c, d, words[5], 0xd62f105d, 5);
  step<G>(d, a, b, c, words[10], 0x02441453, 9);
  step<G>(c, d, a, b, words[15], 0xd8a1e681, 14);
  step<G>(b, c, d, a, words[4], 0xe7d3fbc8, 20);
  step<G>(a, b, c, d, words[9], 0x21e1cde6, 5);
  step<G>(d, a, b, c, words[14], 0xc33707d6, 9);
  step<G>(c, d, a, b, words[3], 0xf4d50d87, 14);
  step<G>(b, c, d, a, words[8], 0x455a14ed, 20);
  step<G>(a, b, c, d, words[13], 0xa9e3e905, 5);
  step<G>(d, a, b, c, words[2], 0xfcefa3f8, 9);
  step<G>(c, d, a, b, words[7], 0x676f02d9, 14);
  step<G>(b, c, d, a, words[12], 0x8d2a4c8a, 20);
  step<H>(a, b, c, d, words[5], 0xfffa3942, 4);
  step<H>(d, a, b, c, words[8], 0x8771f681, 11);
  step<H>(c, d, a, b, words[11], 0x6d9d6122, 16);
  step<H>(b, c, d, a, words[14], 0xfde5380c, 23);
  step<H>(a, b, c, d, words[1], 0xa4beea44, 4);
  step<H>(d, a, b, c, words[4], 0x4bdecfa9, 11);
  step<H>(c, d, a, b, words[7], 0xf6bb4b60, 16);
  step<H>(b, c, d, a, words[10], 0xbebfbc70, 23);
  step<H>(a, b, c, d, words[13], 0x289b7ec6, 4);
  step<H>(d, a, b, c, words[0], 0xeaa127fa, 11);
  step<H>(c, d, a, b, words[3], 0xd4ef3085, 16);
  step<H>(b, c, d, a, words[6], 0x04881d05, 23);
  step<H>(a, b, c, d, words[9], 0xd9d4d039, 4);
  step<H>(d, a, b, c, words[12], 0xe6db99e5, 11);
  step<H>(c, d, a, b, words[15], 0x1fa27cf8, 16);
  step<H>(b, c, d, a, words[2], 0xc4ac5665, 23);
  step<I>(a, b, c, d, words[0], 0xf4292244, 6);
  step<I>(d, a, b, c, words[7], 0x432aff97, 10);
  step<I>(c, d, a, b, words[14], 0xab9423a7, 15);
  step<I>(b, c, d, a, words[5], 0xfc93a039, 21);
  step<I>(a, b, c, d, words[12], 0x655b59c3, 6);
  step<I>(d, a, b, c, words[3], 0x8f0ccc92, 10);
  step<I>(c, d, a, b, words[10], 0xffeff47d, 15);
  step<I>(b, c, d, a, words[1], 0x85845dd1, 21);
  step<I>(a, b, c, d, words[8], 0x6fa87e4f, 6);
  step<I>(d, a, b, c, words[15], 0xfe2ce6e0, 10);
  step<I>(c, d, a, b, words[6], 0xa3014314, 15);
  step<I>(b, c, d, a, words[13], 0x4e0811a1, 21);
  step<I>(a, b, c, d, words[4], 0xf7537e82, 6);
  step<I>(d, a, b, c, words[11], 0xbd3af235, 10);
  step<I>(c, d, a, b, words[2], 0x2ad7d2bb, 15);
  step<I>(b, c, d, a, words[9], 0xeb86d391, 21);
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

Md5Digest compute(std::string_view data) {
  uint32_t state[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  const auto* bytes = reinterpret_cast<const uint8_t*>(data.data());
  size_t left = data.size();
  for (; left >= 64; left -= 64, bytes += 64)
    transform(state, bytes);
  // The tail, a 1 bit, zeros, and the length in bits (little-endian): one
  // block, or two when the tail leaves no room for the length.
  uint8_t tail[128] = {};
  if (left > 0)
    std::memcpy(tail, bytes, left);
  tail[left] = 0x80;
  const size_t blocks = left < 56 ? 1 : 2;
  const uint64_t bits = uint64_t{data.size()} * 8;
  for (int index = 0; index < 8; ++index)
    tail[blocks * 64 - 8 + index] = static_cast<uint8_t>(bits >> (8 * index));
  for (size_t block = 0; block < blocks; ++block)
    transform(state, tail + 64 * block);
  Md5Digest digest;
  for (int word = 0; word < 4; ++word) {
    for (int index = 0; index < 4; ++index)
      digest[4 * word + index] = static_cast<uint8_t>(state[word] >> (8 * index));
  }
  return digest;
}

// The last short input hashed on this thread and its digest: a GET hashes
// its key for the preference list, the data key and the read (~660
// instructions each), and passing the digest along instead would thread it
// through every layer between them.
constexpr size_t kRememberedBytesMax = 128;
struct Remembered {
  size_t size = SIZE_MAX;  // none yet
  char bytes[kRememberedBytesMax];
  Md5Digest digest;
};
thread_local Remembered remembered;

}  // namespace

Md5Digest md5(std::string_view data) {
  if (data.size() > kRememberedBytesMax)
    return compute(data);
  Remembered& last = remembered;
  if (last.size == data.size() &&
      (data.empty() || std::memcmp(last.bytes, data.data(), data.size()) == 0))
    return last.digest;
  last.digest = compute(data);
  last.size = data.size();
  if (!data.empty())
    std::memcpy(last.bytes, data.data(), data.size());
  return last.digest;
}

uint64_t md5_high64(const Md5Digest& digest) {
  uint64_t value = 0;
  for (int index = 0; index < 8; ++index)
    value = (value << 8) | digest[index];
  return value;
}

}  // namespace ringkv
