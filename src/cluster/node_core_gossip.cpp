// The node core's gossip and failure detection: every gossip interval the
// node raises its own heartbeat and pushes its view of every member's
// heartbeat to a few random members, who answer with theirs (push-pull).
// Fresh heartbeats feed the phi accrual detector (failure_detector.h); a
// member whose phi crosses the threshold is believed down until a fresh
// heartbeat arrives. State digests ride along: a node that hears a digest
// other than its own sends its whole state (ClusterUpdate), which the other
// merges (cluster_state.h), so every member converges on one state within a
// few rounds. Heartbeats also carry each node's rebalancing progress and its
// counts (rebalancer.cpp).
// See node_core.h.
#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core.h"

namespace ringkv {

void NodeCore::refresh_membership() {
  // The members the cluster state names, or (the simulator and tests set a
  // layout alone) the layout's nodes.
  member_ids_.clear();
  if (!members_.empty()) {
    // A removed member stays one while the layout (or the target) still
    // names it: it holds data and may coordinate until the flip. After
    // that, while it may still hand data over.
    lingering_removed_ = false;
    for (const Member& member : members_) {
      const bool named = (layout_ && layout_->node_index(member.id)) ||
                         (target_ && target_->node_index(member.id));
      if (member.role != MemberRole::removed || named) {
        member_ids_.insert(member.id);
      } else if (may_still_hand_over(member.id)) {
        member_ids_.insert(member.id);
        lingering_removed_ = true;
      }
    }
  } else if (layout_) {
    for (const RingNode& node : layout_->nodes())
      member_ids_.insert(node.id);
  }
  others_.clear();
  for (const NodeId& id : member_ids_) {
    if (!is_self(id))
      others_.push_back(id);
  }
}

bool NodeCore::may_still_hand_over(const NodeId& id) const {
  // After the flip a removed node hands its data over to the new replicas
  // (rebalancer_drop.cpp) and delivers its hints. What it hands over may
  // hold versions that the rest superseded since, so it must still answer
  // for its copy when tombstones are collected or clock entries pruned (a
  // version it brings back after its actor's entry was pruned elsewhere
  // would come back to life as a sibling): it stays a member until its
  // heartbeat says it holds no records and no hints. A removed node that
  // has been down for prune_delay_ms is not waited for any longer (it was
  // removed dead, or it refuses to start again: ANodeRemovedFromItsCluster...).
  if (is_self(id))
    return false;
  auto heard = heartbeats_.find(id);
  if (heard != heartbeats_.end() && heard->second.keys == 0 && heard->second.hints == 0)
    return false;
  auto since = down_since_.find(id);
  return since == down_since_.end() || now_ms_ < since->second + options_.prune_delay_ms;
}

bool NodeCore::is_down(const NodeId& node, uint64_t /*now_ms*/) const {
  // The detector's verdict as of the last watch_members (every tick and
  // every gossip message): phi is a log and an exp, and is_down is asked
  // per replica per request.
  return suspected_.count(node) != 0 || down_since_.count(node) != 0;
}

Gossip NodeCore::gossip_view(bool reply) const {
  Gossip out;
  out.reply = reply;
  out.state_digest = members_.empty() ? 0 : state_digest_;
  out.stores_digest = stores_digest();
  out.heartbeats.reserve(heartbeats_.size());
  for (const auto& [node, heartbeat] : heartbeats_)
    out.heartbeats.push_back(heartbeat);
  return out;
}

void NodeCore::watch_members(uint64_t now_ms) {
  for (const NodeId& member : others_) {
    // A member first seen now starts its rhythm now: silence is judged from here.
    if (!detector_.knows(member))
      detector_.reset(member, now_ms);
    const bool down = suspected_.count(member) != 0 || detector_.suspected(member, now_ms);
    auto since = down_since_.find(member);
    if (down && since == down_since_.end()) {
      down_since_[member] = now_ms;
      ++stats_.suspicions;
    } else if (!down && since != down_since_.end()) {
      down_since_.erase(since);
      ++stats_.recoveries;
      handoff_.hand_off_now(now_ms);  // hints for it can go now
    }
  }
}

void NodeCore::gossip_tick(uint64_t now_ms) {
  watch_members(now_ms);
  if (lingering_removed_)
    refresh_membership();  // has a removed node drained, or been down long enough?
  if (now_ms < next_gossip_ms_)
    return;
  next_gossip_ms_ = now_ms + options_.gossip_interval_ms;
  Heartbeat& mine = heartbeats_[options_.self];
  mine.node = options_.self;
  if (mine.generation != options_.generation) {
    mine.generation = options_.generation;
    mine.counter = 0;
  }
  ++mine.counter;
  // This node "knows" the target once no put it started under another one
  // is still open: from then on every write it coordinates goes to both
  // replica sets, which is what receivers wait for before they verify.
  mine.target = coordinator_.writes_under(target_digest_) ? target_digest_ : 0;
  mine.ready = rebalancer_.ready();
  load_counts();
  mine.partitions = replicated_partitions();
  mine.keys = data_keys_;
  mine.bytes = data_bytes_;
  mine.moves_total = rebalancer_.moves_total();
  mine.moves_done = rebalancer_.moves_done();
  mine.moved_bytes = rebalancer_.moved_bytes();
  mine.hints = 0;
  for (const auto& [target, held] : handoff_.totals())
    mine.hints += held.count;
  std::vector<NodeId> peers = others_;
  if (peers.empty())
    return;
  ++stats_.gossip_rounds;
  // A partial Fisher-Yates shuffle: `fanout` distinct members at random.
  const size_t count = std::min<size_t>(options_.gossip_fanout, peers.size());
  const Gossip view = gossip_view(/*reply=*/false);
  for (size_t index = 0; index < count; ++index) {
    const size_t pick = index + random_.below(peers.size() - index);
    std::swap(peers[index], peers[pick]);
    send(peers[index], view);
  }
}

void NodeCore::on_gossip(uint64_t now_ms, const NodeId& from, Gossip message) {
  if (formed_fresh_ && fence_.ok() && members_.size() == 1 &&
      std::none_of(members_.begin(), members_.end(),
                   [&](const Member& member) { return member.id == from; }) &&
      std::any_of(message.heartbeats.begin(), message.heartbeats.end(),
                  [&](const Heartbeat& heard) { return is_self(heard.node); })) {
    // We founded a cluster from an empty directory, and a node of another
    // cluster that counts us as its member talks to us: our data directory
    // was lost and we were restarted without --join. Acknowledging writes
    // here would be writing into a cluster nobody reads from.
    ++stats_.foreign_cluster_contacts;
    fence_ =
        Status(Code::unavailable,
               "this node formed a new cluster from an empty data directory, but node '" + from +
                   "' belongs to a cluster that lists it as a member: its data directory "
                   "was lost. Stop it and start it again with --join naming a member of "
                   "that cluster; it then rejoins and is refilled from the other replicas");
    return;
  }
  for (Heartbeat& heard : message.heartbeats) {
    if (is_self(heard.node) || !is_member(heard.node))
      continue;
    auto found = heartbeats_.find(heard.node);
    if (found == heartbeats_.end() || heard.generation > found->second.generation) {
      // A member we had not heard from, or one that restarted: a new rhythm.
      detector_.reset(heard.node, now_ms);
      heartbeats_[heard.node] = heard;
    } else if (heard.generation == found->second.generation &&
               heard.counter > found->second.counter) {
      detector_.heartbeat(heard.node, now_ms);
      found->second = heard;
    }
  }
  watch_members(now_ms);
  if (!message.reply)
    send(from, gossip_view(/*reply=*/true));
  if (layout_ && !members_.empty() && message.state_digest != state_digest_)
    send(from, ClusterUpdate{members_, encode_layout(*layout_)});
  peer_stores_digest_[from] = message.stores_digest;
  if (message.stores_digest != stores_digest()) {
    for (const StoreEntry* store : catalog_.list())
      send(from, CreateStore{0, spec_of(*store)});  // it creates those it lacks
  }
}

std::vector<NodeCore::PeerView> NodeCore::peer_views(uint64_t now_ms) const {
  std::vector<PeerView> out;
  std::vector<NodeId> ids = others_;
  ids.push_back(options_.self);
  std::sort(ids.begin(), ids.end());
  for (const NodeId& id : ids) {
    PeerView view;
    view.id = id;
    view.alive = !is_down(id, now_ms);
    view.phi = is_self(id) ? 0 : detector_.phi(id, now_ms);
    if (auto heard = heartbeats_.find(id); heard != heartbeats_.end()) {
      view.generation = heard->second.generation;
      view.heartbeat = heard->second.counter;
    }
    if (auto held = handoff_.totals().find(id); held != handoff_.totals().end()) {
      view.hints = held->second.count;
      view.hint_bytes = held->second.bytes;
    }
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace ringkv
