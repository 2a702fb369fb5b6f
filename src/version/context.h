// The client context: an opaque token carrying the version vector of what a
// client read, so that its next put supersedes exactly that (README.md, "API (v1)").
//
// Token = base64url (no padding) of:
//   u8      format version (1)
//   varint  entry count
//   entries actor (u64 big-endian), counter (varint >= 1); actors strictly ascending
//   u32     check: low 32 bits of XXH3-64 of everything before it (little-endian)
// The format is in docs/FORMATS.md: do not change it without a format bump.
//
// Decoding rejects anything malformed (bad base64url, unknown format, unsorted
// or duplicate actors, zero counters, truncation, trailing bytes, a failed
// check) with a message fit for a 400 response. The check catches corrupted or
// hand-edited tokens, which would otherwise silently change what a put supersedes.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "version/version_vector.h"

namespace ringkv {

std::string encode_context(const VersionVector& context);
Result<VersionVector> decode_context(std::string_view token);

}  // namespace ringkv
