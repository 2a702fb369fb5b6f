// The node core; see node_core.h.
#include "cluster/node_core.h"

#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core_errors.h"
#include "cluster/write_rules.h"
#include "common/check.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {

using namespace core_errors;
namespace {

// How long a write refused for load waits before it is issued again: about
// one group commit, so the queue has drained a group meanwhile.
constexpr uint64_t kWriteRetryMs = 20;
// The most writes one key may have waiting for its lock on a node. Each
// holds the lock for one local write (about one fsync), so 128 waiters are
// already a queue of a few hundred milliseconds: beyond it, shed.
constexpr size_t kKeyWaitersMax = 128;

PutReply put_failed(RequestId request, Status status) {
  PutReply out;
  out.request = request;
  out.status = std::move(status);
  return out;
}

ForwardPutReply forward_failed(uint64_t op, PeerStatus status) {
  ForwardPutReply out;
  out.op = op;
  out.status = std::move(status);
  return out;
}

}  // namespace

NodeCore::NodeCore(NodeCoreOptions options, Engine& reads, StoreCatalog catalog)
    : options_(std::move(options)),
      reads_(reads),
      catalog_(std::move(catalog)),
      random_(options_.seed),
      single_use_random_(options_.seed ^ 0x5ced1e5acee5f00dULL),
      detector_(options_.failure_detector) {
  fresh_directory_ = options_.fresh_directory;
  load_hint_totals();
  load_recovery();
}

void NodeCore::set_layout(Layout layout) {
  layout_ = std::move(layout);
  layout_self_ = layout_->node_index(options_.self);
  tables_.clear();
  refresh_membership();
}

std::vector<NodeId> NodeCore::replicas_of(const StoreEntry& store, std::string_view key) {
  std::vector<NodeId> out;
  if (!layout_)
    return out;
  for (uint32_t index : table_for(store.config.n).nodes_for_key(key))
    out.push_back(layout_->nodes()[index].id);
  return out;
}

void NodeCore::send(const NodeId& to, PeerMessage message) {
  if (is_self(to)) {
    // Never through the network: the real transport drops frames addressed
    // to their sender, so a copy meant for this node would silently vanish
    // (a coordinator that is itself a new replica during a move).
    loopback_.push_back(std::move(message));
    return;
  }
  effects_.push_back(SendEffect{to, std::move(message)});
}

std::vector<Effect> NodeCore::take_effects() {
  // Bounded: each round handles what earlier rounds sent; a message to self
  // answering a message to self is at most a reply, which sends nothing back.
  for (int round = 0; round < 8 && !loopback_.empty(); ++round) {
    std::vector<PeerMessage> messages = std::exchange(loopback_, {});
    for (PeerMessage& message : messages) {
      receive(now_ms_, options_.self, std::move(message));
    }
  }
  RINGKV_ASSERT(loopback_.empty(), "a message to self keeps sending messages to self");
  return std::exchange(effects_, {});
}

uint64_t NodeCore::issue_write(WriteBatch batch, bool durable, Continuation done) {
  const uint64_t id = ++last_write_;
  writes_.emplace(id, std::move(done));
  effects_.push_back(WriteEffect{id, std::move(batch), durable});
  return id;
}

void NodeCore::issue_write_until_taken(WriteBatch batch, bool durable, Continuation done) {
  WriteBatch copy = batch;
  issue_write(
      std::move(batch), durable,
      [this, copy = std::move(copy), durable, done = std::move(done)](Status status) mutable {
        if (status.code() != Code::overloaded) {
          done(std::move(status));
          return;
        }
        retry_writes_.push_back(
            {now_ms_ + kWriteRetryMs, std::move(copy), durable, std::move(done)});
      });
}

void NodeCore::fence(const Status& status) {
  if (fence_.ok()) {
    fence_ = Status(Code::unavailable, "this node's storage failed a write (" + status.message() +
                                           "); it refuses writes until it is restarted");
  }
}

