// The node core's cluster-wide metadata: membership (forming, admitting,
// adopting states) and spreading store creation to every member. See
// node_core.h; the request paths are in node_core.cpp.
#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "cluster/node_core.h"
#include "ring/assignment.h"

namespace ringkv {
namespace {

// Assignment balances preference lists for this n (the default store's); any
// store's n works with any layout.
constexpr uint32_t kAssignmentReplicas = 3;

}  // namespace

// ---- membership ----

void NodeCore::adopt_cluster(ClusterState state) {
  members_ = std::move(state.members);
  set_layout(std::move(state.layout));
  effects_.push_back(MembersChanged{members_});
}

void NodeCore::persist_and_adopt(ClusterState state, std::function<void(Status)> then) {
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kClusterStateKey), encode_cluster_state(state)});
  issue_write(std::move(batch), /*durable=*/true,
              [this, state = std::move(state), then = std::move(then)](Status status) mutable {
                if (status.ok())
                  adopt_cluster(std::move(state));
                then(status);
              });
}

void NodeCore::form_cluster(uint64_t now_ms, Member self, uint32_t partition_bits) {
  now_ms_ = now_ms;
  ClusterState state;
  state.members.push_back(std::move(self));
  auto plan = plan_assignment(Layout::empty(partition_bits), ring_nodes(state.members),
                              kAssignmentReplicas);
  assert(plan.ok());
  state.layout = std::move(plan->layout);
  persist_and_adopt(std::move(state), [](Status) {});
}

void NodeCore::on_join_request(const NodeId& from, JoinRequest message) {
  if (membership_busy_) {
    membership_waiting_.push_back([this, from, message = std::move(message)]() mutable {
      on_join_request(from, std::move(message));
    });
    return;
  }
  auto reply = [this, from, op = message.op](Status status) {
    JoinReply out;
    out.op = op;
    out.status = PeerStatus::from(status);
    if (status.ok() && layout_) {
      out.members = members_;
      out.layout = encode_layout(*layout_);
    }
    send(from, std::move(out));
  };
  if (!layout_ || members_.empty()) {
    reply(Status(Code::unavailable, "this node is not a member of a cluster yet"));
    return;
  }
  if (Status valid = validate(RingNode{message.member.id, message.member.capacity,
                                       message.member.zone, NodeState::active});
      !valid.ok()) {
    reply(valid);
    return;
  }
  std::vector<Member> members = members_;
  auto existing = std::find_if(members.begin(), members.end(),
                               [&](const Member& m) { return m.id == message.member.id; });
  if (existing != members.end() && *existing == message.member) {
    reply(Status::Ok());  // a member asking again (it restarted or lost our reply)
    return;
  }
  if (existing != members.end())
    *existing = message.member;
  else
    members.push_back(message.member);
  std::sort(members.begin(), members.end(),
            [](const Member& left, const Member& right) { return left.id < right.id; });
  // A new layout version even when only an address changed, so that every
  // member adopts the new state; the same table moves no partition.
  ClusterState state;
  state.members = std::move(members);
  auto plan = plan_assignment(*layout_, ring_nodes(state.members), kAssignmentReplicas);
  if (!plan.ok()) {
    reply(plan.status());
    return;
  }
  state.layout = std::move(plan->layout);
  membership_busy_ = true;
  persist_and_adopt(std::move(state), [this, from, reply](Status status) {
    membership_busy_ = false;
    reply(status);
    if (status.ok()) {
      ClusterUpdate update{members_, encode_layout(*layout_)};
      for (const Member& member : members_) {
        if (!is_self(member.id) && member.id != from)
          send(member.id, update);
      }
    }
    while (!membership_busy_ && !membership_waiting_.empty()) {
      auto next = std::move(membership_waiting_.front());
      membership_waiting_.pop_front();
      next();
    }
  });
}

void NodeCore::adopt_if_newer(std::vector<Member> members, std::string_view layout_bytes) {
  auto layout = decode_layout(layout_bytes);
  if (!layout.ok() || (layout_ && layout->version() <= layout_->version()))
    return;  // stale, or not a layout: keep ours
  ClusterState state{std::move(members), std::move(*layout)};
  // Re-encode through the state codec's checks (every layout node a member).
  auto checked = decode_cluster_state(encode_cluster_state(state));
  if (!checked.ok())
    return;
  persist_and_adopt(std::move(*checked), [](Status) {});
}

