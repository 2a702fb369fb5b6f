// The on-disk record of one key: its SiblingSet in a canonical byte form.
//
//   u8      format (1)
//   varint  actor entry count
//   entries actor (u64 big-endian), counter (varint >= 1), version count (varint)
//           versions, newest first: flags (u8; bit 0 = tombstone, others 0),
//           timestamp_ms (varint), value (varint length + bytes; empty for a tombstone)
//
// Canonical: a SiblingSet has exactly one encoding (sorted actors, minimal
// varints), so equal sets hash equally in Merkle trees. Protobuf is not
// canonical, hence our own codec. Full format: docs/FORMATS.md —
// do not change without a format version bump.
//
// decode_record() rejects malformed bytes (truncation, bad counts, broken
// SiblingSet invariants, trailing bytes) with Code::corruption, and never
// allocates more than the input could hold.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"
#include "version/sibling_set.h"

namespace ringkv {

std::string encode_record(const SiblingSet& set);
Result<SiblingSet> decode_record(std::string_view bytes);

}  // namespace ringkv