void NodeCore::write_done(uint64_t now_ms, uint64_t write_id, Status status) {
  now_ms_ = now_ms;
  auto found = writes_.find(write_id);
  if (found == writes_.end())
    return;  // a driver bug; nothing waits for it
  Continuation done = std::move(found->second);
  writes_.erase(found);
  // A refusal for load (a full commit queue) is not a storage failure: the
  // write did not happen, the caller reports or retries it, and the node
  // keeps serving. Anything else means the disk may hold an uncertain state.
  if (!status.ok() && status.code() != Code::overloaded)
    fence(status);
  done(status);
}

Status NodeCore::key_wait_room(const std::string& data_key) const {
  auto busy = busy_keys_.find(data_key);
  if (busy == busy_keys_.end() || busy->second.size() < kKeyWaitersMax)
    return Status::Ok();
  return Status(Code::overloaded,
                fmt::format("{} writes of this key are already waiting on this node; retry "
                            "shortly",
                            busy->second.size()));
}

void NodeCore::with_key(const std::string& data_key, std::function<void()> work) {
  auto [busy, inserted] = busy_keys_.try_emplace(data_key);
  if (!inserted) {
    ++stats_.keys_waiting;
    busy->second.push_back(std::move(work));
    return;
  }
  work();
}

void NodeCore::release_key(const std::string& data_key) {
  auto busy = busy_keys_.find(data_key);
  if (busy == busy_keys_.end())
    return;
  if (busy->second.empty()) {
    busy_keys_.erase(busy);
    return;
  }
  auto next = std::move(busy->second.front());
  busy->second.pop_front();
  next();
}

Result<SiblingSet> NodeCore::read_local(const StoreEntry& store, std::string_view key,
                                        std::string* raw) {
  encode_data_key(store.id, key, key_buffer_);
  auto bytes = reads_.get(Column::data, key_buffer_);
  if (!bytes.ok())
    return bytes.status();
  if (!bytes.value())
    return SiblingSet();
  auto set = decode_record(*bytes.value());
  if (raw != nullptr)
    *raw = std::move(*bytes.value());
  return set;
}

// ---- put ----

