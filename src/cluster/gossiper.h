// Gossiper: heartbeats by push-pull gossip and the failure detection built
// on them — which members this node believes down, and since when (the
// protocol is described in gossiper.cpp).
//
// It owns the newest heartbeat heard of each member, the phi accrual
// detector, the members believed down, the peers suspected for a request
// they let expire, and the stores digest each peer last sent. The cluster
// state it spreads (members, layout, target) is the core's: it sends it
// whole (ClusterUpdate) to a peer whose state digest differs.
//
// Invariants:
//   1. A member is believed down from the moment the detector suspects it
//      or it lets a request expire, until a fresh heartbeat (or, for a
//      suspicion, any message) arrives; only members are judged.
//   2. A heartbeat replaces an older one only with a newer generation, or
//      the same generation and a higher counter.
//   3. A node that formed a cluster from an empty directory and then hears
//      from a cluster that counts it as a member fences itself.
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "cluster/failure_detector.h"
#include "cluster/messages.h"
#include "cluster/node_core_views.h"

namespace ringkv {

class NodeCore;

class Gossiper {
 public:
  // A heartbeat's generation is its node's start time (ms, NodeClock) and
  // its counter rises once per gossip round: neither can be further ahead of
  // this node's clock than this. A heartbeat relayed for another node beyond
  // it is refused (counted in heartbeats_refused): taken, it would make every
  // real one older news and hold its node down until the forged numbers were
  // passed. A member's own heartbeat, from it directly, is taken as it is.
  static constexpr uint64_t kHeartbeatAheadMaxMs = 3600 * 1000;

  Gossiper(NodeCore& core, FailureDetectorOptions options) : core_(core), detector_(options) {}
  Gossiper(const Gossiper&) = delete;
  Gossiper& operator=(const Gossiper&) = delete;

  // Judges the members, then every gossip_interval_ms raises this node's
  // heartbeat and pushes the view to gossip_fanout random members.
  void tick(uint64_t now_ms);
  void on_gossip(uint64_t now_ms, const NodeId& from, Gossip message);
  // A node of another cluster dialled this one (NodeCore::other_cluster_contact).
  void on_other_cluster(const NodeId& from);

  // True when this node believes `node` down (as of the last judgement).
  bool is_down(const NodeId& node) const;
  // When this node began to believe `node` down (none: it does not).
  std::optional<uint64_t> down_since(const NodeId& node) const;
  // `node` let a request expire: believed down until it next sends anything.
  void suspect(const NodeId& node) { suspected_.insert(node); }
  void heard_from(const NodeId& node) { suspected_.erase(node); }
  // The newest heartbeat heard of `node` (null: none).
  const Heartbeat* heartbeat_of(const NodeId& node) const;
  // The state and layout digests `peer` last gossiped (0: none heard).
  std::pair<uint64_t, uint64_t> digests_of(const NodeId& peer) const;
  // True when `peer` last told this node a stores digest equal to its own.
  bool agrees_on_stores(const NodeId& peer) const;
  std::vector<core_views::PeerView> peer_views(uint64_t now_ms) const;

 private:
  Gossip gossip_message(bool reply) const;
  // Updates who is believed down (counts suspicions and recoveries; a
  // member back up gets its hints at once).
  void watch(uint64_t now_ms);

  NodeCore& core_;
  std::map<NodeId, Heartbeat> heartbeats_;  // the newest heard of each member (and self)
  FailureDetector detector_;
  uint64_t next_gossip_ms_ = 0;
  // This node's generation is at least this: one past the newest generation
  // of itself it heard relayed (on_gossip).
  uint64_t generation_floor_ = 0;
  std::map<NodeId, uint64_t> down_since_;  // members believed down, since when
  // Peers that let a request expire without answering, until they next send
  // anything: a forwarded put goes to the first replica not in here.
  std::set<NodeId> suspected_;
  std::map<NodeId, uint64_t> peer_stores_digest_;  // the stores digest each peer last sent
  // The state and layout digests each peer last sent.
  std::map<NodeId, std::pair<uint64_t, uint64_t>> peer_digests_;
};

}  // namespace ringkv
