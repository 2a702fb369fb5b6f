// Coordinator (coordinator.h), the write path: a put is coordinated by a replica of the key
// (another node forwards it there), numbered under the coordinator's actor
// (or a stand-in's), written locally and sent to the other replicas (and,
// during a move, the target's), and answered once w durable copies (and a
// strict store's joint quorum) acknowledged.
#include "cluster/coordinator.h"

#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core.h"
#include "cluster/node_core_errors.h"
#include "cluster/write_rules.h"
#include "common/check.h"
#include "common/md5.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {

using namespace core_errors;

// ---- put ----

Result<const StoreEntry*> Coordinator::request_store(std::string_view name, uint64_t now_ms) {
  const StoreEntry* store = core_.catalog_.find(name);
  if (store == nullptr)
    return core_.membership_.store_missing(name, now_ms);
  if (!core_.layout_)
    return no_layout();
  return store;
}

void Coordinator::put(uint64_t now_ms, RequestId request, std::string_view store_name,
                      std::string key, VersionVector seen, Version version) {
  core_.now_ms_ = now_ms;
  Result<const StoreEntry*> found = request_store(store_name, now_ms);
  if (!found.ok()) {
    ++core_.stats_.puts_failed;
    core_.effects_.push_back(put_failed(request, found.status()));
    return;
  }
  const StoreEntry* store = *found;
  version.timestamp_ms = now_ms;
  const std::vector<NodeId> replicas = core_.replicas_of(*store, key);
  if (replicas.size() < store->config.w) {
    ++core_.stats_.puts_failed;
    core_.effects_.push_back(put_failed(request, too_few_nodes(*store, "w", store->config.w)));
    return;
  }
  if (std::find(replicas.begin(), replicas.end(), core_.options_.self) == replicas.end()) {
    // Not a replica: the first replica believed up coordinates, so the dot
    // is a replica's.
    std::optional<NodeId> up;
    for (const NodeId& replica : replicas) {
      if (!core_.is_down(replica, now_ms)) {
        up = replica;
        break;
      }
    }
    if (!up && store->config.quorum == QuorumMode::sloppy) {
      // Every replica is down and the store stays writable: the node that
      // keeps the first replica's hint numbers the write (coordinate_put),
      // so a key written through an outage gains one clock entry, not one
      // per write. If that is another node, it is asked to coordinate.
      up = stand_in_for(*store, key, replicas);
      if (!up || core_.is_self(*up)) {
        coordinate_put(now_ms, Origin{request, {}, 0}, *store, std::move(key), std::move(seen),
                       std::move(version), /*single_use_actor=*/true);
        return;
      }
    }
    if (!up) {
      ++core_.stats_.puts_failed;
      core_.effects_.push_back(put_failed(
          request, Status(Code::unavailable,
                          fmt::format("store '{}' is strict and every replica of the key is down "
                                      "({}); the write was not stored",
                                      store->name, node_list(replicas)))));
      return;
    }
    ++core_.stats_.puts_forwarded;
    const NodeId target = *up;
    const uint64_t op = core_.next_op();
    // A little longer than the coordinator's own deadline, so that its
    // answer (success or a named failure) arrives before we give up.
    forwards_[op] =
        PendingForward{request, target, now_ms + core_.options_.request_timeout_ms * 5 / 4};
    core_.send(target, ForwardPut{op, core_.spec_of(*store), std::move(key), std::move(seen),
                                  std::move(version)});
    return;
  }
  coordinate_put(now_ms, Origin{request, {}, 0}, *store, std::move(key), std::move(seen),
                 std::move(version));
}

