// StoreCreation (store_creation.h): a store is created on the node a client
// asked (its catalog entry durably written first), then on every other
// member by CreateStore, re-sent every store_create_retry_ms until each
// answered; the client is answered once all did, or at
// store_create_timeout_ms (the store exists here; the others keep being
// asked). A peer's message naming a store this node lacks creates it here
// first (ensure_store). Two nodes that create one name at once with
// different configurations converge on the one with more copies
// (wins_over); the loser's client hears already_exists.
#include "cluster/store_creation.h"

#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core.h"

namespace ringkv {

void StoreCreation::ensure_store(const StoreSpec& spec,
                                 std::function<void(Result<const StoreEntry*>)> then) {
  if (auto creating = creating_.find(spec.name); creating != creating_.end()) {
    creating->second.push_back(
        [this, spec, then = std::move(then)]() mutable { ensure_store(spec, std::move(then)); });
    return;
  }
  if (const StoreEntry* entry = core_.catalog_.find(spec.name)) {
    if (entry->config == spec.config) {
      then(entry);
    } else if (!wins_over(spec.config, entry->config)) {
      then(Status(Code::already_exists,
                  fmt::format("store '{}' exists here as {} but the peer has {}; of two "
                              "configurations created at once the one with more copies is kept",
                              spec.name, describe(entry->config), describe(spec.config))));
    } else {
      // Two nodes created the name at once with different configurations:
      // every node keeps the winner (wins_over), so they converge on one.
      // (The loser's creator answers its client with an error: answer_create.)
      if (!core_.fence_.ok()) {
        then(core_.fence_);
        return;
      }
      creating_[spec.name];
      core_.issue_write(core_.catalog_.plan_replace(spec.name, spec.config), /*durable=*/true,
                        [this, spec, then = std::move(then)](Status status) mutable {
                          auto waiting = std::move(creating_[spec.name]);
                          creating_.erase(spec.name);
                          if (status.ok()) {
                            core_.catalog_.apply_replace(spec.name, spec.config);
                            ++core_.stats_.store_configs_replaced;
                            then(core_.catalog_.find(spec.name));
                          } else {
                            then(Status(Code::unavailable,
                                        "store not changed (storage failed): " + status.message()));
                          }
                          for (auto& retry : waiting)
                            retry();
                        });
    }
    return;
  }
  if (!core_.fence_.ok()) {
    then(core_.fence_);
    return;
  }
  auto plan = core_.catalog_.plan_create(spec.name, spec.config);
  if (!plan.ok()) {
    then(plan.status());
    return;
  }
  creating_[spec.name];
  core_.issue_write(std::move(plan->batch), /*durable=*/true,
                    [this, name = spec.name, entry = std::move(plan->entry),
                     then = std::move(then)](Status status) mutable {
                      auto waiting = std::move(creating_[name]);
                      creating_.erase(name);
                      if (status.ok()) {
                        then(core_.catalog_.apply_create(std::move(entry)));
                      } else {
                        then(Status(Code::unavailable,
                                    "store not created (storage failed): " + status.message()));
                      }
                      for (auto& retry : waiting)
                        retry();
                    });
}

void StoreCreation::create_store(uint64_t now_ms, RequestId request, std::string_view name,
                                 const StoreConfig& config) {
  core_.now_ms_ = now_ms;
  if (Status status = validate_store_name(name); !status.ok()) {
    core_.effects_.push_back(CreateStoreDone{request, status});
    return;
  }
  if (Status status = validate(config); !status.ok()) {
    core_.effects_.push_back(CreateStoreDone{request, status});
    return;
  }
  const StoreEntry* existing = core_.catalog_.find(name);
  if (existing != nullptr && existing->config != config) {
    // plan_create() finds an existing store without reserving anything, and
    // words the refusal for a client.
    core_.effects_.push_back(
        CreateStoreDone{request, core_.catalog_.plan_create(name, config).status()});
    return;
  }
  const bool existed = existing != nullptr;
  ensure_store(StoreSpec{std::string(name), config},
               [this, request, existed](Result<const StoreEntry*> entry) {
                 if (!entry.ok()) {
                   core_.effects_.push_back(CreateStoreDone{request, entry.status()});
                   return;
                 }
                 const uint64_t op = core_.next_op();
                 PendingCreate& pending = creates_[op];
                 pending.request = request;
                 pending.store = *entry;
                 pending.config = (*entry)->config;
                 pending.created = !existed;
                 pending.deadline = core_.now_ms_ + core_.options_.store_create_timeout_ms;
                 pending.next_retry = core_.now_ms_ + core_.options_.store_create_retry_ms;
                 if (core_.layout_) {
                   for (const RingNode& node : core_.layout_->nodes()) {
                     if (core_.is_self(node.id))
                       continue;
                     pending.waiting.push_back(node.id);
                     core_.send(node.id, CreateStore{op, core_.spec_of(**entry)});
                   }
                 }
                 if (pending.waiting.empty()) {
                   answer_create(pending);
                   creates_.erase(op);
                 }
               });
}

void StoreCreation::answer_create(PendingCreate& pending) {
  if (pending.answered)
    return;
  pending.answered = true;
  if (pending.store->config != pending.config || !pending.refused.ok()) {
    // Another node created the name at the same moment with another
    // configuration, and that one is kept everywhere.
    core_.effects_.push_back(CreateStoreDone{
        pending.request,
        Status(Code::already_exists,
               fmt::format("store '{}' was created at the same moment elsewhere as {}; that "
                           "configuration is kept (of two, the one with more copies), yours ({}) "
                           "is not: use that store as it is or create one with another name",
                           pending.store->name, describe(pending.store->config),
                           describe(pending.config)))});
    return;
  }
  core_.effects_.push_back(
      CreateStoreDone{pending.request, Status::Ok(), pending.store, pending.created});
}

void StoreCreation::on_create_reply(const NodeId& from, const CreateStoreReply& message) {
  // Done with that member unless it may succeed later (a member that has
  // another config under the name never will).
  if (message.status.code == Code::ok || message.status.code == Code::already_exists)
    create_replied(message.op, from, message.status);
}

void StoreCreation::create_replied(uint64_t op, const NodeId& member, const PeerStatus& status) {
  auto found = creates_.find(op);
  if (found != creates_.end() && status.code == Code::already_exists)
    found->second.refused = status.to_status();
  create_acknowledged(op, member);
}

void StoreCreation::create_acknowledged(uint64_t op, const NodeId& member) {
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

void StoreCreation::on_create_store(const NodeId& from, CreateStore message) {
  const uint64_t op = message.op;
  ensure_store(message.store, [this, from, op](Result<const StoreEntry*> entry) {
    core_.send(from, CreateStoreReply{op, PeerStatus::from(entry.status())});
  });
}

void StoreCreation::tick(uint64_t now_ms) {
  for (auto& [op, pending] : creates_) {
    if (pending.deadline <= now_ms)
      answer_create(pending);  // the store exists here; the rest keep being asked
    if (pending.next_retry <= now_ms) {
      pending.next_retry = now_ms + core_.options_.store_create_retry_ms;
      for (const NodeId& member : pending.waiting)
        core_.send(member, CreateStore{op, core_.spec_of(*pending.store)});
    }
  }
}

}  // namespace ringkv
