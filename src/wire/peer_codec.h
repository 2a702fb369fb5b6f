// The internode message codec: PeerMessage <-> one Protocol Buffers Envelope
// (src/wire/peer.proto). Protobuf stays in this folder; the core sees plain
// values (cluster/messages.h).
//
// decode_peer_message() rejects, with `corruption`, bytes that do not parse,
// an empty envelope, out-of-range enums or codes, invalid store specs,
// counters over kCounterMax, and sibling sets or layouts their own codecs
// reject. It never refuses valid data for its size (limits are enforced at
// the client edge only; docs/ARCHITECTURE.md).
#pragma once

#include <string>
#include <string_view>

#include "cluster/messages.h"
#include "common/status.h"

namespace ringkv {

std::string encode_peer_message(const PeerMessage& message);
Result<PeerMessage> decode_peer_message(std::string_view bytes);

}  // namespace ringkv
