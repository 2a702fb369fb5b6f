// Membership (membership.h): forming a cluster, admitting members, adopting
// and merging cluster states, operators' changes; the only writer of the
// context's cluster view (node_context.h).
#include "cluster/membership.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "cluster/node_core.h"
#include "cluster/node_core_errors.h"
#include "common/check.h"
#include "ring/assignment.h"

namespace ringkv {
// ---- membership ----

void Membership::refresh() {
  // The members the cluster state names, or (the simulator and tests set a
  // layout alone) the layout's nodes.
  core_.member_ids_.clear();
  if (!core_.members_.empty()) {
    // A removed member stays one while the layout (or the target) still
    // names it: it holds data and may coordinate until the flip. After
    // that, while it may still hand data over.
    core_.lingering_removed_ = false;
    for (const Member& member : core_.members_) {
      const bool named = (core_.layout_ && core_.layout_->node_index(member.id)) ||
                         (core_.target_ && core_.target_->node_index(member.id));
      if (member.role != MemberRole::removed || named) {
        core_.member_ids_.insert(member.id);
      } else if (may_still_hand_over(member.id)) {
        core_.member_ids_.insert(member.id);
        core_.lingering_removed_ = true;
      }
    }
  } else if (core_.layout_) {
    for (const RingNode& node : core_.layout_->nodes())
      core_.member_ids_.insert(node.id);
  }
  core_.others_.clear();
  for (const NodeId& id : core_.member_ids_) {
    if (!core_.is_self(id))
      core_.others_.push_back(id);
  }
}

bool Membership::may_still_hand_over(const NodeId& id) const {
  // After the flip a removed node hands its data over to the new replicas
  // (rebalancer_drop.cpp) and delivers its hints. What it hands over may
  // hold versions that the rest superseded since, so it must still answer
  // for its copy when tombstones are collected or clock entries pruned (a
  // version it brings back after its actor's entry was pruned elsewhere
  // would come back to life as a sibling): it stays a member until its
  // heartbeat says it holds no records and no hints. A removed node that
  // has been down for prune_delay_ms is not waited for any longer (it was
  // removed dead, or it refuses to start again: ANodeRemovedFromItsCluster...).
  if (core_.is_self(id))
    return false;
  const Heartbeat* heard = core_.gossiper_.heartbeat_of(id);
  if (heard != nullptr && heard->keys == 0 && heard->hints == 0)
    return false;
  return !gone(id, core_.now_ms_);
}

bool Membership::gone(const NodeId& node, uint64_t now_ms) const {
  if (role_of(node) != MemberRole::removed)
    return false;
  const std::optional<uint64_t> since = core_.gossiper_.down_since(node);
  return since && now_ms >= *since + core_.options_.prune_delay_ms;
}

void Membership::set_layout(Layout layout) {
  keep_layout_before(layout);
  core_.layout_ = std::move(layout);
  core_.layout_self_ = core_.layout_->node_index(core_.options_.self);
  core_.tables_.clear();
  refresh();
}

void Membership::adopt(ClusterState state) {
  keep_members_before();
  if (!core_.layout_ && !core_.peer_state_seen_)
    core_.fresh_directory_ = false;  // a state of its own from disk: the directory was not new
  const bool layout_changed = !core_.layout_ || !(*core_.layout_ == state.layout);
  const bool members_changed = core_.members_ != state.members;
  core_.cluster_id_ = std::move(state.cluster_id);
  if (core_.claimed_cluster_id_.empty())
    core_.claimed_cluster_id_ = core_.cluster_id_;  // a state from disk
  core_.members_ = std::move(state.members);
  core_.tokens_ = std::move(state.tokens);
  if (layout_changed) {
    set_layout(std::move(state.layout));
    core_.layout_since_ms_ = core_.now_ms_;
  } else {
    refresh();
  }
  core_.recovery_.maybe_start();
  if (layout_changed || members_changed)
    ++core_.stats_.layout_changes;
  core_.rebalancer_.recompute_target();
  refresh();  // a removed node stays a member while the target names it
  core_.state_digest_ = digest64(encode_cluster_state(cluster_state()));
  std::erase_if(earlier_members_,
                [&](const auto& kept) { return kept.first == core_.state_digest_; });
  core_.effects_.push_back(MembersChanged{core_.members_, core_.cluster_id_});
}

void Membership::persist_and_adopt(ClusterState state, std::function<void(Status)> then) {
  // The first cluster id is claimed when its state is written, not when it
  // is adopted: a state of another cluster arriving meanwhile is refused
  // (merge_received), never written over it and merged with it.
  if (core_.claimed_cluster_id_.empty())
    core_.claimed_cluster_id_ = state.cluster_id;
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kClusterStateKey), encode_cluster_state(state)});
  core_.issue_write(
      std::move(batch), /*durable=*/true,
      [this, state = std::move(state), then = std::move(then)](Status status) mutable {
        if (status.ok()) {
          // Another state may have been adopted while this one was
          // being written: adopt the merge of both (and persist it
          // too when it differs from what was written).
          ClusterState merged =
              core_.layout_ ? merge_cluster_states(cluster_state(), state) : std::move(state);
          const bool rewrite = core_.layout_ && !(merged == state);
          adopt(merged);
          if (rewrite) {
            WriteBatch again;
            again.push_back(
                {Column::meta, std::string(kClusterStateKey), encode_cluster_state(merged)});
            core_.issue_write(std::move(again), /*durable=*/true, [](Status) {});
          }
        }
        then(status);
      });
}