void NodeCore::put(uint64_t now_ms, RequestId request, std::string_view store_name, std::string key,
                   VersionVector seen, Version version) {
  now_ms_ = now_ms;
  const StoreEntry* store = catalog_.find(store_name);
  if (store == nullptr) {
    ++stats_.puts_failed;
    effects_.push_back(put_failed(request, store_missing(store_name, now_ms)));
    return;
  }
  if (!layout_) {
    ++stats_.puts_failed;
    effects_.push_back(put_failed(request, no_layout()));
    return;
  }
  version.timestamp_ms = now_ms;
  const std::vector<NodeId> replicas = replicas_of(*store, key);
  if (replicas.size() < store->config.w) {
    ++stats_.puts_failed;
    effects_.push_back(put_failed(request, too_few_nodes(*store, "w", store->config.w)));
    return;
  }
  if (std::find(replicas.begin(), replicas.end(), options_.self) == replicas.end()) {
    // Not a replica: the first replica believed up coordinates, so the dot
    // is a replica's.
    std::optional<NodeId> up;
    for (const NodeId& replica : replicas) {
      if (!is_down(replica, now_ms)) {
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
      if (!up || is_self(*up)) {
        coordinate_put(now_ms, Origin{request, {}, 0}, *store, std::move(key), std::move(seen),
                       std::move(version), /*single_use_actor=*/true);
        return;
      }
    }
    if (!up) {
      ++stats_.puts_failed;
      effects_.push_back(put_failed(
          request, Status(Code::unavailable,
                          fmt::format("store '{}' is strict and every replica of the key is down "
                                      "({}); the write was not stored",
                                      store->name, node_list(replicas)))));
      return;
    }
    ++stats_.puts_forwarded;
    const NodeId target = *up;
    const uint64_t op = next_op();
    // A little longer than the coordinator's own deadline, so that its
    // answer (success or a named failure) arrives before we give up.
    forwards_[op] = PendingForward{request, target, now_ms + options_.request_timeout_ms * 5 / 4};
    send(target,
         ForwardPut{op, spec_of(*store), std::move(key), std::move(seen), std::move(version)});
    return;
  }
  coordinate_put(now_ms, Origin{request, {}, 0}, *store, std::move(key), std::move(seen),
                 std::move(version));
}

void NodeCore::on_forward_put(uint64_t now_ms, const NodeId& from, ForwardPut message) {
  const uint64_t op = message.op;
  // A forwarded put is coordinated once: a duplicate of the message (the
  // network's, or a resend after a reconnect) would number the same value
  // under a second dot, a phantom version that comes back as a sibling after
  // the client overwrote the first (the value-based checker found it).
  if (!forwards_taken_.try_emplace({from, op}, now_ms + 2 * options_.request_timeout_ms).second)
    return;
  const StoreSpec spec = message.store;  // the lambda below takes `message`
  ensure_store(spec, [this, now_ms, from, op,
                      message = std::move(message)](Result<const StoreEntry*> entry) mutable {
    if (!entry.ok()) {
      send(from, forward_failed(op, PeerStatus::from(entry.status())));
      return;
    }
    coordinate_put(now_ms, Origin{0, from, op}, **entry, std::move(message.key),
                   std::move(message.seen), std::move(message.version));
  });
}

void NodeCore::on_forward_reply(ForwardPutReply message) {
  auto found = forwards_.find(message.op);
  if (found == forwards_.end())
    return;  // expired already
  const RequestId request = found->second.request;
  forwards_.erase(found);
  Status status = message.status.to_status();
  if (status.ok())
    ++stats_.puts_acknowledged;
  else
    ++stats_.puts_failed;
  effects_.push_back(PutReply{request, std::move(status), message.dot, std::move(message.context)});
}

void NodeCore::answer_put(const Origin& origin, Status status, Dot dot, VersionVector context) {
  if (origin.from.empty()) {
    if (status.ok())
      ++stats_.puts_acknowledged;
    else
      ++stats_.puts_failed;
    effects_.push_back(PutReply{origin.request, std::move(status), dot, std::move(context)});
  } else {
    send(origin.from,
         ForwardPutReply{origin.op, PeerStatus::from(status), dot, std::move(context)});
  }
}

void NodeCore::coordinate_put(uint64_t now_ms, Origin origin, const StoreEntry& store,
                              std::string key, VersionVector seen, Version version,
                              bool single_use_actor) {
  if (!fence_.ok()) {
    answer_put(origin, fence_, {}, {});
    return;
  }
  std::string data_key = encode_data_key(store.id, key);
  if (Status room = key_wait_room(data_key); !room.ok()) {
    answer_put(origin, room, {}, {});
    return;
  }
  with_key(data_key, [this, now_ms, origin = std::move(origin), store = &store, data_key,
                      key = std::move(key), seen = std::move(seen), version = std::move(version),
                      single_use_actor]() mutable {
    if (!fence_.ok()) {
      answer_put(origin, fence_, {}, {});
      release_key(data_key);
      return;
    }
    const std::vector<NodeId> replicas = replicas_of(*store, key);
    if (!single_use_actor &&
        std::find(replicas.begin(), replicas.end(), options_.self) == replicas.end()) {
      // Not a replica by this node's layout (a forward from a node with
      // another view, or the layout flipped while the put waited for the
      // key): it keeps no copy, so it must not number the write under its
      // own actor (a later write of the key would not know that dot).
      single_use_actor = true;
    }
    const std::vector<Target> targets = place(*store, key, replicas);
    const uint32_t needed =
        std::min<uint32_t>(store->config.w, static_cast<uint32_t>(replicas.size()));
    if (store->config.quorum == QuorumMode::strict) {
      std::vector<NodeId> down;
      for (const NodeId& replica : replicas) {
        if (is_down(replica, now_ms))
          down.push_back(replica);
      }
      if (replicas.size() - down.size() < needed) {
        answer_put(origin,
                   Status(Code::unavailable,
                          fmt::format("store '{}' is strict: w = {} replicas must acknowledge but "
                                      "only {} of n = {} are reachable (down: {}); the write was "
                                      "not stored",
                                      store->name, needed, replicas.size() - down.size(),
                                      replicas.size(), node_list(down))),
                   {}, {});
        release_key(data_key);
        return;
      }
    }
    // Not a replica, but it keeps the write as a hint (every replica is
    // down): it holds every version it numbered for the key, so it numbers
    // under its stand-in actor from those hints, and the key's clock grows
    // by one entry per outage, not per write. Otherwise the write starts
    // from nothing under an actor used for it alone.
    bool stand_in_numbered = false;
    if (single_use_actor) {
      for (const Target& target : targets)
        stand_in_numbered = stand_in_numbered || (is_self(target.node) && !target.hint_for.empty());
    }
    std::string old_record;
    auto set = !single_use_actor   ? read_local(*store, key, &old_record)
               : stand_in_numbered ? read_stand_in_copy(*store, key)
                                   : Result<SiblingSet>(SiblingSet());
    if (!set.ok()) {
      // Never overwrite a record we could not read: that would lose its versions.
      answer_put(origin, set.status(), {}, {});
      release_key(data_key);
      return;
    }
    ActorId actor = options_.actor;
    if (stand_in_numbered) {
      actor = stand_in_actor();
    } else if (single_use_actor) {
      // Unique: this incarnation's actor is unique and the counter never repeats in it.
      actor = single_use_random_.next() | 1;
      ++stats_.single_use_actors;
    }
    // With tombstone collection on, a key's first write by this actor starts
    // above any counter it could have used before the key was collected.
    const uint64_t floor = options_.tombstone_sweep_interval_ms > 0 && !single_use_actor
                               ? std::max<uint64_t>(now_ms, 1) << 10
                               : 0;
    auto applied =
        apply_client_put(*set, store->config, std::move(seen), actor, std::move(version), floor);
    if (!applied.ok()) {
      answer_put(origin, applied.status(), {}, {});
      release_key(data_key);
      return;
    }
    const uint64_t op = next_op();
    PendingPut& pending = puts_[op];
    pending.origin = std::move(origin);
    pending.needed = needed;
    pending.replicas = static_cast<uint32_t>(replicas.size());
    pending.dot = applied->dot;
    pending.context = std::move(applied->context);
    pending.deadline = now_ms + options_.request_timeout_ms;
    if (store->config.quorum == QuorumMode::sloppy) {
      pending.retry_at = now_ms + (options_.sloppy_retry_ms != 0 ? options_.sloppy_retry_ms
                                                                 : options_.request_timeout_ms / 4);
      pending.store = store;
      pending.key = key;
    }
    // Bookkeeping first: a local hint may complete at once and end the put.
    bool local_write = false;
    std::optional<NodeId> local_hint_for;
    for (const Target& target : targets) {
      pending.waiting.push_back(target.node);
      pending.asked.push_back(target.node);
      if (!target.hint_for.empty())
        ++stats_.sloppy_writes;
      if (!is_self(target.node)) {
        send(target.node, ReplicaWrite{op, spec_of(*store), key, *set, target.hint_for, false,
                                       fenced_version(*store), fenced_target(*store)});
      } else if (target.hint_for.empty()) {
        local_write = true;
        data_write_issued(*store, key, data_key, old_record, &applied->record);
        WriteBatch batch;
        batch.push_back({Column::data, data_key, std::move(applied->record)});
        issue_write_until_taken(std::move(batch), store->config.durability == Durability::sync,
                                [this, op, data_key, store](Status status) {
                                  data_write_done(*store, data_key, status.ok());
                                  release_key(data_key);
                                  put_acknowledged(op, options_.self, status);
                                });
      } else {
        local_hint_for = target.hint_for;
      }
    }
    // During a move the target's new replicas get the write too. In a
    // sloppy store they are extras: not waited for, not counted toward w
    // (streaming and its Merkle verification catch whatever they miss). In
    // a strict store the write needs w of the target's replicas as well.
    const std::vector<NodeId> extras = target_extras(*store, key, replicas);
    pending.target_digest = target_digest_;
    if (store->config.quorum == QuorumMode::strict) {
      pending.joint = joint_list(*store, key, replicas);
      pending.joint_needed =
          std::min<uint32_t>(store->config.w, static_cast<uint32_t>(pending.joint.size()));
    }
    for (const NodeId& extra : extras) {
      ++stats_.extra_writes;
      if (pending.joint.empty()) {
        send(extra, ReplicaWrite{0, spec_of(*store), key, *set, {}, false});
      } else {
        pending.joint_only.push_back(extra);
        pending.waiting.push_back(extra);
        pending.asked.push_back(extra);
        send(extra, ReplicaWrite{op,
                                 spec_of(*store),
                                 key,
                                 *set,
                                 {},
                                 false,
                                 fenced_version(*store),
                                 fenced_target(*store)});
      }
    }
    if (store->config.quorum == QuorumMode::sloppy)  // kept for a retry (retry_with_stand_ins)
      pending.set = local_hint_for ? *set : std::move(*set);
    if (local_hint_for) {
      // A stand-in-numbered write keeps the key until its hint is stored,
      // so the next one numbers from it; if it is not stored, the dot may
      // live elsewhere without this node knowing it, so the actor retires.
      store_hint(*store, *local_hint_for, key, std::move(*set),
                 [this, op, stand_in_numbered, actor, data_key](Status status) {
                   if (stand_in_numbered) {
                     if (!status.ok() && stand_in_actor_ == actor)
                       stand_in_actor_ = 0;
                     release_key(data_key);
                   }
                   put_acknowledged(op, options_.self, status);
                 });
    }
    if (!local_write && !(local_hint_for && stand_in_numbered))
      release_key(data_key);
  });
}

void NodeCore::put_acknowledged(uint64_t op, const NodeId& node, Status status) {
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

void NodeCore::finish_put(uint64_t op, Status status) {
  auto found = puts_.find(op);
  RINGKV_ASSERT(found != puts_.end(), "a pending put for the reply");
  PendingPut pending = std::move(found->second);
  puts_.erase(found);
  answer_put(pending.origin, std::move(status), pending.dot, std::move(pending.context));
}

// ---- replica service ----

void NodeCore::merge_locally(const StoreEntry& store, std::string key, SiblingSet set,
                             Continuation done, bool force_sync, bool anti_entropy) {
  std::string data_key = encode_data_key(store.id, key);
  if (Status room = key_wait_room(data_key); !room.ok()) {
    done(room);
    return;
  }
  with_key(data_key, [this, store = &store, data_key, key = std::move(key), set = std::move(set),
                      done = std::move(done), force_sync, anti_entropy]() mutable {
    if (!fence_.ok()) {
      release_key(data_key);
      done(fence_);
      return;
    }
    std::string old_record;
    auto local = read_local(*store, key, &old_record);
    if (!local.ok()) {
      release_key(data_key);
      done(local.status());
      return;
    }
    SiblingSet merged = SiblingSet::merged(*local, set);
    if (merged == *local) {
      // Nothing new. A sync store's copy is durable already (every write of
      // it was, and the key lock waits for them). A periodic store's copy
      // may not be, and a caller that asked for durability (a handover or
      // stream source that will delete its copy, a hint's delivery) must
      // not hear "ok" before it is: one fsync, group-committed.
      if (force_sync && store->config.durability != Durability::sync) {
        issue_write({}, /*durable=*/true, [this, data_key, done = std::move(done)](Status status) {
          release_key(data_key);
          done(status);
        });
        return;
      }
      release_key(data_key);
      done(Status::Ok());
      return;
    }
    ++stats_.replica_writes;
    if (anti_entropy)
      ++stats_.ae_keys_repaired;
    std::string record = encode_record(merged);
    data_write_issued(*store, key, data_key, old_record, &record);
    WriteBatch batch;
    batch.push_back({Column::data, data_key, std::move(record)});
    issue_write(std::move(batch), force_sync || store->config.durability == Durability::sync,
                [this, store, data_key, done = std::move(done)](Status status) {
                  data_write_done(*store, data_key, status.ok());
                  release_key(data_key);
                  done(status);
                });
  });
}

Status NodeCore::admit_inbound(const NodeId& from, uint64_t bytes) {
  uint64_t& held = inbound_bytes_[from];
  if (held != 0 && held + bytes > options_.inbound_bytes_per_source_max) {
    ++stats_.inbound_refused;
    return Status(Code::overloaded,
                  fmt::format("{} bytes of replication from {} are still being written here; "
                              "retry shortly",
                              held, from));
  }
  held += bytes;
  return Status::Ok();
}

void NodeCore::release_inbound(const NodeId& from, uint64_t bytes) {
  auto found = inbound_bytes_.find(from);
  if (found == inbound_bytes_.end())
    return;
  found->second -= std::min(found->second, bytes);
  if (found->second == 0)
    inbound_bytes_.erase(found);
}

uint64_t NodeCore::approx_bytes(std::string_view key, const SiblingSet& set) {
  uint64_t bytes = key.size();
  for (const auto& entry : set.entries()) {
    bytes += 16;
    for (const Version& version : entry.versions)
      bytes += version.value.size() + 10;
  }
  return bytes;
}

void NodeCore::on_replica_write(const NodeId& from, ReplicaWrite message) {
  const uint64_t op = message.op;
  const uint64_t bytes = approx_bytes(message.key, message.set);
  if (Status admitted = admit_inbound(from, bytes); !admitted.ok()) {
    if (op != 0)
      send(from, ReplicaWriteReply{op, PeerStatus::from(admitted)});
    return;
  }
  const StoreSpec spec = message.store;  // the lambda below takes `message`
  ensure_store(spec, [this, from, op, bytes,
                      message = std::move(message)](Result<const StoreEntry*> entry) mutable {
    auto reply = [this, from, op, bytes](Status status) {
      release_inbound(from, bytes);
      if (op != 0)
        send(from, ReplicaWriteReply{op, PeerStatus::from(status)});
    };
    if (!entry.ok()) {
      reply(entry.status());
      return;
    }
    if (!message.hint_for.empty() && !is_self(message.hint_for)) {
      store_hint(**entry, message.hint_for, std::move(message.key), std::move(message.set), reply);
      return;
    }
    if (Status stale = check_layout(from, message.layout_version, message.target_digest);
        !stale.ok()) {
      reply(stale);
      return;
    }
    if (handing_over(**entry, message.key)) {
      reply(Status(Code::unavailable,
                   "this node no longer replicates the key (its copy is being handed over to "
                   "the current replicas and dropped)"));
      return;
    }
    merge_locally(**entry, std::move(message.key), std::move(message.set), reply, message.sync);
  });
}

uint64_t NodeCore::fenced_version(const StoreEntry& store) const {
  return store.config.quorum == QuorumMode::strict && layout_ ? layout_->version() : 0;
}

uint64_t NodeCore::fenced_target(const StoreEntry& store) const {
  return store.config.quorum == QuorumMode::strict ? target_digest_ : 0;
}

Status NodeCore::check_layout(const NodeId& from, uint64_t layout_version, uint64_t target_digest) {
  if (layout_version == 0 || !layout_)
    return Status::Ok();
  const bool older = layout_version < layout_->version();
  // Same layout, but this replica knows a move the coordinator does not: the
  // coordinator would not wait for the new replicas (joint quorum).
  const bool unaware = layout_version == layout_->version() && target_digest_ != 0 &&
                       target_digest != target_digest_;
  if (!older && !unaware)
    return Status::Ok();
  if (!members_.empty())
    send(from, ClusterUpdate{members_, encode_layout(*layout_)});  // catch up, then retry
  return Status(Code::unavailable,
                older ? fmt::format("the coordinator's layout (version {}) is older than this "
                                    "replica's (version {}); it is being updated, retry",
                                    layout_version, layout_->version())
                      : std::string("the coordinator has not heard of the layout change in "
                                    "progress; it is being updated, retry"));
}

void NodeCore::on_replica_read(const NodeId& from, ReplicaRead message) {
  if (Status stale = check_layout(from, message.layout_version, message.target_digest);
      !stale.ok()) {
    send(from, ReplicaReadReply{message.op, PeerStatus::from(stale), {}});
    return;
  }
  if (recovering_ && (message.hint_for.empty() || is_self(message.hint_for))) {
    // Our copies are being refilled: an empty answer would count as "not
    // found" toward r. (Hints we hold are whole: those we still serve.)
    ++stats_.reads_refused_recovering;
    send(from, ReplicaReadReply{
                   message.op,
                   {Code::unavailable, "this replica lost its data and is recovering; ask another"},
                   {}});
    return;
  }
  const StoreEntry* store = catalog_.find(message.store.name);
  if (store == nullptr) {
    send(from, ReplicaReadReply{message.op, {}, SiblingSet()});  // never written here
    return;
  }
  auto set = !message.hint_for.empty() && !is_self(message.hint_for)
                 ? read_hint(*store, message.hint_for, message.key)
                 : read_local(*store, message.key);
  if (!set.ok()) {
    send(from, ReplicaReadReply{message.op, PeerStatus::from(set.status()), {}});
    return;
  }
  send(from, ReplicaReadReply{message.op, {}, std::move(*set)});
}

// ---- peers and time ----

void NodeCore::receive(uint64_t now_ms, const NodeId& from, PeerMessage message) {
  now_ms_ = now_ms;
  suspected_.erase(from);  // it is alive: it just spoke
  std::visit(
      [&](auto&& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, ReplicaWrite>) {
          on_replica_write(from, std::move(body));
        } else if constexpr (std::is_same_v<T, ReplicaWriteReply>) {
          if (puts_.count(body.op) != 0)
            put_acknowledged(body.op, from, body.status.to_status());
          else
            handoff_acknowledged(body.op, from, body.status.to_status());
        } else if constexpr (std::is_same_v<T, ReplicaRead>) {
          on_replica_read(from, std::move(body));
        } else if constexpr (std::is_same_v<T, ReplicaReadReply>) {
          Result<SiblingSet> answer = body.status.code == Code::ok
                                          ? Result<SiblingSet>(std::move(body.set))
                                          : Result<SiblingSet>(body.status.to_status());
          get_answered(body.op, from, std::move(answer));
        } else if constexpr (std::is_same_v<T, ForwardPut>) {
          on_forward_put(now_ms, from, std::move(body));
        } else if constexpr (std::is_same_v<T, ForwardPutReply>) {
          on_forward_reply(std::move(body));
        } else if constexpr (std::is_same_v<T, CreateStore>) {
          on_create_store(from, std::move(body));
        } else if constexpr (std::is_same_v<T, CreateStoreReply>) {
          // Done with that member unless it may succeed later (a member that
          // has another config under the name never will).
          if (body.status.code == Code::ok || body.status.code == Code::already_exists)
            create_replied(body.op, from, body.status);
        } else if constexpr (std::is_same_v<T, JoinRequest>) {
          on_join_request(from, std::move(body));
        } else if constexpr (std::is_same_v<T, JoinReply>) {
          if (body.status.code == Code::ok)
            merge_received(std::move(body.members), body.layout);
        } else if constexpr (std::is_same_v<T, ClusterUpdate>) {
          merge_received(std::move(body.members), body.layout);
        } else if constexpr (std::is_same_v<T, Gossip>) {
          on_gossip(now_ms, from, std::move(body));
        } else if constexpr (std::is_same_v<T, AeRoots>) {
          on_ae_roots(from, std::move(body));
        } else if constexpr (std::is_same_v<T, AeLeaves>) {
          on_ae_leaves(from, std::move(body));
        } else if constexpr (std::is_same_v<T, AeSync>) {
          on_ae_sync(from, std::move(body));
        } else if constexpr (std::is_same_v<T, AeSyncReply>) {
          on_ae_sync_reply(from, std::move(body));
        } else if constexpr (std::is_same_v<T, TombstoneCheck>) {
          on_tombstone_check(from, body);
        } else if constexpr (std::is_same_v<T, TombstoneCheckReply>) {
          on_tombstone_check_reply(from, body);
        } else if constexpr (std::is_same_v<T, TombstoneReap>) {
          on_tombstone_reap(body);
        } else if constexpr (std::is_same_v<T, PruneCheck>) {
          on_prune_check(from, body);
        } else if constexpr (std::is_same_v<T, PruneCheckReply>) {
          on_prune_check_reply(from, body);
        } else if constexpr (std::is_same_v<T, ClockPrune>) {
          on_clock_prune(body);
        } else if constexpr (std::is_same_v<T, StreamRequest>) {
          on_stream_request(from, std::move(body));
        } else if constexpr (std::is_same_v<T, StreamChunk>) {
          on_stream_chunk(from, std::move(body));
        } else {
          static_assert(kNoHandlerFor<T>, "NodeCore::receive: a peer message has no handler");
        }
      },
      message);
}

namespace {

// The ops of `pending` whose deadline has passed (collected first: answering
// an op erases it).
template <typename Pending>
std::vector<uint64_t> expired_ops(const std::map<uint64_t, Pending>& pending, uint64_t now_ms) {
  std::vector<uint64_t> out;
  for (const auto& [op, entry] : pending) {
    if (entry.deadline <= now_ms)
      out.push_back(op);
  }
  return out;
}

}  // namespace

void NodeCore::tick(uint64_t now_ms) {
  now_ms_ = now_ms;
  gossip_tick(now_ms);
  for (uint64_t op : expired_ops(handoffs_, now_ms)) {
    hints_in_flight_.erase(handoffs_.at(op).hint_key);
    handoffs_.erase(op);  // tried again next round
  }
  handoff_tick(now_ms);
  anti_entropy_tick(now_ms);
  tombstone_tick(now_ms);
  prune_tick(now_ms);
  rebalance_tick(now_ms);
  recovery_tick(now_ms);
  if (!retry_writes_.empty()) {
    std::vector<RetryWrite> due;
    for (auto it = retry_writes_.begin(); it != retry_writes_.end();) {
      if (it->due_ms <= now_ms) {
        due.push_back(std::move(*it));
        it = retry_writes_.erase(it);
      } else {
        ++it;
      }
    }
    for (RetryWrite& retry : due)
      issue_write_until_taken(std::move(retry.batch), retry.durable, std::move(retry.done));
  }
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
      if (!is_self(silent))
        suspected_.insert(silent);
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
    suspected_.insert(pending.to);  // the next forward goes to another replica
    ++stats_.puts_failed;
    effects_.push_back(put_failed(
        pending.request,
        Status(Code::unavailable,
               fmt::format("write timed out waiting for replica {} to coordinate it; it may or "
                           "may not be stored",
                           pending.to))));
  }
  for (uint64_t op : expired_ops(gets_, now_ms)) {
    PendingGet& pending = gets_.at(op);
    for (const NodeId& asked : pending.asked) {
      const bool answered =
          std::any_of(pending.answers.begin(), pending.answers.end(),
                      [&](const ReadAnswer& answer) { return answer.node == asked; });
      if (!answered && !is_self(asked))
        suspected_.insert(asked);
    }
    if (!pending.replied) {
      ++stats_.gets_failed;
      effects_.push_back(get_failed(
          pending.request,
          Status(Code::unavailable,
                 fmt::format("read timed out: {} of r = {} replicas answered (n = {})",
                             pending.answers.size(), pending.needed, pending.replicas))));
    }
    read_repair(pending);
    gets_.erase(op);
  }
  for (auto& [op, pending] : creates_) {
    if (pending.deadline <= now_ms)
      answer_create(pending);  // the store exists here; the rest keep being asked
    if (pending.next_retry <= now_ms) {
      pending.next_retry = now_ms + options_.store_create_retry_ms;
      for (const NodeId& member : pending.waiting)
        send(member, CreateStore{op, spec_of(*pending.store)});
    }
  }
}

}  // namespace ringkv
