// The internode message codec: encoding (decoding, which checks what a
// peer sends, is in peer_codec.cpp); see peer_codec.h.
#include "peer.pb.h"  // generated from wire/peer.proto
#include "storage/record_codec.h"
#include "wire/peer_codec.h"

namespace ringkv {
namespace {

// ---- encoding ----

void put_spec(const StoreSpec& spec, wire::StoreSpec& out) {
  out.set_name(spec.name);
  out.set_n(spec.config.n);
  out.set_r(spec.config.r);
  out.set_w(spec.config.w);
  out.set_quorum(static_cast<uint32_t>(spec.config.quorum));
  out.set_conflicts(static_cast<uint32_t>(spec.config.conflicts));
  out.set_durability(static_cast<uint32_t>(spec.config.durability));
}

void put_status(const PeerStatus& status, wire::PeerStatus& out) {
  out.set_code(static_cast<uint32_t>(status.code));
  out.set_message(status.message);
}

template <typename Repeated>
void put_vector(const VersionVector& vector, Repeated& out) {
  for (const auto& entry : vector.entries()) {
    auto* added = out.Add();
    added->set_actor(entry.actor);
    added->set_counter(entry.counter);
  }
}

void put_member(const Member& member, wire::Member& out) {
  out.set_id(member.id);
  out.set_peer_address(member.peer_address);
  out.set_http_address(member.http_address);
  out.set_capacity(member.capacity);
  out.set_zone(member.zone);
  out.set_role(static_cast<uint32_t>(member.role));
  out.set_version(member.version);
}

template <typename Repeated>
void put_entries(const std::vector<AeEntry>& entries, Repeated& out) {
  for (const AeEntry& entry : entries) {
    auto* added = out.Add();
    added->set_key(entry.key);
    added->set_set(encode_record(entry.set));
  }
}

template <typename Repeated>
void put_prune_keys(const std::vector<std::string>& keys,
                    const std::vector<std::vector<ActorId>>& actors, Repeated& out) {
  for (size_t index = 0; index < keys.size(); ++index) {
    auto* added = out.Add();
    added->set_key(keys[index]);
    if (index < actors.size()) {
      for (ActorId actor : actors[index])
        added->add_actors(actor);
    }
  }
}

}  // namespace

std::string encode_peer_message(const PeerMessage& message) {
  wire::Envelope envelope;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, ReplicaWrite>) {
          auto* out = envelope.mutable_replica_write();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          out->set_key(body.key);
          out->set_set(encode_record(body.set));
          out->set_hint_for(body.hint_for);
          out->set_sync(body.sync);
          out->set_layout_version(body.layout_version);
          out->set_target_digest(body.target_digest);
        } else if constexpr (std::is_same_v<T, ReplicaWriteReply>) {
          auto* out = envelope.mutable_replica_write_reply();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
        } else if constexpr (std::is_same_v<T, ReplicaRead>) {
          auto* out = envelope.mutable_replica_read();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          out->set_key(body.key);
          out->set_hint_for(body.hint_for);
          out->set_layout_version(body.layout_version);
          out->set_target_digest(body.target_digest);
        } else if constexpr (std::is_same_v<T, ReplicaReadReply>) {
          auto* out = envelope.mutable_replica_read_reply();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
          out->set_set(encode_record(body.set));
        } else if constexpr (std::is_same_v<T, ForwardPut>) {
          auto* out = envelope.mutable_forward_put();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          out->set_key(body.key);
          put_vector(body.seen, *out->mutable_seen());
          out->mutable_version()->set_value(body.version.value);
          out->mutable_version()->set_tombstone(body.version.tombstone);
          out->mutable_version()->set_timestamp_ms(body.version.timestamp_ms);
        } else if constexpr (std::is_same_v<T, ForwardPutReply>) {
          auto* out = envelope.mutable_forward_put_reply();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
          out->set_dot_actor(body.dot.actor);
          out->set_dot_counter(body.dot.counter);
          put_vector(body.context, *out->mutable_context());
        } else if constexpr (std::is_same_v<T, CreateStore>) {
          auto* out = envelope.mutable_create_store();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
        } else if constexpr (std::is_same_v<T, CreateStoreReply>) {
          auto* out = envelope.mutable_create_store_reply();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
        } else if constexpr (std::is_same_v<T, JoinRequest>) {
          auto* out = envelope.mutable_join_request();
          out->set_op(body.op);
          put_member(body.member, *out->mutable_member());
          out->set_no_auto_add(!body.auto_add);
        } else if constexpr (std::is_same_v<T, JoinReply>) {
          auto* out = envelope.mutable_join_reply();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
          for (const Member& member : body.members)
            put_member(member, *out->add_members());
          out->set_layout(body.layout);
          out->set_cluster_id(body.cluster_id);
          out->set_tokens(encode_token_list(body.tokens));
        } else if constexpr (std::is_same_v<T, ClusterUpdate>) {
          auto* out = envelope.mutable_cluster_update();
          for (const Member& member : body.members)
            put_member(member, *out->add_members());
          out->set_layout(body.layout);
          out->set_cluster_id(body.cluster_id);
          out->set_tokens(encode_token_list(body.tokens));
          out->set_layout_base(body.layout_base);
          out->set_layout_digest(body.layout_digest);
          out->set_state_base(body.state_base);
        } else if constexpr (std::is_same_v<T, AeRoots>) {
          auto* out = envelope.mutable_ae_roots();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          out->set_partition(body.partition);
          out->set_partition_bits(body.partition_bits);
          for (uint64_t hash : body.branches)
            out->add_branches(hash);
        } else if constexpr (std::is_same_v<T, AeLeaves>) {
          auto* out = envelope.mutable_ae_leaves();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
          for (const AeBranch& branch : body.branches) {
            auto* added = out->add_branches();
            added->set_index(branch.index);
            for (uint64_t hash : branch.leaves)
              added->add_leaves(hash);
          }
        } else if constexpr (std::is_same_v<T, AeSync>) {
          auto* out = envelope.mutable_ae_sync();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          out->set_partition(body.partition);
          out->set_partition_bits(body.partition_bits);
          for (uint32_t leaf : body.leaves)
            out->add_leaves(leaf);
          put_entries(body.entries, *out->mutable_entries());
          out->set_handover(body.handover);
        } else if constexpr (std::is_same_v<T, AeSyncReply>) {
          auto* out = envelope.mutable_ae_sync_reply();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
          put_entries(body.entries, *out->mutable_entries());
        } else if constexpr (std::is_same_v<T, TombstoneCheck>) {
          auto* out = envelope.mutable_tombstone_check();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          for (const std::string& key : body.keys)
            out->add_keys(key);
          for (uint64_t hash : body.hashes)
            out->add_hashes(hash);
        } else if constexpr (std::is_same_v<T, TombstoneCheckReply>) {
          auto* out = envelope.mutable_tombstone_check_reply();
          out->set_op(body.op);
          for (bool agreed : body.agreed)
            out->add_agreed(agreed);
        } else if constexpr (std::is_same_v<T, TombstoneReap>) {
          auto* out = envelope.mutable_tombstone_reap();
          put_spec(body.store, *out->mutable_store());
          for (const std::string& key : body.keys)
            out->add_keys(key);
          for (uint64_t hash : body.hashes)
            out->add_hashes(hash);
        } else if constexpr (std::is_same_v<T, PruneCheck>) {
          auto* out = envelope.mutable_prune_check();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          put_prune_keys(body.keys, body.actors, *out->mutable_keys());
        } else if constexpr (std::is_same_v<T, PruneCheckReply>) {
          auto* out = envelope.mutable_prune_check_reply();
          out->set_op(body.op);
          for (bool agreed : body.agreed)
            out->add_agreed(agreed);
        } else if constexpr (std::is_same_v<T, ClockPrune>) {
          auto* out = envelope.mutable_clock_prune();
          put_spec(body.store, *out->mutable_store());
          put_prune_keys(body.keys, body.actors, *out->mutable_keys());
        } else if constexpr (std::is_same_v<T, Gossip>) {
          auto* out = envelope.mutable_gossip();
          out->set_reply(body.reply);
          out->set_state_digest(body.state_digest);
          out->set_stores_digest(body.stores_digest);
          out->set_layout_digest(body.layout_digest);
          for (const Heartbeat& heartbeat : body.heartbeats) {
            auto* added = out->add_heartbeats();
            added->set_node(heartbeat.node);
            added->set_generation(heartbeat.generation);
            added->set_counter(heartbeat.counter);
            added->set_target(heartbeat.target);
            added->set_ready(heartbeat.ready);
            added->set_partitions(heartbeat.partitions);
            added->set_keys(heartbeat.keys);
            added->set_bytes(heartbeat.bytes);
            added->set_moves_total(heartbeat.moves_total);
            added->set_moves_done(heartbeat.moves_done);
            added->set_moved_bytes(heartbeat.moved_bytes);
            added->set_hints(heartbeat.hints);
          }
        } else if constexpr (std::is_same_v<T, StreamRequest>) {
          auto* out = envelope.mutable_stream_request();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          out->set_partition(body.partition);
          out->set_partition_bits(body.partition_bits);
          out->set_after(body.after);
          out->set_bytes_max(body.bytes_max);
        } else if constexpr (std::is_same_v<T, StreamChunk>) {
          auto* out = envelope.mutable_stream_chunk();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
          put_entries(body.entries, *out->mutable_entries());
          out->set_last(body.last);
          out->set_done(body.done);
        } else {
          static_assert(kNoHandlerFor<T>, "encode_peer_message: a peer message has no encoding");
        }
      },
      message);
  return envelope.SerializeAsString();
}

}  // namespace ringkv