void Coordinator::on_forward_put(uint64_t now_ms, const NodeId& from, ForwardPut message) {
  const uint64_t op = message.op;
  // A forwarded put is coordinated once: a duplicate of the message (the
  // network's, or a resend after a reconnect) would number the same value
  // under a second dot, a phantom version that comes back as a sibling after
  // the client overwrote the first (the value-based checker found it).
  if (!forwards_taken_.try_emplace({from, op}, now_ms + 2 * core_.options_.request_timeout_ms)
           .second)
    return;
  const StoreSpec spec = message.store;  // the lambda below takes `message`
  core_.stores_.ensure_store(spec, [this, now_ms, from, op, message = std::move(message)](
                                       Result<const StoreEntry*> entry) mutable {
    if (!entry.ok()) {
      core_.send(from, forward_failed(op, PeerStatus::from(entry.status())));
      return;
    }
    coordinate_put(now_ms, Origin{0, from, op}, **entry, std::move(message.key),
                   std::move(message.seen), std::move(message.version));
  });
}

void Coordinator::on_forward_reply(ForwardPutReply message) {
  auto found = forwards_.find(message.op);
  if (found == forwards_.end())
    return;  // expired already
  const RequestId request = found->second.request;
  forwards_.erase(found);
  Status status = message.status.to_status();
  if (status.ok())
    ++core_.stats_.puts_acknowledged;
  else
    ++core_.stats_.puts_failed;
  core_.effects_.push_back(
      PutReply{request, std::move(status), message.dot, std::move(message.context)});
}

void Coordinator::answer_put(const Origin& origin, Status status, Dot dot, VersionVector context) {
  if (origin.from.empty()) {
    if (status.ok())
      ++core_.stats_.puts_acknowledged;
    else
      ++core_.stats_.puts_failed;
    core_.effects_.push_back(PutReply{origin.request, std::move(status), dot, std::move(context)});
  } else {
    core_.send(origin.from,
               ForwardPutReply{origin.op, PeerStatus::from(status), dot, std::move(context)});
  }
}

void Coordinator::coordinate_put(uint64_t now_ms, Origin origin, const StoreEntry& store,
                                 std::string key, VersionVector seen, Version version,
                                 bool single_use_actor) {
  if (!core_.fence_.ok()) {
    answer_put(origin, core_.fence_, {}, {});
    return;
  }
  std::string data_key = encode_data_key(store.id, key);
  if (Status room = core_.key_wait_room(data_key); !room.ok()) {
    answer_put(origin, room, {}, {});
    return;
  }
  core_.with_key(data_key, [this, now_ms, origin = std::move(origin), store = &store, data_key,
                            key = std::move(key), seen = std::move(seen),
                            version = std::move(version), single_use_actor]() mutable {
    ClientWrite write{.store = *store,
                      .key = std::move(key),
                      .data_key = data_key,
                      .seen = std::move(seen),
                      .version = std::move(version),
                      .single_use_actor = single_use_actor};
    if (Status refused = coordinate_locked_put(now_ms, origin, write); !refused.ok()) {
      answer_put(origin, refused, {}, {});
      core_.release_key(data_key);
    }
  });
}

Status Coordinator::strict_reachable(const StoreEntry& store, const std::vector<NodeId>& replicas,
                                     uint32_t needed, uint64_t now_ms, bool read) const {
  if (store.config.quorum != QuorumMode::strict)
    return Status::Ok();
  std::vector<NodeId> down;
  for (const NodeId& replica : replicas) {
    if (core_.is_down(replica, now_ms))
      down.push_back(replica);
  }
  if (replicas.size() - down.size() >= needed)
    return Status::Ok();
  return Status(Code::unavailable,
                fmt::format("store '{}' is strict: {} = {} replicas must {} but only {} of n = {} "
                            "are reachable (down: {}); {}",
                            store.name, read ? "r" : "w", needed, read ? "answer" : "acknowledge",
                            replicas.size() - down.size(), replicas.size(), node_list(down),
                            read ? "retry when they are back" : "the write was not stored"));
}

