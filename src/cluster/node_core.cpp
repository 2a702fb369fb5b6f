// The node core; see node_core.h.
#include "cluster/node_core.h"

#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core_errors.h"
#include "common/check.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {

using namespace core_errors;
namespace {

// How long a write refused for load waits before it is issued again: about
// one group commit, so the queue has drained a group meanwhile.
constexpr uint64_t kWriteRetryMs = 20;

}  // namespace

NodeCore::NodeCore(NodeCoreOptions options, Engine& reads, StoreCatalog catalog)
    : options_(std::move(options)),
      reads_(reads),
      catalog_(std::move(catalog)),
      random_(options_.seed),
      single_use_random_(options_.seed ^ 0x5ced1e5acee5f00dULL),
      merkle_(reads) {
  fresh_directory_ = options_.fresh_directory;
  handoff_.load_totals();
  recovery_.load();
}

NodeCore::Stats NodeCore::stats() const {
  Stats out = stats_;
  out.merkle_builds = merkle_.counters().builds;
  out.merkle_scan_failures = merkle_.counters().scan_failures;
  return out;
}

void NodeCore::set_layout(Layout layout) {
  layout_ = std::move(layout);
  layout_self_ = layout_->node_index(options_.self);
  tables_.clear();
  refresh_membership();
}

void NodeCore::put(uint64_t now_ms, RequestId request, std::string_view store, std::string key,
                   VersionVector seen, Version version) {
  coordinator_.put(now_ms, request, store, std::move(key), std::move(seen), std::move(version));
}

void NodeCore::get(uint64_t now_ms, RequestId request, std::string_view store, std::string key) {
  coordinator_.get(now_ms, request, store, std::move(key));
}

void NodeCore::create_store(uint64_t now_ms, RequestId request, std::string_view name,
                            const StoreConfig& config) {
  stores_.create_store(now_ms, request, name, config);
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
  return key_locks_.room(data_key);
}

void NodeCore::with_key(const std::string& data_key, std::function<void()> work) {
  if (key_locks_.run_or_queue(data_key, std::move(work)))
    ++stats_.keys_waiting;
}

