// ClusterState: what a node knows of its cluster — the members (how to reach
// them) and the current layout — and its on-disk form.
//
// Membership for now is static (issue "Replicated cluster"): the first node
// forms the cluster, every other node joins through a contact, and the node
// that admits a member computes the next layout (ring/assignment.h, the same
// on every node) and tells everyone. Each node persists the state in its meta
// column, so a restart with the same command line rejoins the same cluster.
// Gossip replaces the telling later; this type stays.
//
// On disk (meta key "cluster/state"; docs/FORMATS.md):
//   u8      format (1)
//   varint  member count, then per member: id, peer address, http address
//           (each varint length + bytes), capacity (varint), zone (varint
//           length + bytes)
//   varint  layout length + layout bytes (ring/layout.h)
// decode rejects malformed bytes and a layout naming a node that is not a
// member.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ring/layout.h"

namespace ringkv {

struct Member {
  std::string id;
  std::string peer_address;  // HOST:PORT of its internode listener
  std::string http_address;  // HOST:PORT (or URL) clients use
  uint32_t capacity = 1;
  std::string zone;
  friend bool operator==(const Member&, const Member&) = default;
};

struct ClusterState {
  std::vector<Member> members;  // sorted by id
  Layout layout = Layout::empty(kPartitionBitsDefault);
  friend bool operator==(const ClusterState&, const ClusterState&) = default;
};

inline constexpr std::string_view kClusterStateKey = "cluster/state";

std::string encode_cluster_state(const ClusterState& state);
Result<ClusterState> decode_cluster_state(std::string_view bytes);

// The ring nodes of `members` (all active), for assignment.
std::vector<RingNode> ring_nodes(const std::vector<Member>& members);

}  // namespace ringkv