Status Coordinator::number_put(uint64_t now_ms, ClientWrite& write,
                               const std::vector<Target>& targets) {
  // Not a replica, but it keeps the write as a hint (every replica is
  // down): it holds every version it numbered for the key, so it numbers
  // under its stand-in actor from those hints, and the key's clock grows
  // by one entry per outage, not per write. Otherwise the write starts
  // from nothing under an actor used for it alone.
  if (write.single_use_actor) {
    for (const Target& target : targets) {
      write.stand_in_numbered =
          write.stand_in_numbered || (core_.is_self(target.node) && !target.hint_for.empty());
    }
  }
  auto set = !write.single_use_actor   ? core_.read_local(write.store, write.key, &write.old_record)
             : write.stand_in_numbered ? core_.handoff_.read_stand_in_copy(write.store, write.key)
                                       : Result<SiblingSet>(SiblingSet());
  if (!set.ok())
    return set
        .status();  // never overwrite a record we could not read: that would lose its versions
  write.set = std::move(*set);
  write.actor = core_.options_.actor;
  if (write.stand_in_numbered) {
    write.actor = core_.handoff_.stand_in_actor();
  } else if (write.single_use_actor) {
    // Unique: this incarnation's actor is unique and the counter never repeats in it.
    write.actor = core_.single_use_random_.next() | 1;
    ++core_.stats_.single_use_actors;
  }
  // With tombstone collection on, a key's first write by this actor starts
  // above any counter it could have used before the key was collected.
  const uint64_t floor = core_.options_.tombstone_sweep_interval_ms > 0 && !write.single_use_actor
                             ? std::max<uint64_t>(now_ms, 1) << 10
                             : 0;
  auto applied = apply_client_put(write.set, write.store.config, std::move(write.seen), write.actor,
                                  std::move(write.version), floor);
  if (!applied.ok())
    return applied.status();
  write.applied = std::move(*applied);
  return Status::Ok();
}

Status Coordinator::coordinate_locked_put(uint64_t now_ms, Origin& origin, ClientWrite& write) {
  if (!core_.fence_.ok())
    return core_.fence_;
  const StoreEntry& store = write.store;
  const std::vector<NodeId> replicas = core_.replicas_of(store, write.key);
  if (!write.single_use_actor &&
      std::find(replicas.begin(), replicas.end(), core_.options_.self) == replicas.end()) {
    // Not a replica by this node's layout (a forward from a node with
    // another view, or the layout flipped while the put waited for the
    // key): it keeps no copy, so it must not number the write under its
    // own actor (a later write of the key would not know that dot).
    write.single_use_actor = true;
  }
  const std::vector<Target> targets = place(store, write.key, replicas);
  const uint32_t needed =
      std::min<uint32_t>(store.config.w, static_cast<uint32_t>(replicas.size()));
  if (Status reachable = strict_reachable(store, replicas, needed, now_ms, /*read=*/false);
      !reachable.ok())
    return reachable;
  if (Status numbered = number_put(now_ms, write, targets); !numbered.ok())
    return numbered;
  const uint64_t op = core_.next_op();
  PendingPut& pending = puts_[op];
  pending.origin = std::move(origin);
  pending.needed = needed;
  pending.replicas = static_cast<uint32_t>(replicas.size());
  pending.dot = write.applied.dot;
  pending.context = std::move(write.applied.context);
  pending.deadline = now_ms + core_.options_.request_timeout_ms;
  if (store.config.quorum == QuorumMode::sloppy) {
    pending.retry_at =
        now_ms + (core_.options_.sloppy_retry_ms != 0 ? core_.options_.sloppy_retry_ms
                                                      : core_.options_.request_timeout_ms / 4);
    pending.store = &store;
    pending.key = write.key;
  }
  // Bookkeeping first: a local hint may complete at once and end the put.
  bool local_write = false;
  const std::optional<NodeId> local_hint_for = send_put_copies(op, write, targets, local_write);
  send_put_extras(op, write, replicas);
  if (store.config.quorum == QuorumMode::sloppy)  // kept for a retry (retry_with_stand_ins)
    pending.set = write.set;
  if (local_hint_for) {
    // A stand-in-numbered write keeps the key until its hint is stored,
    // so the next one numbers from it; if it is not stored, the dot may
    // live elsewhere without this node knowing it, so the actor retires.
    core_.handoff_.store_hint(store, *local_hint_for, write.key, std::move(write.set),
                              [this, op, stand_in_numbered = write.stand_in_numbered,
                               actor = write.actor, data_key = write.data_key](Status status) {
                                if (stand_in_numbered) {
                                  if (!status.ok())
                                    core_.handoff_.retire_stand_in_actor(actor);
                                  core_.release_key(data_key);
                                }
                                put_acknowledged(op, core_.options_.self, status);
                              });
  }
  if (!local_write && !(local_hint_for && write.stand_in_numbered))
    core_.release_key(write.data_key);
  return Status::Ok();
}