void Membership::form(uint64_t now_ms, Member self, uint32_t partition_bits,
                      std::optional<ApiToken> first_token) {
  core_.now_ms_ = now_ms;
  core_.recovery_.not_needed();  // a new cluster: nothing was placed here before
  core_.formed_fresh_ = core_.fresh_directory_;
  ClusterState state;
  // 128 bits from the start's seed: random in production, reproducible in
  // the simulator.
  state.cluster_id = fmt::format("{:016x}{:016x}", core_.random_.next(), core_.random_.next());
  self.role = MemberRole::owner;
  self.version = 1;
  state.members.push_back(std::move(self));
  if (first_token) {
    first_token->version = 1;
    RINGKV_ASSERT(validate_token(*first_token).ok(), "the server validates the first token");
    state.tokens.push_back(std::move(*first_token));
  }
  auto plan = plan_assignment(Layout::empty(partition_bits), ring_nodes(state.members),
                              kAssignmentReplicas);
  RINGKV_ASSERT(plan.ok(), "a store plan for a validated config");
  state.layout = std::move(plan->layout);
  persist_and_adopt(std::move(state), [](Status) {});
}

namespace {

uint64_t highest_version(const std::vector<Member>& members) {
  uint64_t out = 0;
  for (const Member& member : members)
    out = std::max(out, member.version);
  return out;
}

// The version a change gives the member entries it touches: above every
// version this node knows (so it wins over what it saw) and at least the
// node's clock in ms (a hybrid logical clock), so that of two changes to one
// member made on nodes that had not heard of each other, the later one wins
// whenever the nodes' clocks are closer than the time between them. With a
// plain counter an operator's removal of a dead node lost to a reweight of
// it made earlier elsewhere, and the dead node became an owner again
// (simulation seed 35 chaos with membership).
uint64_t next_member_version(const std::vector<Member>& members, uint64_t now_ms) {
  return std::max(highest_version(members) + 1, now_ms);
}

// The same node as far as a restart goes: addresses, capacity and zone.
bool same_entry(const Member& left, const Member& right) {
  return left.id == right.id && left.peer_address == right.peer_address &&
         left.http_address == right.http_address && left.capacity == right.capacity &&
         left.zone == right.zone;
}

}  // namespace

