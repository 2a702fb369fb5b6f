// The node core; see node_core.h.
#include "cluster/node_core.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "cluster/write_rules.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

Status unknown_store(std::string_view store) {
  return {Code::not_found,
          fmt::format("no store named '{}'; create it first with PUT /v1/stores/{}", store, store)};
}

PutReply put_failed(RequestId request, Status status) {
  PutReply out;
  out.request = request;
  out.status = std::move(status);
  return out;
}

GetReply get_failed(RequestId request, Status status) {
  GetReply out;
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

// A quorum larger than the cluster: refused rather than quietly weakened.
Status too_few_nodes(const StoreEntry& store, std::string_view quorum, uint32_t needed) {
  return {Code::unavailable,
          fmt::format("store '{}' needs {} = {} replicas but the cluster has fewer nodes; add "
                      "nodes (ringkv serve --join) or use a store with a smaller {}",
                      store.name, quorum, needed, quorum)};
}

Status no_layout() {
  return {Code::unavailable,
          "this node does not know the cluster layout yet; retry shortly or ask another node"};
}

}  // namespace

NodeCore::NodeCore(NodeCoreOptions options, Engine& reads, StoreCatalog catalog)
    : options_(std::move(options)), reads_(reads), catalog_(std::move(catalog)) {}

void NodeCore::set_layout(Layout layout) {
  layout_ = std::move(layout);
  tables_.clear();
}

std::vector<NodeId> NodeCore::replicas_of(const StoreEntry& store, std::string_view key) {
  std::vector<NodeId> out;
  if (!layout_)
    return out;
  auto table = tables_.find(store.config.n);
  if (table == tables_.end())
    table = tables_.emplace(store.config.n, PreferenceTable::build(*layout_, store.config.n)).first;
  for (uint32_t index : table->second.nodes_for_key(key))
    out.push_back(layout_->nodes()[index].id);
  return out;
}

void NodeCore::send(const NodeId& to, PeerMessage message) {
  effects_.push_back(SendEffect{to, std::move(message)});
}