std::optional<NodeId> Coordinator::send_put_copies(uint64_t op, ClientWrite& write,
                                                   const std::vector<Target>& targets,
                                                   bool& local_write) {
  PendingPut& pending = puts_[op];
  const StoreEntry* store = &write.store;
  const std::string& data_key = write.data_key;
  std::optional<NodeId> local_hint_for;
  for (const Target& target : targets) {
    pending.waiting.push_back(target.node);
    pending.asked.push_back(target.node);
    if (!target.hint_for.empty())
      ++core_.stats_.sloppy_writes;
    if (!core_.is_self(target.node)) {
      core_.send(target.node,
                 ReplicaWrite{op, core_.spec_of(*store), write.key, write.set, target.hint_for,
                              false, core_.fenced_version(*store), core_.fenced_target(*store)});
    } else if (target.hint_for.empty()) {
      local_write = true;
      core_.data_write_issued(*store, write.key, data_key, write.old_record, &write.applied.record);
      WriteBatch batch;
      batch.push_back({Column::data, data_key, std::move(write.applied.record)});
      core_.issue_write_until_taken(std::move(batch), store->config.durability == Durability::sync,
                                    [this, op, data_key, store](Status status) {
                                      core_.data_write_done(*store, data_key, status.ok());
                                      core_.release_key(data_key);
                                      put_acknowledged(op, core_.options_.self, status);
                                    });
    } else {
      local_hint_for = target.hint_for;
    }
  }
  return local_hint_for;
}

void Coordinator::send_put_extras(uint64_t op, const ClientWrite& write,
                                  const std::vector<NodeId>& replicas) {
  PendingPut& pending = puts_.at(op);
  const StoreEntry& store = write.store;
  // During a move the target's new replicas get the write too. In a
  // sloppy store they are extras: not waited for, not counted toward w
  // (streaming and its Merkle verification catch whatever they miss). In
  // a strict store the write needs w of the target's replicas as well.
  const std::vector<NodeId> extras = core_.rebalancer_.target_extras(store, write.key, replicas);
  pending.target_digest = core_.target_digest_;
  if (store.config.quorum == QuorumMode::strict) {
    pending.joint = core_.rebalancer_.joint_list(store, write.key, replicas);
    pending.joint_needed =
        std::min<uint32_t>(store.config.w, static_cast<uint32_t>(pending.joint.size()));
  }
  for (const NodeId& extra : extras) {
    ++core_.stats_.extra_writes;
    if (pending.joint.empty()) {
      core_.send(extra, ReplicaWrite{0, core_.spec_of(store), write.key, write.set, {}, false});
      continue;
    }
    pending.joint_only.push_back(extra);
    pending.waiting.push_back(extra);
    pending.asked.push_back(extra);
    core_.send(extra, ReplicaWrite{op,
                                   core_.spec_of(store),
                                   write.key,
                                   write.set,
                                   {},
                                   false,
                                   core_.fenced_version(store),
                                   core_.fenced_target(store)});
  }
}

