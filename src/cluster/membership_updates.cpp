// Membership (membership.h): the state exchanged with peers — merging what
// they send, and sending ours whole or as the changes since a state the peer
// holds (cluster/messages.h ClusterUpdate). Keeps the states and layouts
// before the current ones (kKept of each) and the layout deltas from them.
#include "cluster/membership.h"

#include <algorithm>
#include <map>

#include "cluster/node_core.h"
#include "ring/layout_delta.h"

namespace ringkv {

void Membership::keep_layout_before(const Layout& next) {
  std::string bytes = encode_layout(next);
  const uint64_t digest = digest64(bytes);
  if (core_.layout_ && digest != layout_digest_) {
    earlier_layouts_.insert(earlier_layouts_.begin(), {layout_digest_, std::move(*core_.layout_)});
    if (earlier_layouts_.size() > kKept)
      earlier_layouts_.pop_back();
  }
  std::erase_if(earlier_layouts_, [&](const auto& kept) { return kept.first == digest; });
  layout_bytes_ = std::move(bytes);
  layout_digest_ = digest;
  deltas_.clear();
}

void Membership::keep_members_before() {
  if (!core_.layout_ || core_.members_.empty())
    return;
  // Newest first, each state once (adopt() drops the one it ends in).
  std::erase_if(earlier_members_,
                [&](const auto& kept) { return kept.first == core_.state_digest_; });
  earlier_members_.insert(earlier_members_.begin(), {core_.state_digest_, core_.members_});
  if (earlier_members_.size() > kKept)
    earlier_members_.pop_back();
}

void Membership::merge_received(ClusterUpdate update) {
  if (!compatible_clusters(core_.claimed_cluster_id_, update.cluster_id)) {
    ++core_.stats_.peer_messages_refused;  // the transport refuses such peers first
    return;
  }
  Result<Layout> layout = Status(Code::corruption, "no layout");
  if (update.layout_base == 0) {
    layout = decode_layout(update.layout);
  } else {
    // A delta: only from the layout it names, and only to the one it names
    // (the sender's view of ours may be a round old).
    if (!core_.layout_ || update.layout_base != layout_digest_) {
      ++core_.stats_.layout_deltas_refused;
      return;
    }
    auto delta = decode_layout_delta(update.layout);
    if (delta.ok())
      layout = apply_layout_delta(*core_.layout_, *delta);
    if (!layout.ok() || digest64(encode_layout(*layout)) != update.layout_digest) {
      ++core_.stats_.layout_deltas_refused;
      return;
    }
    ++core_.stats_.layout_deltas_applied;
  }
  if (!layout.ok())
    return;
  if (update.state_base != 0) {
    // Only the entries that changed since a state we held: the others are
    // ours (entries only grow, so whatever we hold now is at least that
    // state's; merging ours with these equals merging with the sender's).
    std::map<std::string, Member> members;
    for (const Member& member : core_.members_)
      members.emplace(member.id, member);
    for (Member& member : update.members)
      members.insert_or_assign(member.id, std::move(member));
    update.members.clear();
    for (auto& [id, member] : members)
      update.members.push_back(std::move(member));
  }
  ClusterState theirs{std::move(update.members), std::move(*layout), std::move(update.cluster_id),
                      std::move(update.tokens)};
  // Through the state codec's checks (every layout node a member).
  auto checked = decode_cluster_state(encode_cluster_state(theirs));
  if (!checked.ok())
    return;
  merge_state(std::move(*checked));
}

void Membership::broadcast() {
  if (!core_.layout_ || core_.members_.empty())
    return;
  for (const NodeId& other : core_.others_)
    core_.send(other, update_message(other));
}

ClusterUpdate Membership::update_message() {
  return ClusterUpdate{core_.members_, layout_bytes_, core_.cluster_id_, core_.tokens_};
}

ClusterUpdate Membership::update_message(const NodeId& peer) {
  const auto [peer_state, peer_layout] = core_.gossiper_.digests_of(peer);
  ClusterUpdate update{{}, layout_bytes_, core_.cluster_id_, core_.tokens_};
  const auto kept = std::find_if(earlier_members_.begin(), earlier_members_.end(),
                                 [&](const auto& state) { return state.first == peer_state; });
  if (peer_state == 0 || kept == earlier_members_.end()) {
    update.members = core_.members_;
  } else {
    // Both sorted by id: the entries that are new or differ.
    auto before = kept->second.begin();
    for (const Member& member : core_.members_) {
      while (before != kept->second.end() && before->id < member.id)
        ++before;
      if (before == kept->second.end() || !(*before == member))
        update.members.push_back(member);
    }
    update.state_base = peer_state;
  }
  if (peer_layout == 0)
    return update;
  auto cached = deltas_.find(peer_layout);
  if (cached == deltas_.end()) {
    const Layout* base = peer_layout == layout_digest_ ? &*core_.layout_ : nullptr;
    for (const auto& [digest, kept] : earlier_layouts_) {
      if (digest == peer_layout)
        base = &kept;
    }
    if (base == nullptr)
      return update;  // a layout this node never held or no longer keeps
    std::optional<std::string> delta = encode_layout_delta(*base, *core_.layout_);
    cached = deltas_.emplace(peer_layout, delta ? std::move(*delta) : std::string()).first;
  }
  // Empty: no delta between those layouts (other partition bits or widths).
  if (cached->second.empty() || cached->second.size() >= layout_bytes_.size())
    return update;
  update.layout = cached->second;
  update.layout_base = peer_layout;
  update.layout_digest = layout_digest_;
  ++core_.stats_.layout_deltas_sent;
  return update;
}

}  // namespace ringkv
