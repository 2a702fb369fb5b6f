// Limits enforced at the client edge (HTTP API), with the reason for each.
//
// These bound what a client may send. They are never enforced on replication,
// handoff, repair or streaming paths: refusing data there loses it (docs/ARCHITECTURE.md, invariant
// 9).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringkv {

// Keys are path segments; 1 KiB keeps a key, its hash and its store prefix in
// one small RocksDB key and bounds per-key index memory.
inline constexpr size_t kKeyBytesMax = 1024;
// Default value limit; a node may raise or lower it (--max-value-bytes).
inline constexpr size_t kValueBytesMaxDefault = 1024 * 1024;
// HTTP request line plus headers; beyond this the server answers 431.
inline constexpr size_t kHeaderBytesMaxDefault = 16 * 1024;
// A context token longer than this is refused before it is decoded.
inline constexpr size_t kContextTokenBytesMax = 8 * 1024;
// Concurrent client connections per node; beyond this new ones get 503.
inline constexpr size_t kConnectionsMaxDefault = 1024;
// Concurrent versions one key may hold after a client's put. Beyond it the put
// is refused (413) until a client merges: every put rewrites the whole record
// and every get returns all siblings, so an unbounded set is a slow key for all.
// (Riak's default limit is 100.) Never enforced on replication or repair paths.
inline constexpr size_t kSiblingsMax = 64;
// Encoded record bytes one key may hold after a client's put (same reason).
inline constexpr size_t kRecordBytesMax = 32 * 1024 * 1024;
// The longest cluster id (cluster/cluster_state.h; stated in the peer handshake).
inline constexpr size_t kClusterIdBytesMax = 64;
// The largest peer frame a node accepts (one encoded peer message); the
// transport refuses a longer one before allocating it, and the simulator
// drops one as the transport would.
inline constexpr size_t kPeerFrameBytesMax = 64 * 1024 * 1024;
// Deadline for reading one request (headers and body) or writing one response.
inline constexpr uint32_t kRequestTimeoutMsDefault = 10'000;

}  // namespace ringkv