void Coordinator::put_acknowledged(uint64_t op, const NodeId& node, Status status) {
  auto found = puts_.find(op);
  if (found == puts_.end())
    return;  // answered already
  PendingPut& pending = found->second;
  // Each replica counts once, whatever the network duplicated; a node that
  // was not asked does not count at all.
  auto asked = std::find(pending.waiting.begin(), pending.waiting.end(), node);
  if (asked == pending.waiting.end())
    return;
  pending.waiting.erase(asked);
  const auto in = [](const std::vector<NodeId>& nodes, const NodeId& id) {
    return std::find(nodes.begin(), nodes.end(), id) != nodes.end();
  };
  // A joint-only node (a new replica during a move) counts only toward the
  // target's quorum.
  const bool joint_only = in(pending.joint_only, node);
  if (status.ok()) {
    pending.acked.push_back(node);
    if (!joint_only)
      ++pending.acks;
  } else {
    pending.failed.push_back(node);
    if (!joint_only)
      ++pending.failures;
    pending.last_failure = std::move(status);
  }
  uint32_t joint_acks = 0, joint_failures = 0;
  for (const NodeId& member : pending.joint) {
    joint_acks += in(pending.acked, member) ? 1 : 0;
    joint_failures += in(pending.failed, member) ? 1 : 0;
  }
  const bool joint_lost =
      !pending.joint.empty() && joint_failures > pending.joint.size() - pending.joint_needed;
  if (pending.acks >= pending.needed && joint_acks >= pending.joint_needed) {
    finish_put(op, Status::Ok());
  } else if (joint_lost) {
    finish_put(op, Status(Code::unavailable,
                          fmt::format("write not acknowledged by w = {} of the new replicas "
                                      "during a rebalance ({} of {} failed: {}); it may or may "
                                      "not be stored",
                                      pending.joint_needed, joint_failures, pending.joint.size(),
                                      pending.last_failure.message())));
  } else if (pending.failures > pending.replicas - pending.needed) {
    finish_put(op, Status(Code::unavailable,
                          fmt::format("write not acknowledged by w = {} replicas ({} of {} "
                                      "acknowledged, {} failed: {}); it may or may not be stored",
                                      pending.needed, pending.acks, pending.replicas,
                                      pending.failures, pending.last_failure.message())));
  }
}

void Coordinator::finish_put(uint64_t op, Status status) {
  auto found = puts_.find(op);
  RINGKV_ASSERT(found != puts_.end(), "a pending put for the reply");
  PendingPut pending = std::move(found->second);
  puts_.erase(found);
  answer_put(pending.origin, std::move(status), pending.dot, std::move(pending.context));
}

void Coordinator::tick(uint64_t now_ms) {
  put_tick(now_ms);
  get_tick(now_ms);
}

bool Coordinator::writes_under(uint64_t target_digest) const {
  return std::all_of(puts_.begin(), puts_.end(), [&](const auto& entry) {
    return entry.second.target_digest == target_digest;
  });
}

// Puts whose stand-in retry is due, and puts and forwards past their deadline.
void Coordinator::put_tick(uint64_t now_ms) {
  std::vector<uint64_t> retries;
  for (const auto& [op, pending] : puts_) {
    if (pending.retry_at <= now_ms && pending.deadline > now_ms)
      retries.push_back(op);
  }
  for (uint64_t op : retries)
    retry_with_stand_ins(op);
  for (uint64_t op : expired_ops(puts_, now_ms)) {
    const PendingPut& pending = puts_.at(op);
    for (const NodeId& silent : pending.waiting) {
      if (!core_.is_self(silent))
        core_.gossiper_.suspect(silent);
    }
    finish_put(op, Status(Code::unavailable,
                          fmt::format("write timed out: {} of w = {} replicas acknowledged ({} of "
                                      "n = {} answered; silent: {}); it may or may not be stored",
                                      pending.acks, pending.needed, pending.acks + pending.failures,
                                      pending.replicas, node_list(pending.waiting))));
  }
  for (auto it = forwards_taken_.begin(); it != forwards_taken_.end();)
    it = it->second <= now_ms ? forwards_taken_.erase(it) : std::next(it);
  for (uint64_t op : expired_ops(forwards_, now_ms)) {
    const PendingForward pending = forwards_.at(op);
    forwards_.erase(op);
    core_.gossiper_.suspect(pending.to);  // the next forward goes to another replica
    ++core_.stats_.puts_failed;
    core_.effects_.push_back(put_failed(
        pending.request,
        Status(Code::unavailable,
               fmt::format("write timed out waiting for replica {} to coordinate it; it may or "
                           "may not be stored",
                           pending.to))));
  }
}