void NodeCore::release_key(const std::string& data_key) {
  key_locks_.release(data_key);
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
  stores_.ensure_store(spec, [this, from, op, bytes, message = std::move(message)](
                                 Result<const StoreEntry*> entry) mutable {
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
      handoff_.store_hint(**entry, message.hint_for, std::move(message.key), std::move(message.set),
                          reply);
      return;
    }
    if (Status stale = check_layout(from, message.layout_version, message.target_digest);
        !stale.ok()) {
      reply(stale);
      return;
    }
    if (rebalancer_.handing_over(**entry, message.key)) {
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
  if (recovery_.active() && (message.hint_for.empty() || is_self(message.hint_for))) {
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
                 ? handoff_.read_hint(*store, message.hint_for, message.key)
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
  gossiper_.heard_from(from);  // it is alive: it just spoke
  std::visit(
      [&](auto&& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, ReplicaWrite>) {
          on_replica_write(from, std::move(body));
        } else if constexpr (std::is_same_v<T, ReplicaWriteReply>) {
          if (coordinator_.coordinates_put(body.op))
            coordinator_.put_acknowledged(body.op, from, body.status.to_status());
          else
            handoff_.acknowledged(body.op, from, body.status.to_status());
        } else if constexpr (std::is_same_v<T, ReplicaRead>) {
          on_replica_read(from, std::move(body));
        } else if constexpr (std::is_same_v<T, ReplicaReadReply>) {
          Result<SiblingSet> answer = body.status.code == Code::ok
                                          ? Result<SiblingSet>(std::move(body.set))
                                          : Result<SiblingSet>(body.status.to_status());
          coordinator_.get_answered(body.op, from, std::move(answer));
        } else if constexpr (std::is_same_v<T, ForwardPut>) {
          coordinator_.on_forward_put(now_ms, from, std::move(body));
        } else if constexpr (std::is_same_v<T, ForwardPutReply>) {
          coordinator_.on_forward_reply(std::move(body));
        } else if constexpr (std::is_same_v<T, CreateStore>) {
          stores_.on_create_store(from, std::move(body));
        } else if constexpr (std::is_same_v<T, CreateStoreReply>) {
          stores_.on_create_reply(from, body);
        } else if constexpr (std::is_same_v<T, JoinRequest>) {
          on_join_request(from, std::move(body));
        } else if constexpr (std::is_same_v<T, JoinReply>) {
          if (body.status.code == Code::ok)
            merge_received(std::move(body.members), body.layout);
        } else if constexpr (std::is_same_v<T, ClusterUpdate>) {
          merge_received(std::move(body.members), body.layout);
        } else if constexpr (std::is_same_v<T, Gossip>) {
          gossiper_.on_gossip(now_ms, from, std::move(body));
        } else if constexpr (std::is_same_v<T, AeRoots>) {
          anti_entropy_.on_roots(from, std::move(body));
        } else if constexpr (std::is_same_v<T, AeLeaves>) {
          anti_entropy_.on_leaves(from, std::move(body));
        } else if constexpr (std::is_same_v<T, AeSync>) {
          anti_entropy_.on_sync(from, std::move(body));
        } else if constexpr (std::is_same_v<T, AeSyncReply>) {
          anti_entropy_.on_sync_reply(from, std::move(body));
        } else if constexpr (std::is_same_v<T, TombstoneCheck>) {
          tombstones_.on_check(from, body);
        } else if constexpr (std::is_same_v<T, TombstoneCheckReply>) {
          tombstones_.on_check_reply(from, body);
        } else if constexpr (std::is_same_v<T, TombstoneReap>) {
          tombstones_.on_reap(body);
        } else if constexpr (std::is_same_v<T, PruneCheck>) {
          pruner_.on_check(from, body);
        } else if constexpr (std::is_same_v<T, PruneCheckReply>) {
          pruner_.on_check_reply(from, body);
        } else if constexpr (std::is_same_v<T, ClockPrune>) {
          pruner_.on_prune(body);
        } else if constexpr (std::is_same_v<T, StreamRequest>) {
          rebalancer_.on_stream_request(from, std::move(body));
        } else if constexpr (std::is_same_v<T, StreamChunk>) {
          rebalancer_.on_stream_chunk(from, std::move(body));
        } else {
          static_assert(kNoHandlerFor<T>, "NodeCore::receive: a peer message has no handler");
        }
      },
      message);
}

void NodeCore::tick(uint64_t now_ms) {
  now_ms_ = now_ms;
  gossiper_.tick(now_ms);
  handoff_.tick(now_ms);
  anti_entropy_.tick(now_ms);
  tombstones_.tick(now_ms);
  pruner_.tick(now_ms);
  rebalancer_.tick(now_ms);
  recovery_.tick(now_ms);
  retry_refused_writes(now_ms);
  coordinator_.tick(now_ms);
  stores_.tick(now_ms);
}

void NodeCore::retry_refused_writes(uint64_t now_ms) {
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
}

// The sweeps' shared rules (tombstone collection and clock pruning).

bool NodeCore::data_settled() const {
  // Never while data moves: a chunk or handover read before a collection
  // and merged after it would bring the collected record back without the
  // knowledge that superseded its versions.
  return !target_ && !rebalancer_.moving_data() &&
         now_ms_ >= layout_since_ms_ + 2 * options_.drop_grace_ms;
}

bool NodeCore::any_other_down(uint64_t now_ms) const {
  return std::any_of(others_.begin(), others_.end(),
                     [&](const NodeId& other) { return is_down(other, now_ms); });
}

const StoreEntry* NodeCore::next_swept_partition(size_t& store_cursor, uint32_t& partition_cursor,
                                                 uint32_t& partition) {
  const std::vector<const StoreEntry*> stores = catalog_.list();
  if (stores.empty())
    return nullptr;
  const uint32_t partitions = layout_->partition_count();
  const StoreEntry* store = stores[store_cursor % stores.size()];
  partition = partition_cursor % partitions;
  if (++partition_cursor >= partitions) {
    partition_cursor = 0;
    ++store_cursor;
  }
  const auto list = table_for(store->config.n).nodes(partition);
  if (list.empty() || !is_self(layout_->nodes()[list[0]].id))
    return nullptr;  // the first replica of the partition sweeps it
  return store;
}

bool NodeCore::fold_agreement(const NodeId& from, const std::vector<bool>& answers,
                              std::vector<NodeId>& waiting, std::vector<bool>& agreed) {
  auto found = std::find(waiting.begin(), waiting.end(), from);
  if (found == waiting.end())
    return false;  // not asked, or a duplicate
  waiting.erase(found);
  for (size_t index = 0; index < agreed.size(); ++index)
    agreed[index] = agreed[index] && index < answers.size() && answers[index];
  return true;
}

}  // namespace ringkv