// ---- stores ----

void NodeCore::ensure_store(const StoreSpec& spec,
                            std::function<void(Result<const StoreEntry*>)> then) {
  if (const StoreEntry* entry = catalog_.find(spec.name)) {
    if (entry->config == spec.config) {
      then(entry);
    } else {
      then(Status(Code::already_exists,
                  fmt::format("store '{}' exists here as {} but the peer has {}", spec.name,
                              describe(entry->config), describe(spec.config))));
    }
    return;
  }
  if (auto creating = creating_.find(spec.name); creating != creating_.end()) {
    creating->second.push_back(
        [this, spec, then = std::move(then)]() mutable { ensure_store(spec, std::move(then)); });
    return;
  }
  if (!fence_.ok()) {
    then(fence_);
    return;
  }
  auto plan = catalog_.plan_create(spec.name, spec.config);
  if (!plan.ok()) {
    then(plan.status());
    return;
  }
  creating_[spec.name];
  issue_write(std::move(plan->batch), /*durable=*/true,
              [this, name = spec.name, entry = std::move(plan->entry),
               then = std::move(then)](Status status) mutable {
                auto waiting = std::move(creating_[name]);
                creating_.erase(name);
                if (status.ok()) {
                  then(catalog_.apply_create(std::move(entry)));
                } else {
                  then(Status(Code::unavailable,
                              "store not created (storage failed): " + status.message()));
                }
                for (auto& retry : waiting)
                  retry();
              });
}

void NodeCore::create_store(uint64_t now_ms, RequestId request, std::string_view name,
                            const StoreConfig& config) {
  now_ms_ = now_ms;
  if (Status status = validate_store_name(name); !status.ok()) {
    effects_.push_back(CreateStoreDone{request, status});
    return;
  }
  if (Status status = validate(config); !status.ok()) {
    effects_.push_back(CreateStoreDone{request, status});
    return;
  }
  const StoreEntry* existing = catalog_.find(name);
  if (existing != nullptr && existing->config != config) {
    // plan_create() finds an existing store without reserving anything, and
    // words the refusal for a client.
    effects_.push_back(CreateStoreDone{request, catalog_.plan_create(name, config).status()});
    return;
  }
  const bool existed = existing != nullptr;
  ensure_store(StoreSpec{std::string(name), config},
               [this, request, existed](Result<const StoreEntry*> entry) {
                 if (!entry.ok()) {
                   effects_.push_back(CreateStoreDone{request, entry.status()});
                   return;
                 }
                 const uint64_t op = next_op();
                 PendingCreate& pending = creates_[op];
                 pending.request = request;
                 pending.store = *entry;
                 pending.created = !existed;
                 pending.deadline = now_ms_ + options_.store_create_timeout_ms;
                 pending.next_retry = now_ms_ + options_.store_create_retry_ms;
                 if (layout_) {
                   for (const RingNode& node : layout_->nodes()) {
                     if (is_self(node.id))
                       continue;
                     pending.waiting.push_back(node.id);
                     send(node.id, CreateStore{op, spec_of(**entry)});
                   }
                 }
                 if (pending.waiting.empty()) {
                   answer_create(pending);
                   creates_.erase(op);
                 }
               });
}

void NodeCore::answer_create(PendingCreate& pending) {
  if (pending.answered)
    return;
  pending.answered = true;
  effects_.push_back(
      CreateStoreDone{pending.request, Status::Ok(), pending.store, pending.created});
}

void NodeCore::create_acknowledged(uint64_t op, const NodeId& member) {
  auto found = creates_.find(op);
  if (found == creates_.end())
    return;
  PendingCreate& pending = found->second;
  // Each member counts once, whatever the network duplicated.
  auto waiting = std::find(pending.waiting.begin(), pending.waiting.end(), member);
  if (waiting == pending.waiting.end())
    return;
  pending.waiting.erase(waiting);
  if (!pending.waiting.empty())
    return;
  answer_create(pending);
  creates_.erase(found);
}

void NodeCore::on_create_store(const NodeId& from, CreateStore message) {
  const uint64_t op = message.op;
  ensure_store(message.store, [this, from, op](Result<const StoreEntry*> entry) {
    send(from, CreateStoreReply{op, PeerStatus::from(entry.status())});
  });
}

}  // namespace ringkv
