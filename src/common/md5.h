// MD5 of a key: its 128-bit point on the ring (Dynamo §4.2).
//
// MD5 is used for placement, not security: it spreads keys evenly and is what
// Dynamo specifies. The digest is big-endian bytes, so comparing digests as byte
// strings orders them as 128-bit numbers.
//
// Thread safety: md5() may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace ringkv {

using Md5Digest = std::array<uint8_t, 16>;

Md5Digest md5(std::string_view data);

// The first 64 bits of the digest as a number (the high half of the ring point).
uint64_t md5_high64(const Md5Digest& digest);

}  // namespace ringkv