void Membership::on_join_request(const NodeId& from, JoinRequest message) {
  auto reply = [this, from, op = message.op](Status status) {
    JoinReply out;
    out.op = op;
    out.status = PeerStatus::from(status);
    if (status.ok() && core_.layout_) {
      out.members = core_.members_;
      out.layout = encode_layout(*core_.layout_);
      out.cluster_id = core_.cluster_id_;
      out.tokens = core_.tokens_;
    }
    core_.send(from, std::move(out));
  };
  if (!core_.layout_ || core_.members_.empty()) {
    reply(Status(Code::unavailable, "this node is not a member of a cluster yet"));
    return;
  }
  if (Status valid = validate_member(message.member); !valid.ok()) {
    reply(valid);
    return;
  }
  if (message.member.id != from) {
    // A node asks for itself only: the connection's id is who is asking.
    ++core_.stats_.peer_messages_refused;
    core_.stats_.last_refused_sender = from;
    reply(Status(Code::invalid_argument, "node '" + from + "' asked to admit '" +
                                             message.member.id + "': a node asks for itself"));
    return;
  }
  ClusterState state = cluster_state();
  const uint64_t version = next_member_version(state.members, core_.now_ms_);
  auto existing = std::find_if(state.members.begin(), state.members.end(),
                               [&](const Member& m) { return m.id == message.member.id; });
  if (existing != state.members.end() && existing->role != MemberRole::removed) {
    if (same_entry(*existing, message.member)) {
      reply(Status::Ok());  // a restart with its data directory: no change
      return;
    }
    // New addresses (a restart elsewhere) change no placement: capacity and
    // zone change only by an operator's reweight.
    existing->peer_address = message.member.peer_address;
    existing->http_address = message.member.http_address;
    existing->version = version;
  } else {
    Member member = message.member;
    member.role = message.auto_add ? MemberRole::owner : MemberRole::standby;
    member.version = version;
    if (existing != state.members.end())
      *existing = std::move(member);  // removed once, joining again
    else
      state.members.push_back(std::move(member));
    std::sort(state.members.begin(), state.members.end(),
              [](const Member& left, const Member& right) { return left.id < right.id; });
  }
  persist_and_adopt(std::move(state), [this, reply](Status status) {
    reply(status);
    if (status.ok())
      broadcast();
  });
}

void Membership::merge_state(ClusterState state) {
  core_.peer_state_seen_ = true;  // (a fresh directory learns here whether it lost data)
  if (!core_.layout_ || core_.members_.empty()) {
    persist_and_adopt(std::move(state), [](Status) {});
    return;
  }
  ClusterState merged = merge_cluster_states(cluster_state(), state);
  if (merged == cluster_state())
    return;
  persist_and_adopt(std::move(merged), [](Status) {});
}

// ---- operators' changes ----

namespace {

// A member an operator may name (not removed), or null.
Member* find_named(ClusterState& state, const NodeId& id) {
  for (Member& member : state.members) {
    if (member.id == id && member.role != MemberRole::removed)
      return &member;
  }
  return nullptr;
}

Status name_once(std::set<NodeId>& named, const NodeId& id) {
  if (named.insert(id).second)
    return Status::Ok();
  return Status(Code::invalid_argument,
                fmt::format("node '{}' is named twice in one change; name it once", id));
}

// Cancel: back to the layout's table, its nodes owners again with their
// capacities and zones, every other owner a standby member.
void revert_to_layout(ClusterState& state, const Layout& layout, uint64_t version) {
  for (Member& member : state.members) {
    auto index = layout.node_index(member.id);
    Member before = member;
    if (index) {
      const RingNode& node = layout.nodes()[*index];
      member.role = MemberRole::owner;
      member.capacity = node.capacity;
      member.zone = node.zone;
    } else if (member.role == MemberRole::owner) {
      member.role = MemberRole::standby;
    }
    if (!(member == before))
      member.version = version;
  }
}

Status apply_adds(const ClusterChange& change, ClusterState& state, std::set<NodeId>& named,
                  uint64_t version) {
  for (const ClusterChange::Add& add : change.add) {
    if (Status once = name_once(named, add.id); !once.ok())
      return once;
    Member* member = find_named(state, add.id);
    if (member == nullptr) {
      return Status(Code::not_found,
                    fmt::format("node '{}' is not a member: start it with `ringkv serve --join "
                                "CONTACT --no-auto-add` first, then add it",
                                add.id));
    }
    if (member->role == MemberRole::owner) {
      return Status(Code::already_exists,
                    fmt::format("node '{}' already holds data; use --reweight {}=CAP to change "
                                "its capacity",
                                add.id, add.id));
    }
    member->role = MemberRole::owner;
    if (add.capacity)
      member->capacity = *add.capacity;
    if (add.zone)
      member->zone = *add.zone;
    member->version = version;
  }
  return Status::Ok();
}

Status apply_removals_and_reweights(const ClusterChange& change, ClusterState& state,
                                    std::set<NodeId>& named, uint64_t version) {
  for (const NodeId& id : change.remove) {
    if (Status once = name_once(named, id); !once.ok())
      return once;
    Member* member = find_named(state, id);
    if (member == nullptr)
      return Status(Code::not_found, fmt::format("node '{}' is not a member", id));
    member->role = MemberRole::removed;
    member->version = version;
  }
  for (const auto& [id, capacity] : change.capacity) {
    if (Status once = name_once(named, id); !once.ok())
      return once;
    Member* member = find_named(state, id);
    if (member == nullptr || member->role != MemberRole::owner) {
      return Status(Code::not_found,
                    fmt::format("node '{}' is not an owner; add it instead of reweighting", id));
    }
    member->capacity = capacity;
    member->version = version;
  }
  return Status::Ok();
}

}  // namespace

