// Gossiper (gossiper.h), gossip and failure detection: every gossip interval the
// node raises its own heartbeat and pushes its view of every member's
// heartbeat to a few random members, who answer with theirs (push-pull).
// Fresh heartbeats feed the phi accrual detector (failure_detector.h); a
// member whose phi crosses the threshold is believed down until a fresh
// heartbeat arrives. State digests ride along: a node that hears a digest
// other than its own sends its whole state (ClusterUpdate), which the other
// merges (cluster_state.h), so every member converges on one state within a
// few rounds. The layout digest rides along too: the update carries the
// layout as a delta from the receiver's when the sender still holds that one
// (membership.h update_message). Heartbeats also carry each node's rebalancing progress and its
// counts (rebalancer.cpp).
#include "cluster/gossiper.h"

#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core.h"

namespace ringkv {

bool Gossiper::is_down(const NodeId& node) const {
  // The detector's verdict as of the last watch_members (every tick and
  // every gossip message): phi is a log and an exp, and is_down is asked
  // per replica per request.
  return suspected_.count(node) != 0 || down_since_.count(node) != 0;
}

Gossip Gossiper::gossip_message(bool reply) const {
  Gossip out;
  out.reply = reply;
  out.state_digest = core_.members_.empty() ? 0 : core_.state_digest_;
  out.stores_digest = core_.membership_.stores_digest();
  out.layout_digest = core_.membership_.layout_digest();
  out.heartbeats.reserve(heartbeats_.size());
  for (const auto& [node, heartbeat] : heartbeats_)
    out.heartbeats.push_back(heartbeat);
  return out;
}

void Gossiper::watch(uint64_t now_ms) {
  for (const NodeId& member : core_.others_) {
    // A member first seen now starts its rhythm now: silence is judged from here.
    if (!detector_.knows(member))
      detector_.reset(member, now_ms);
    const bool down = suspected_.count(member) != 0 || detector_.suspected(member, now_ms);
    auto since = down_since_.find(member);
    if (down && since == down_since_.end()) {
      down_since_[member] = now_ms;
      ++core_.stats_.suspicions;
    } else if (!down && since != down_since_.end()) {
      down_since_.erase(since);
      ++core_.stats_.recoveries;
      core_.handoff_.hand_off_now(now_ms);  // hints for it can go now
    }
  }
}

void Gossiper::tick(uint64_t now_ms) {
  watch(now_ms);
  if (core_.lingering_removed_)
    core_.membership_.refresh();  // has a removed node drained, or been down long enough?
  if (now_ms < next_gossip_ms_)
    return;
  next_gossip_ms_ = now_ms + core_.options_.gossip_interval_ms;
  Heartbeat& mine = heartbeats_[core_.options_.self];
  mine.node = core_.options_.self;
  const uint64_t generation = std::max(core_.options_.generation, generation_floor_);
  if (mine.generation != generation) {
    mine.generation = generation;
    mine.counter = 0;
  }
  ++mine.counter;
  // This node "knows" the target once no put it started under another one
  // is still open: from then on every write it coordinates goes to both
  // replica sets, which is what receivers wait for before they verify.
  mine.target = core_.coordinator_.writes_under(core_.target_digest_) ? core_.target_digest_ : 0;
  mine.ready = core_.rebalancer_.ready();
  mine.partitions = core_.replicated_partitions();
  mine.keys = core_.data_keys_;
  mine.bytes = core_.data_bytes_;
  mine.moves_total = core_.rebalancer_.moves_total();
  mine.moves_done = core_.rebalancer_.moves_done();
  mine.moved_bytes = core_.rebalancer_.moved_bytes();
  mine.hints = 0;
  for (const auto& [target, held] : core_.handoff_.totals())
    mine.hints += held.count;
  std::vector<NodeId> peers = core_.others_;
  if (peers.empty())
    return;
  ++core_.stats_.gossip_rounds;
  // A partial Fisher-Yates shuffle: `fanout` distinct members at random.
  const size_t count = std::min<size_t>(core_.options_.gossip_fanout, peers.size());
  const Gossip view = gossip_message(/*reply=*/false);
  for (size_t index = 0; index < count; ++index) {
    const size_t pick = index + core_.random_.below(peers.size() - index);
    std::swap(peers[index], peers[pick]);
    core_.send(peers[index], view);
  }
}

void Gossiper::on_other_cluster(const NodeId& from) {
  ++core_.stats_.foreign_cluster_contacts;
  if (core_.formed_fresh_ && core_.fence_.ok() && core_.members_.size() == 1 &&
      !core_.is_member(from)) {
    // We founded a cluster from an empty directory, and a node of another
    // cluster dials us, as it does its members: our data directory was lost
    // and we were restarted without --join. Acknowledging writes here would
    // be writing into a cluster nobody reads from.
    core_.fence_ =
        Status(Code::unavailable,
               "this node formed a new cluster from an empty data directory, but node '" + from +
                   "' belongs to a cluster that lists it as a member: its data directory "
                   "was lost. Stop it and start it again with --join naming a member of "
                   "that cluster; it then rejoins and is refilled from the other replicas");
  }
}

void Gossiper::on_gossip(uint64_t now_ms, const NodeId& from, Gossip message) {
  const uint64_t horizon = now_ms + kHeartbeatAheadMaxMs;
  for (Heartbeat& heard : message.heartbeats) {
    if (!core_.is_member(heard.node))
      continue;
    // Relayed heartbeats only: a member's own (its clock may run far ahead,
    // and its generation never goes back) is taken from it directly.
    if (heard.node != from &&
        (heard.generation > horizon || heard.counter > horizon - heard.generation)) {
      ++core_.stats_.heartbeats_refused;
      continue;
    }
    if (core_.is_self(heard.node)) {
      // Our own heartbeat, relayed. Newer than ours, it is an earlier start
      // of this node that the members still remember (a wiped disk forgot
      // the start times; the wall clock went back): ours would be old news
      // to them, and this node held down for good. Move past it.
      // (Not heartbeats_[...]: an entry made here, before this node's first
      // round, would go out with no node id.)
      auto mine = heartbeats_.find(heard.node);
      const uint64_t generation = mine == heartbeats_.end()
                                      ? std::max(core_.options_.generation, generation_floor_)
                                      : mine->second.generation;
      const uint64_t counter = mine == heartbeats_.end() ? 0 : mine->second.counter;
      if (heard.generation > generation ||
          (heard.generation == generation && heard.counter > counter)) {
        generation_floor_ = std::max(generation_floor_, heard.generation + 1);
        ++core_.stats_.generation_jumps;
      }
      continue;
    }
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
  watch(now_ms);
  if (!message.reply)
    core_.send(from, gossip_message(/*reply=*/true));
  peer_digests_[from] = {message.state_digest, message.layout_digest};
  if (core_.layout_ && !core_.members_.empty() && message.state_digest != core_.state_digest_)
    core_.send(from, core_.membership_.update_message(from));
  peer_stores_digest_[from] = message.stores_digest;
  if (message.stores_digest != core_.membership_.stores_digest()) {
    for (const StoreEntry* store : core_.catalog_.list())
      core_.send(from, CreateStore{0, core_.spec_of(*store)});  // it creates those it lacks
  }
}

std::vector<core_views::PeerView> Gossiper::peer_views(uint64_t now_ms) const {
  std::vector<core_views::PeerView> out;
  std::vector<NodeId> ids = core_.others_;
  ids.push_back(core_.options_.self);
  std::sort(ids.begin(), ids.end());
  for (const NodeId& id : ids) {
    core_views::PeerView view;
    view.id = id;
    view.alive = !core_.is_down(id, now_ms);
    view.phi = core_.is_self(id) ? 0 : detector_.phi(id, now_ms);
    if (auto heard = heartbeats_.find(id); heard != heartbeats_.end()) {
      view.generation = heard->second.generation;
      view.heartbeat = heard->second.counter;
    }
    if (auto held = core_.handoff_.totals().find(id); held != core_.handoff_.totals().end()) {
      view.hints = held->second.count;
      view.hint_bytes = held->second.bytes;
    }
    out.push_back(std::move(view));
  }
  return out;
}

std::optional<uint64_t> Gossiper::down_since(const NodeId& node) const {
  auto since = down_since_.find(node);
  return since == down_since_.end() ? std::nullopt : std::optional<uint64_t>(since->second);
}

const Heartbeat* Gossiper::heartbeat_of(const NodeId& node) const {
  auto heard = heartbeats_.find(node);
  return heard == heartbeats_.end() ? nullptr : &heard->second;
}

std::pair<uint64_t, uint64_t> Gossiper::digests_of(const NodeId& peer) const {
  auto heard = peer_digests_.find(peer);
  return heard == peer_digests_.end() ? std::pair<uint64_t, uint64_t>{0, 0} : heard->second;
}

bool Gossiper::agrees_on_stores(const NodeId& peer) const {
  auto heard = peer_stores_digest_.find(peer);
  return heard != peer_stores_digest_.end() && heard->second == core_.membership_.stores_digest();
}

}  // namespace ringkv