std::string Coordinator::node_list(const std::vector<NodeId>& nodes) {
  std::string out;
  for (const NodeId& node : nodes) {
    if (!out.empty())
      out += ", ";
    out += node;
  }
  return out.empty() ? "none" : out;
}

namespace {
// Nodes past the preference list a stand-in is first looked for among.
constexpr uint32_t kStandInLookahead = 8;
}  // namespace

std::optional<NodeId> Coordinator::stand_in_for(const StoreEntry& store, std::string_view key,
                                                const std::vector<NodeId>& exclude) {
  if (!core_.layout_)
    return std::nullopt;
  const uint32_t partition = partition_of(md5(key), core_.layout_->partition_bits());
  // The first few nodes past the list first (a short walk); the whole
  // extended list only when all of those are excluded or down.
  const auto all = static_cast<uint32_t>(core_.layout_->nodes().size());
  const uint32_t few = std::min<uint32_t>(
      all, store.config.n + static_cast<uint32_t>(exclude.size()) + kStandInLookahead);
  for (uint32_t wanted : {few, all}) {
    for (uint32_t index :
         extended_preference_list(*core_.layout_, partition, store.config.n, wanted)) {
      const NodeId& candidate = core_.layout_->nodes()[index].id;
      if (std::find(exclude.begin(), exclude.end(), candidate) == exclude.end() &&
          !core_.is_down(candidate, core_.now_ms_))
        return candidate;
    }
    if (wanted == all)
      break;
  }
  return std::nullopt;
}

std::vector<core_ops::Target> Coordinator::place(const StoreEntry& store, std::string_view key,
                                                 const std::vector<NodeId>& replicas) {
  std::vector<Target> out;
  std::vector<NodeId> missing;
  for (const NodeId& replica : replicas) {
    if (store.config.quorum == QuorumMode::sloppy && core_.is_down(replica, core_.now_ms_)) {
      const std::optional<uint64_t> since = core_.gossiper_.down_since(replica);
      if (!since || core_.now_ms_ - *since < core_.options_.hint_window_ms) {
        missing.push_back(replica);
        continue;
      }
    }
    out.push_back({replica, {}});
  }
  // Stand-ins: the next nodes of the extended preference list believed up.
  std::vector<NodeId> used = replicas;
  for (const NodeId& replica : missing) {
    if (std::optional<NodeId> stand_in = stand_in_for(store, key, used)) {
      used.push_back(*stand_in);
      out.push_back({*stand_in, replica});
    } else {
      out.push_back({replica, {}});  // nobody else: try the replica itself
    }
  }
  return out;
}

void Coordinator::retry_with_stand_ins(uint64_t op) {
  PendingPut& pending = puts_.at(op);
  pending.retry_at = UINT64_MAX;  // once
  std::vector<NodeId> silent;
  const std::vector<NodeId> replicas = core_.replicas_of(*pending.store, pending.key);
  for (const NodeId& node : pending.waiting) {
    if (std::find(replicas.begin(), replicas.end(), node) != replicas.end() && !core_.is_self(node))
      silent.push_back(node);
  }
  for (const NodeId& replica : silent) {
    std::vector<NodeId> exclude = pending.asked;
    exclude.insert(exclude.end(), replicas.begin(), replicas.end());
    std::optional<NodeId> stand_in = stand_in_for(*pending.store, pending.key, exclude);
    if (!stand_in)
      return;
    pending.asked.push_back(*stand_in);
    pending.waiting.push_back(*stand_in);
    ++pending.replicas;
    ++core_.stats_.sloppy_writes;
    if (core_.is_self(*stand_in)) {
      core_.handoff_.store_hint(
          *pending.store, replica, pending.key, pending.set,
          [this, op](Status status) { put_acknowledged(op, core_.options_.self, status); });
    } else {
      core_.send(*stand_in, ReplicaWrite{op, core_.spec_of(*pending.store), pending.key,
                                         pending.set, replica, false});
    }
  }
}

}  // namespace ringkv
