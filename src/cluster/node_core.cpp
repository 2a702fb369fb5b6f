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
NodeCore::NodeCore(NodeCoreOptions options, Engine& reads, StoreCatalog catalog)
    : NodeContext(std::move(options), reads, std::move(catalog)) {
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
  membership_.set_layout(std::move(layout));
}

void NodeCore::adopt_cluster(ClusterState state) {
  membership_.adopt(std::move(state));
}

void NodeCore::form_cluster(uint64_t now_ms, Member self, uint32_t partition_bits,
                            std::optional<ApiToken> first_token) {
  membership_.form(now_ms, std::move(self), partition_bits, std::move(first_token));
}

void NodeCore::change_cluster(uint64_t now_ms, RequestId request, const ClusterChange& change,
                              bool dry_run) {
  membership_.change(now_ms, request, change, dry_run);
}

void NodeCore::change_tokens(uint64_t now_ms, RequestId request, const TokenChange& change) {
  membership_.change_tokens(now_ms, request, change);
}

ClusterState NodeCore::cluster_state() const {
  return membership_.cluster_state();
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

void NodeCore::write_done(uint64_t now_ms, uint64_t write_id, Status status) {
  now_ms_ = now_ms;
  auto found = writes_.find(write_id);
  if (found == writes_.end())
    return;  // a driver bug; nothing waits for it
  Continuation done = std::move(found->second.done);
  if (!found->second.background && status.ok()) {
    const uint64_t sample = (now_ms - std::min(now_ms, found->second.issued_ms)) << 8;
    foreground_write_ms_x256_ =
        foreground_write_ms_x256_ - foreground_write_ms_x256_ / 16 + sample / 16;
    foreground_write_last_ms_ = now_ms;
  }
  writes_.erase(found);
  // A refusal for load (a full commit queue) is not a storage failure: the
  // write did not happen, the caller reports or retries it, and the node
  // keeps serving. Anything else means the disk may hold an uncertain state.
  if (!status.ok() && status.code() != Code::overloaded)
    fence(status);
  done(status);
}

// ---- replica service ----

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
    send(from, membership_.update_message(from));  // catch up, then retry
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

bool NodeCore::former_member(const NodeId& node) const {
  return has_entry(node) && membership_.role_of(node) == MemberRole::removed &&
         !(layout_ && layout_->node_index(node)) && !(target_ && target_->node_index(node));
}

bool NodeCore::allowed_from_former_member(const PeerMessage& message) {
  // What a removed node still does while it hands over (rebalancer_drop.cpp,
  // hinted_handoff.cpp) and until it stops: gossip its heartbeat (which says
  // when it holds nothing more), deliver hints and handover rounds, answer
  // what it is asked, coordinate its clients' reads and writes, send its
  // cluster state (a change it committed before it learned of its removal
  // must still spread: states merge by version), and join again as a new
  // node. Never: create stores, stream partitions, or drive a tombstone or
  // clock sweep. Cutting it off entirely is revoking its certificate
  // (`ringkv cert revoke`, `serve --peer-crl`).
  return std::visit(
      [](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        return !(std::is_same_v<T, CreateStore> || std::is_same_v<T, StreamRequest> ||
                 std::is_same_v<T, TombstoneCheck> || std::is_same_v<T, TombstoneReap> ||
                 std::is_same_v<T, PruneCheck> || std::is_same_v<T, ClockPrune>);
      },
      message);
}

void NodeCore::receive(uint64_t now_ms, const NodeId& from, PeerMessage message) {
  now_ms_ = now_ms;
  const bool in_cluster = layout_ && !members_.empty();
  if (in_cluster && ((!std::holds_alternative<JoinRequest>(message) && !has_entry(from)) ||
                     (former_member(from) && !allowed_from_former_member(message)))) {
    ++stats_.peer_messages_refused;
    stats_.last_refused_sender = from;
    return;
  }
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
          membership_.on_join_request(from, std::move(body));
        } else if constexpr (std::is_same_v<T, JoinReply>) {
          if (body.status.code == Code::ok)
            membership_.merge_received(
                ClusterUpdate{std::move(body.members), std::move(body.layout),
                              std::move(body.cluster_id), std::move(body.tokens)});
        } else if constexpr (std::is_same_v<T, ClusterUpdate>) {
          membership_.merge_received(std::move(body));
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

void NodeCore::other_cluster_contact(uint64_t now_ms, const NodeId& from) {
  now_ms_ = now_ms;
  gossiper_.on_other_cluster(from);
}

void NodeCore::tick(uint64_t now_ms) {
  now_ms_ = now_ms;
  count_step();
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

}  // namespace ringkv
