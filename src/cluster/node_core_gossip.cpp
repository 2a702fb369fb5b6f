// The node core's gossip and failure detection: every gossip interval the
// node raises its own heartbeat and pushes its view of every member's
// heartbeat to a few random members, who answer with theirs (push-pull).
// Fresh heartbeats feed the phi accrual detector (failure_detector.h); a
// member whose phi crosses the threshold is believed down until a fresh
// heartbeat arrives. Layout versions ride along: a node that hears of an
// older layout than its own sends the whole state (ClusterUpdate), so a
// member that missed a change catches up within a few rounds.
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
    for (const Member& member : members_)
      member_ids_.insert(member.id);
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

bool NodeCore::is_down(const NodeId& node, uint64_t now_ms) const {
  if (is_self(node))
    return false;
  return suspected_.count(node) != 0 || detector_.suspected(node, now_ms);
}

Gossip NodeCore::gossip_view(bool reply) const {
  Gossip out;
  out.reply = reply;
  out.layout_version = layout_ ? layout_->version() : 0;
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
    const bool down = is_down(member, now_ms);
    auto since = down_since_.find(member);
    if (down && since == down_since_.end()) {
      down_since_[member] = now_ms;
      ++stats_.suspicions;
    } else if (!down && since != down_since_.end()) {
      down_since_.erase(since);
      ++stats_.recoveries;
      next_handoff_ms_ = now_ms;  // hints for it can go now
    }
  }
}

void NodeCore::gossip_tick(uint64_t now_ms) {
  watch_members(now_ms);
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
      found->second.counter = heard.counter;
    }
  }
  watch_members(now_ms);
  if (!message.reply)
    send(from, gossip_view(/*reply=*/true));
  if (layout_ && !members_.empty() && message.layout_version < layout_->version())
    send(from, ClusterUpdate{members_, encode_layout(*layout_)});
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
    if (auto held = hints_.find(id); held != hints_.end()) {
      view.hints = held->second.count;
      view.hint_bytes = held->second.bytes;
    }
    out.push_back(std::move(view));
  }
  return out;
}

}  // namespace ringkv