Status Membership::apply_change(const ClusterChange& change, ClusterState& state) const {
  const uint64_t version = next_member_version(state.members, core_.now_ms_);
  if (change.cancel) {
    if (!change.add.empty() || !change.remove.empty() || !change.capacity.empty())
      return Status(Code::invalid_argument, "cancel takes no other change");
    if (!core_.target_) {
      return Status(Code::not_found,
                    "no change is in progress to cancel: the owners already match the layout");
    }
    revert_to_layout(state, *core_.layout_, version);
  }
  std::set<NodeId> named;
  if (Status added = apply_adds(change, state, named, version); !added.ok())
    return added;
  if (Status applied = apply_removals_and_reweights(change, state, named, version); !applied.ok())
    return applied;
  for (const Member& member : state.members) {
    if (Status valid =
            validate(RingNode{member.id, member.capacity, member.zone, NodeState::active});
        !valid.ok())
      return valid;
  }
  return Status::Ok();
}

void Membership::change(uint64_t now_ms, RequestId request, const ClusterChange& change,
                        bool dry_run) {
  core_.now_ms_ = now_ms;
  auto fail = [&](Status status) {
    core_.effects_.push_back(ClusterChangeDone{request, std::move(status), false, std::nullopt});
  };
  if (!core_.layout_ || core_.members_.empty()) {
    fail(Status(Code::unavailable, "this node is not a member of a cluster yet"));
    return;
  }
  ClusterState state = cluster_state();
  if (Status applied = apply_change(change, state); !applied.ok()) {
    fail(applied);
    return;
  }
  std::vector<RingNode> owners = ring_nodes(state.members);
  if (owners.empty()) {
    fail(Status(Code::invalid_argument,
                "the change would leave no node to hold data; add a node before removing the "
                "last ones"));
    return;
  }
  auto plan = plan_assignment(*core_.layout_, std::move(owners), kAssignmentReplicas);
  if (!plan.ok()) {
    fail(plan.status());
    return;
  }
  if (dry_run) {
    core_.effects_.push_back(ClusterChangeDone{request, Status::Ok(), false, std::move(*plan)});
    return;
  }
  persist_and_adopt(
      std::move(state), [this, request, plan = std::move(*plan)](Status status) mutable {
        if (!status.ok()) {
          core_.effects_.push_back(ClusterChangeDone{
              request,
              Status(Code::unavailable,
                     "the change was not committed (storage failed): " + status.message()),
              false, std::nullopt});
          return;
        }
        broadcast();
        core_.effects_.push_back(ClusterChangeDone{request, Status::Ok(), true, std::move(plan)});
      });
}

