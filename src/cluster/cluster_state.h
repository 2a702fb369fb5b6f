// ClusterState: what a node knows of its cluster — the members (how to reach
// them, what each should hold) and the current layout — and its on-disk form.
//
// Membership is not ownership (issue "Elastic cluster"). Every member has a
// role: `owner` (the operator wants it to hold data, in proportion to its
// capacity), `standby` (joined with --no-auto-add: gossips, holds nothing) or
// `removed` (kept as a tombstone so that merging never brings it back). The
// owners' table is the *desired* placement; the layout is the *current* one.
// When the two differ, the target layout is plan_assignment(layout, owners'
// table) — computed the same on every node — and data moves towards it; the
// layout flips to the target when every new replica holds its data
// (rebalancer.cpp).
//
// Two changes committed at once on different nodes converge because states
// merge (merge_cluster_states): per member the entry with the higher version
// wins (ties: the larger encoding), and the layout with the higher version
// wins (ties: the larger encoding). The merge is commutative, associative and
// idempotent, so gossip spreads one state everywhere; the target follows from
// it deterministically, so both changes are in it.
//
// A cluster has an id, drawn when it is formed and never changed: a state of
// another cluster is never merged (the caller checks compatible_clusters()),
// and the peer handshake states it, so a node pointed at the wrong cluster is
// refused on both sides. An empty id is a node that has not joined yet (or a
// state written before ids existed: it takes the first id it meets).
//
// The state also holds the cluster's client API tokens (api_tokens.h): hashes
// and scopes, merged per token like members.
//
// On disk (meta key "cluster/state"; docs/FORMATS.md, format 4; format 3 is
// format 4 without the tokens, format 2 also without the cluster id; format
// 1, also without roles and versions, is read as owners at version 0):
//   u8      format (4)
//   varint  cluster id length + bytes
//   varint  member count, then per member: id, peer address, http address
//           (each varint length + bytes), capacity (varint), zone (varint
//           length + bytes), role (u8), version (varint)
//   varint  layout length + layout bytes (ring/layout.h)
//   varint  token count, then per token (sorted by id): id, secret hash
//           (each varint length + bytes), scope (u8), store, name (varint
//           length + bytes), revoked (u8), version (varint)
// decode rejects malformed bytes and a layout naming a node that is not a
// member.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/api_tokens.h"
#include "common/limits.h"
#include "common/status.h"
#include "ring/layout.h"

namespace ringkv {

enum class MemberRole : uint8_t {
  owner = 0,    // holds data in proportion to its capacity
  standby = 1,  // a member that holds nothing (joined with --no-auto-add)
  removed = 2,  // gone; kept so that a merge cannot bring it back
};
std::string_view to_string(MemberRole role);

struct Member {
  std::string id;
  std::string peer_address;  // HOST:PORT of its internode listener
  std::string http_address;  // HOST:PORT (or URL) clients use
  uint32_t capacity = 1;
  std::string zone;
  MemberRole role = MemberRole::owner;
  uint64_t version = 0;  // raised by every change to this entry
  friend bool operator==(const Member&, const Member&) = default;
};

// What a member entry must be to be kept and persisted: a valid ring node
// (id, capacity, zone: ring/layout.h validate) with addresses of at most
// kAddressBytesMax printable ASCII bytes and no spaces. Every member a peer
// sends is checked with it before it is used (the peer codec), and so is
// every member decoded from disk: an entry that passed once always decodes.
constexpr size_t kAddressBytesMax = 1024;
Status validate_member(const Member& member);

// A cluster id: at most kClusterIdBytesMax (common/limits.h) printable
// ASCII bytes, no spaces.
Status validate_cluster_id(std::string_view id);
// Whether two nodes with these cluster ids may share a state: equal, or one
// of them not yet in a cluster.
inline bool compatible_clusters(std::string_view left, std::string_view right) {
  return left.empty() || right.empty() || left == right;
}

struct ClusterState {
  std::vector<Member> members;  // sorted by id
  Layout layout = Layout::empty(kPartitionBitsDefault);
  std::string cluster_id;        // empty: not in a cluster yet
  std::vector<ApiToken> tokens;  // sorted by id; revoked ones kept
  friend bool operator==(const ClusterState&, const ClusterState&) = default;
};

inline constexpr std::string_view kClusterStateKey = "cluster/state";
// Assignment balances preference lists for this n (the default store's); any
// store's n works with any layout.
inline constexpr uint32_t kAssignmentReplicas = 3;

// FNV-1a 64 of `bytes` (continuing from `hash`, to digest several pieces):
// how gossip compares states and names targets.
inline constexpr uint64_t kDigestStart = 0xcbf29ce484222325ULL;
uint64_t digest64(std::string_view bytes, uint64_t hash = kDigestStart);

std::string encode_cluster_state(const ClusterState& state);
Result<ClusterState> decode_cluster_state(std::string_view bytes);

// The ring nodes of the owners among `members`, for assignment.
std::vector<RingNode> ring_nodes(const std::vector<Member>& members);

// The merge of two states (see above): commutative, associative, idempotent.
ClusterState merge_cluster_states(const ClusterState& left, const ClusterState& right);

// The layout data is moving towards, when the owners' table differs from the
// layout's (ids, capacities, zones): plan_assignment(layout, owners) for
// `replica_count`. nullopt when they agree or when the state has no layout.
std::optional<Layout> target_layout(const ClusterState& state, uint32_t replica_count);

// The member entry for `id`, if any.
const Member* find_member(const ClusterState& state, std::string_view id);

}  // namespace ringkv