uint64_t NodeCore::issue_write(WriteBatch batch, bool durable, Continuation done) {
  const uint64_t id = ++last_write_;
  writes_.emplace(id, std::move(done));
  effects_.push_back(WriteEffect{id, std::move(batch), durable});
  return id;
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
  if (!status.ok())
    fence(status);
  done(status);
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

Result<SiblingSet> NodeCore::read_local(const StoreEntry& store, std::string_view key) {
  encode_data_key(store.id, key, key_buffer_);
  auto bytes = reads_.get(Column::data, key_buffer_);
  if (!bytes.ok())
    return bytes.status();
  if (!bytes.value())
    return SiblingSet();
  return decode_record(*bytes.value());
}

// ---- put ----

void NodeCore::put(uint64_t now_ms, RequestId request, std::string_view store_name, std::string key,
                   VersionVector seen, Version version) {
  now_ms_ = now_ms;
  const StoreEntry* store = catalog_.find(store_name);
  if (store == nullptr) {
    ++stats_.puts_failed;
    effects_.push_back(put_failed(request, unknown_store(store_name)));
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
    // Not a replica: the first replica not suspected coordinates, so the dot
    // is a replica's.
    ++stats_.puts_forwarded;
    NodeId target = replicas.front();
    for (const NodeId& replica : replicas) {
      if (suspected_.count(replica) == 0) {
        target = replica;
        break;
      }
    }
    const uint64_t op = next_op();
    forwards_[op] = PendingForward{request, target, now_ms + options_.request_timeout_ms};
    send(target,
         ForwardPut{op, spec_of(*store), std::move(key), std::move(seen), std::move(version)});
    return;
  }
  coordinate_put(now_ms, Origin{request, {}, 0}, *store, std::move(key), std::move(seen),
                 std::move(version));
}

void NodeCore::on_forward_put(uint64_t now_ms, const NodeId& from, ForwardPut message) {
  const uint64_t op = message.op;
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
                              std::string key, VersionVector seen, Version version) {
  if (!fence_.ok()) {
    answer_put(origin, fence_, {}, {});
    return;
  }
  std::string data_key = encode_data_key(store.id, key);
  with_key(data_key, [this, now_ms, origin = std::move(origin), store = &store, data_key,
                      key = std::move(key), seen = std::move(seen),
                      version = std::move(version)]() mutable {
    if (!fence_.ok()) {
      answer_put(origin, fence_, {}, {});
      release_key(data_key);
      return;
    }
    auto set = read_local(*store, key);
    if (!set.ok()) {
      // Never overwrite a record we could not read: that would lose its versions.
      answer_put(origin, set.status(), {}, {});
      release_key(data_key);
      return;
    }
    auto applied =
        apply_client_put(*set, store->config, std::move(seen), options_.actor, std::move(version));
    if (!applied.ok()) {
      answer_put(origin, applied.status(), {}, {});
      release_key(data_key);
      return;
    }
    const std::vector<NodeId> replicas = replicas_of(*store, key);
    const uint64_t op = next_op();
    PendingPut& pending = puts_[op];
    pending.origin = std::move(origin);
    pending.needed = std::min<uint32_t>(store->config.w, static_cast<uint32_t>(replicas.size()));
    pending.replicas = static_cast<uint32_t>(replicas.size());
    pending.waiting = replicas;
    pending.dot = applied->dot;
    pending.context = std::move(applied->context);
    pending.deadline = now_ms + options_.request_timeout_ms;
    WriteBatch batch;
    batch.push_back({Column::data, data_key, std::move(applied->record)});
    issue_write(std::move(batch), store->config.durability == Durability::sync,
                [this, op, data_key](Status status) {
                  release_key(data_key);
                  put_acknowledged(op, options_.self, status);
                });
    for (const NodeId& replica : replicas) {
      if (!is_self(replica))
        send(replica, ReplicaWrite{op, spec_of(*store), key, *set});
    }
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
  if (status.ok()) {
    ++pending.acks;
  } else {
    ++pending.failures;
    pending.last_failure = std::move(status);
  }
  if (pending.acks >= pending.needed) {
    finish_put(op, Status::Ok());
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
  assert(found != puts_.end());
  PendingPut pending = std::move(found->second);
  puts_.erase(found);
  answer_put(pending.origin, std::move(status), pending.dot, std::move(pending.context));
}

// ---- replica service ----

void NodeCore::merge_locally(const StoreEntry& store, std::string key, SiblingSet set,
                             Continuation done) {
  std::string data_key = encode_data_key(store.id, key);
  with_key(data_key, [this, store = &store, data_key, key = std::move(key), set = std::move(set),
                      done = std::move(done)]() mutable {
    if (!fence_.ok()) {
      release_key(data_key);
      done(fence_);
      return;
    }
    auto local = read_local(*store, key);
    if (!local.ok()) {
      release_key(data_key);
      done(local.status());
      return;
    }
    SiblingSet merged = SiblingSet::merged(*local, set);
    if (merged == *local) {
      release_key(data_key);  // nothing new: what we hold was written before
      done(Status::Ok());
      return;
    }
    ++stats_.replica_writes;
    WriteBatch batch;
    batch.push_back({Column::data, data_key, encode_record(merged)});
    issue_write(std::move(batch), store->config.durability == Durability::sync,
                [this, data_key, done = std::move(done)](Status status) {
                  release_key(data_key);
                  done(status);
                });
  });
}

void NodeCore::on_replica_write(const NodeId& from, ReplicaWrite message) {
  const uint64_t op = message.op;
  const StoreSpec spec = message.store;  // the lambda below takes `message`
  ensure_store(spec, [this, from, op,
                      message = std::move(message)](Result<const StoreEntry*> entry) mutable {
    auto reply = [this, from, op](Status status) {
      if (op != 0)
        send(from, ReplicaWriteReply{op, PeerStatus::from(status)});
    };
    if (!entry.ok()) {
      reply(entry.status());
      return;
    }
    merge_locally(**entry, std::move(message.key), std::move(message.set), reply);
  });
}

void NodeCore::on_replica_read(const NodeId& from, ReplicaRead message) {
  const StoreEntry* store = catalog_.find(message.store.name);
  if (store == nullptr) {
    send(from, ReplicaReadReply{message.op, {}, SiblingSet()});  // never written here
    return;
  }
  auto set = read_local(*store, message.key);
  if (!set.ok()) {
    send(from, ReplicaReadReply{message.op, PeerStatus::from(set.status()), {}});
    return;
  }
  send(from, ReplicaReadReply{message.op, {}, std::move(*set)});
}

// ---- get ----

void NodeCore::get(uint64_t now_ms, RequestId request, std::string_view store_name,
                   std::string key) {
  now_ms_ = now_ms;
  const StoreEntry* store = catalog_.find(store_name);
  if (store == nullptr) {
    ++stats_.gets_failed;
    effects_.push_back(get_failed(request, unknown_store(store_name)));
    return;
  }
  if (!layout_) {
    ++stats_.gets_failed;
    effects_.push_back(get_failed(request, no_layout()));
    return;
  }
  const std::vector<NodeId> replicas = replicas_of(*store, key);
  if (replicas.size() < store->config.r) {
    ++stats_.gets_failed;
    effects_.push_back(get_failed(request, too_few_nodes(*store, "r", store->config.r)));
    return;
  }
  const uint64_t op = next_op();
  PendingGet& pending = gets_[op];
  pending.request = request;
  pending.store = store;
  pending.key = key;
  pending.needed = std::min<uint32_t>(store->config.r, static_cast<uint32_t>(replicas.size()));
  pending.replicas = static_cast<uint32_t>(replicas.size());
  pending.asked = replicas;
  pending.deadline = now_ms + options_.request_timeout_ms;
  bool local = false;
  for (const NodeId& replica : replicas) {
    if (is_self(replica))
      local = true;
    else
      send(replica, ReplicaRead{op, spec_of(*store), key});
  }
  if (local)
    get_answered(op, options_.self, read_local(*store, key));
}

void NodeCore::get_answered(uint64_t op, const NodeId& node, Result<SiblingSet> answer) {
  auto found = gets_.find(op);
  if (found == gets_.end())
    return;
  PendingGet& pending = found->second;
  if (std::find(pending.asked.begin(), pending.asked.end(), node) == pending.asked.end())
    return;  // not asked (or answered twice: a duplicated message)
  for (const ReadAnswer& seen : pending.answers) {
    if (seen.node == node)
      return;
  }
  if (answer.ok()) {
    pending.answers.push_back({node, std::move(*answer)});
  } else {
    ++pending.failures;
    pending.last_failure = answer.status();
  }
  maybe_finish_get(op);
}

void NodeCore::maybe_finish_get(uint64_t op) {
  auto found = gets_.find(op);
  PendingGet& pending = found->second;
  const auto answered = static_cast<uint32_t>(pending.answers.size());
  if (!pending.replied && answered >= pending.needed) {
    SiblingSet merged;
    for (const ReadAnswer& answer : pending.answers)
      merged.merge(answer.set);
    pending.replied = true;
    ++stats_.gets_answered;
    effects_.push_back(GetReply{pending.request, Status::Ok(), std::move(merged), pending.store});
  } else if (!pending.replied && pending.failures > pending.replicas - pending.needed) {
    pending.replied = true;
    ++stats_.gets_failed;
    effects_.push_back(get_failed(
        pending.request,
        Status(Code::unavailable,
               fmt::format("read needs r = {} replicas but only {} of {} answered ({} failed: {})",
                           pending.needed, answered, pending.replicas, pending.failures,
                           pending.last_failure.message()))));
  }
  if (answered + pending.failures == pending.replicas) {
    read_repair(pending);
    gets_.erase(found);
  }
}

void NodeCore::read_repair(PendingGet& get) {
  if (get.answers.size() < 2)
    return;
  SiblingSet merged;
  for (const ReadAnswer& answer : get.answers)
    merged.merge(answer.set);
  for (const ReadAnswer& answer : get.answers) {
    if (answer.set == merged)
      continue;
    ++stats_.read_repairs;
    if (is_self(answer.node)) {
      merge_locally(*get.store, get.key, merged, [](Status) {});
    } else {
      send(answer.node, ReplicaWrite{0, spec_of(*get.store), get.key, merged});
    }
  }
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
          put_acknowledged(body.op, from, body.status.to_status());
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
            create_acknowledged(body.op, from);
        } else if constexpr (std::is_same_v<T, JoinRequest>) {
          on_join_request(from, std::move(body));
        } else if constexpr (std::is_same_v<T, JoinReply>) {
          if (body.status.code == Code::ok)
            adopt_if_newer(std::move(body.members), body.layout);
        } else if constexpr (std::is_same_v<T, ClusterUpdate>) {
          adopt_if_newer(std::move(body.members), body.layout);
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
  for (uint64_t op : expired_ops(puts_, now_ms)) {
    const PendingPut& pending = puts_.at(op);
    for (const NodeId& silent : pending.waiting) {
      if (!is_self(silent))
        suspected_.insert(silent);
    }
    finish_put(op, Status(Code::unavailable,
                          fmt::format("write timed out: {} of w = {} replicas acknowledged ({} of "
                                      "n = {} answered); it may or may not be stored",
                                      pending.acks, pending.needed, pending.acks + pending.failures,
                                      pending.replicas)));
  }
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