void Membership::change_tokens(uint64_t now_ms, RequestId request, const TokenChange& change) {
  core_.now_ms_ = now_ms;
  auto done = [this, request](Status status) {
    const bool committed = status.ok();
    core_.effects_.push_back(
        ClusterChangeDone{request, std::move(status), committed, std::nullopt});
  };
  if (!core_.layout_ || core_.members_.empty()) {
    done(Status(Code::unavailable, "this node is not a member of a cluster yet"));
    return;
  }
  ClusterState state = cluster_state();
  uint64_t version = now_ms;
  for (const ApiToken& token : state.tokens)
    version = std::max(version, token.version + 1);
  if (change.create) {
    ApiToken token = *change.create;
    token.version = version;
    token.revoked = false;
    if (Status valid = validate_token(token); !valid.ok()) {
      done(valid);
      return;
    }
    if (find_token(state.tokens, token.id) != nullptr) {
      done(Status(Code::already_exists, "a token with id '" + token.id + "' exists already"));
      return;
    }
    if (state.tokens.size() >= kTokensMax) {
      done(Status(Code::too_large, fmt::format("this cluster holds {} tokens, the most it may; "
                                               "revoked ones count too",
                                               kTokensMax)));
      return;
    }
    state.tokens.push_back(std::move(token));
    std::sort(state.tokens.begin(), state.tokens.end(),
              [](const ApiToken& left, const ApiToken& right) { return left.id < right.id; });
  } else {
    auto found = std::find_if(state.tokens.begin(), state.tokens.end(),
                              [&](const ApiToken& token) { return token.id == change.revoke; });
    if (found == state.tokens.end() || found->revoked) {
      done(Status(Code::not_found, "no live token with id '" + change.revoke + "'"));
      return;
    }
    const bool last_admin =
        found->scope == TokenScope::admin &&
        std::count_if(state.tokens.begin(), state.tokens.end(), [](const ApiToken& token) {
          return token.scope == TokenScope::admin && !token.revoked;
        }) == 1;
    if (last_admin) {
      done(Status(Code::invalid_argument,
                  "token '" + change.revoke +
                      "' is the cluster's last admin token: create another admin token "
                      "first (ringkv token create --admin), then revoke this one"));
      return;
    }
    found->revoked = true;
    found->secret_hash.clear();
    found->version = version;
  }
  persist_and_adopt(std::move(state), [this, done](Status status) {
    if (!status.ok()) {
      done(Status(Code::unavailable,
                  "the token change was not committed (storage failed): " + status.message()));
      return;
    }
    broadcast();
    done(Status::Ok());
  });
}

Status Membership::store_missing(std::string_view name, uint64_t now_ms) const {
  // A node that started or joined moments ago (or came back with an empty
  // disk) may not have heard of a store yet: "no such store" would be a
  // false answer. It is only given once a peer that is up has told this
  // node a list of store names equal to its own.
  bool agreed = core_.others_.empty();
  for (const NodeId& other : core_.others_) {
    if (!core_.is_down(other, now_ms) && core_.gossiper_.agrees_on_stores(other))
      agreed = true;
  }
  if (agreed)
    return core_errors::unknown_store(name);
  return Status(Code::unavailable,
                fmt::format("this node does not know store '{}' and has not yet learned the "
                            "cluster's stores from a peer (it started moments ago); retry shortly",
                            name));
}

MemberRole Membership::role_of(const NodeId& node) const {
  for (const Member& member : core_.members_) {
    if (member.id == node)
      return member.role;
  }
  return MemberRole::owner;  // layout-only mode: every node owns
}

ClusterState Membership::cluster_state() const {
  ClusterState state;
  state.cluster_id = core_.cluster_id_;
  state.members = core_.members_;
  state.tokens = core_.tokens_;
  if (core_.layout_)
    state.layout = *core_.layout_;
  return state;
}

uint64_t Membership::stores_digest() const {
  uint64_t hash = digest64("stores");
  for (const StoreEntry* store : core_.catalog_.list()) {
    hash = digest64(store->name, hash);
    hash = digest64(std::string_view("\0", 1), hash);
    // The configuration too: two members that took different ones for one
    // name (created at once) exchange them and keep the winner.
    hash = digest64(describe(store->config), hash);
  }
  return hash;
}

}  // namespace ringkv
