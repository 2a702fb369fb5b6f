// The internode message codec; see peer_codec.h.
#include "wire/peer_codec.h"

#include "peer.pb.h"  // generated from wire/peer.proto
#include "storage/merkle.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

Status bad(std::string_view what) {
  return {Code::corruption, "peer message: " + std::string(what)};
}

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

// ---- decoding ----

Result<StoreSpec> get_spec(const wire::StoreSpec& in) {
  StoreSpec out;
  out.name = in.name();
  out.config.n = in.n();
  out.config.r = in.r();
  out.config.w = in.w();
  if (in.quorum() > 1 || in.conflicts() > 1 || in.durability() > 1)
    return bad("unknown store mode");
  out.config.quorum = static_cast<QuorumMode>(in.quorum());
  out.config.conflicts = static_cast<ConflictMode>(in.conflicts());
  out.config.durability = static_cast<Durability>(in.durability());
  if (!validate_store_name(out.name).ok() || !validate(out.config).ok())
    return bad("invalid store spec");
  return out;
}

Result<PeerStatus> get_status(const wire::PeerStatus& in) {
  if (in.code() > static_cast<uint32_t>(Code::overloaded))
    return bad("unknown status code");
  return PeerStatus{static_cast<Code>(in.code()), in.message()};
}

template <typename Repeated>
Result<VersionVector> get_vector(const Repeated& in) {
  std::vector<VersionVector::Entry> entries;
  entries.reserve(in.size());
  for (const auto& entry : in) {
    if (entry.counter() > kCounterMax)
      return bad("counter over the limit");
    entries.push_back({entry.actor(), entry.counter()});
  }
  VersionVector out;
  if (!VersionVector::from_entries(std::move(entries), out))
    return bad("invalid version vector");
  return out;
}

Result<SiblingSet> get_set(const std::string& bytes) {
  auto set = decode_record(bytes);
  if (!set.ok())
    return bad("sibling set: " + set.status().message());
  return set;
}

// A prune list names, per key, the actors whose entries may go: never more
// than a record may name, and never none.
template <typename Repeated>
Status get_prune_keys(const Repeated& in, std::vector<std::string>& keys,
                      std::vector<std::vector<ActorId>>& actors) {
  for (const auto& entry : in) {
    if (entry.actors_size() == 0 || entry.actors_size() > static_cast<int>(kActorsPerKeyMax))
      return bad("prune list: between 1 and 256 actors per key");
    keys.push_back(entry.key());
    actors.emplace_back(entry.actors().begin(), entry.actors().end());
  }
  return Status::Ok();
}

Result<Member> get_member(const wire::Member& in) {
  if (!validate(RingNode{in.id(), in.capacity(), in.zone(), NodeState::active}).ok())
    return bad("invalid member");
  if (in.role() > static_cast<uint32_t>(MemberRole::removed))
    return bad("unknown member role");
  return Member{in.id(),       in.peer_address(), in.http_address(),
                in.capacity(), in.zone(),         static_cast<MemberRole>(in.role()),
                in.version()};
}

template <typename Repeated>
Result<std::vector<Member>> get_members(const Repeated& in) {
  std::vector<Member> out;
  for (const auto& member : in) {
    auto decoded = get_member(member);
    if (!decoded.ok())
      return decoded.status();
    out.push_back(std::move(*decoded));
  }
  return out;
}

template <typename Repeated>
Result<std::vector<AeEntry>> get_entries(const Repeated& in) {
  std::vector<AeEntry> out;
  out.reserve(in.size());
  for (const auto& entry : in) {
    auto set = get_set(entry.set());
    if (!set.ok())
      return set.status();
    out.push_back({entry.key(), std::move(*set)});
  }
  return out;
}

// A (store, partition) named by a peer: a partition count we support and a
// partition inside it.
bool valid_partition(uint32_t partition, uint32_t partition_bits) {
  return partition_bits <= kPartitionBitsMax && partition < (uint64_t{1} << partition_bits);
}

bool valid_hint_target(const std::string& node) {
  return node.size() <= kNodeIdBytesMax;  // empty: none
}

Status check_layout(const std::string& bytes) {
  if (bytes.empty())
    return Status::Ok();  // an error reply carries no layout
  auto layout = decode_layout(bytes);
  return layout.ok() ? Status::Ok() : bad("layout: " + layout.status().message());
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
        } else if constexpr (std::is_same_v<T, ClusterUpdate>) {
          auto* out = envelope.mutable_cluster_update();
          for (const Member& member : body.members)
            put_member(member, *out->add_members());
          out->set_layout(body.layout);
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

Result<PeerMessage> decode_peer_message(std::string_view bytes) {
  wire::Envelope envelope;
  if (!envelope.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return bad("not a protobuf envelope");
  switch (envelope.body_case()) {
    case wire::Envelope::kReplicaWrite: {
      const auto& in = envelope.replica_write();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      auto set = get_set(in.set());
      if (!set.ok())
        return set.status();
      if (!valid_hint_target(in.hint_for()))
        return bad("invalid hint target");
      return PeerMessage(ReplicaWrite{in.op(), std::move(*spec), in.key(), std::move(*set),
                                      in.hint_for(), in.sync(), in.layout_version(),
                                      in.target_digest()});
    }
    case wire::Envelope::kReplicaWriteReply: {
      const auto& in = envelope.replica_write_reply();
      auto status = get_status(in.status());
      if (!status.ok())
        return status.status();
      return PeerMessage(ReplicaWriteReply{in.op(), std::move(*status)});
    }
    case wire::Envelope::kReplicaRead: {
      const auto& in = envelope.replica_read();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      if (!valid_hint_target(in.hint_for()))
        return bad("invalid hint target");
      return PeerMessage(ReplicaRead{in.op(), std::move(*spec), in.key(), in.hint_for(),
                                     in.layout_version(), in.target_digest()});
    }
    case wire::Envelope::kReplicaReadReply: {
      const auto& in = envelope.replica_read_reply();
      auto status = get_status(in.status());
      if (!status.ok())
        return status.status();
      auto set = get_set(in.set());
      if (!set.ok())
        return set.status();
      ReplicaReadReply out;
      out.op = in.op();
      out.status = std::move(*status);
      out.set = std::move(*set);
      return PeerMessage(std::move(out));
    }
    case wire::Envelope::kForwardPut: {
      const auto& in = envelope.forward_put();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      auto seen = get_vector(in.seen());
      if (!seen.ok())
        return seen.status();
      Version version;
      version.value = in.version().value();
      version.tombstone = in.version().tombstone();
      version.timestamp_ms = in.version().timestamp_ms();
      if (version.tombstone && !version.value.empty())
        return bad("a tombstone with a value");
      return PeerMessage(
          ForwardPut{in.op(), std::move(*spec), in.key(), std::move(*seen), std::move(version)});
    }
    case wire::Envelope::kForwardPutReply: {
      const auto& in = envelope.forward_put_reply();
      auto status = get_status(in.status());
      if (!status.ok())
        return status.status();
      auto context = get_vector(in.context());
      if (!context.ok())
        return context.status();
      if (in.dot_counter() > kCounterMax)
        return bad("counter over the limit");
      ForwardPutReply out;
      out.op = in.op();
      out.status = std::move(*status);
      out.dot = Dot{in.dot_actor(), in.dot_counter()};
      out.context = std::move(*context);
      return PeerMessage(std::move(out));
    }
    case wire::Envelope::kCreateStore: {
      const auto& in = envelope.create_store();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      return PeerMessage(CreateStore{in.op(), std::move(*spec)});
    }
    case wire::Envelope::kCreateStoreReply: {
      const auto& in = envelope.create_store_reply();
      auto status = get_status(in.status());
      if (!status.ok())
        return status.status();
      return PeerMessage(CreateStoreReply{in.op(), std::move(*status)});
    }
    case wire::Envelope::kJoinRequest: {
      const auto& in = envelope.join_request();
      auto member = get_member(in.member());
      if (!member.ok())
        return member.status();
      return PeerMessage(JoinRequest{in.op(), std::move(*member), !in.no_auto_add()});
    }
    case wire::Envelope::kJoinReply: {
      const auto& in = envelope.join_reply();
      auto status = get_status(in.status());
      if (!status.ok())
        return status.status();
      auto members = get_members(in.members());
      if (!members.ok())
        return members.status();
      if (Status layout = check_layout(in.layout()); !layout.ok())
        return layout;
      return PeerMessage(JoinReply{in.op(), std::move(*status), std::move(*members), in.layout()});
    }
    case wire::Envelope::kClusterUpdate: {
      const auto& in = envelope.cluster_update();
      auto members = get_members(in.members());
      if (!members.ok())
        return members.status();
      if (Status layout = check_layout(in.layout()); !layout.ok())
        return layout;
      return PeerMessage(ClusterUpdate{std::move(*members), in.layout()});
    }
    case wire::Envelope::kAeRoots: {
      const auto& in = envelope.ae_roots();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      if (!valid_partition(in.partition(), in.partition_bits()))
        return bad("invalid partition");
      if (in.branches_size() != static_cast<int>(kMerkleBranches))
        return bad("a Merkle tree has 16 branches");
      return PeerMessage(AeRoots{in.op(),
                                 std::move(*spec),
                                 in.partition(),
                                 in.partition_bits(),
                                 {in.branches().begin(), in.branches().end()}});
    }
    case wire::Envelope::kAeLeaves: {
      const auto& in = envelope.ae_leaves();
      auto status = get_status(in.status());
      if (!status.ok())
        return status.status();
      if (in.branches_size() > static_cast<int>(kMerkleBranches))
        return bad("more branches than a Merkle tree has");
      AeLeaves out;
      out.op = in.op();
      out.status = std::move(*status);
      for (const auto& branch : in.branches()) {
        if (branch.index() >= kMerkleBranches ||
            branch.leaves_size() != static_cast<int>(kMerkleLeavesPerBranch))
          return bad("invalid Merkle branch");
        out.branches.push_back({branch.index(), {branch.leaves().begin(), branch.leaves().end()}});
      }
      return PeerMessage(std::move(out));
    }
    case wire::Envelope::kAeSync: {
      const auto& in = envelope.ae_sync();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      if (!valid_partition(in.partition(), in.partition_bits()))
        return bad("invalid partition");
      if (in.leaves_size() > static_cast<int>(kMerkleLeaves))
        return bad("more leaves than a Merkle tree has");
      for (uint32_t leaf : in.leaves()) {
        if (leaf >= kMerkleLeaves)
          return bad("invalid Merkle leaf");
      }
      auto entries = get_entries(in.entries());
      if (!entries.ok())
        return entries.status();
      return PeerMessage(AeSync{in.op(),
                                std::move(*spec),
                                in.partition(),
                                in.partition_bits(),
                                {in.leaves().begin(), in.leaves().end()},
                                std::move(*entries),
                                in.handover()});
    }
    case wire::Envelope::kAeSyncReply: {
      const auto& in = envelope.ae_sync_reply();
      auto status = get_status(in.status());
      if (!status.ok())
        return status.status();
      auto entries = get_entries(in.entries());
      if (!entries.ok())
        return entries.status();
      return PeerMessage(AeSyncReply{in.op(), std::move(*status), std::move(*entries)});
    }
    case wire::Envelope::kTombstoneCheck: {
      const auto& in = envelope.tombstone_check();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      if (in.keys_size() != in.hashes_size())
        return bad("tombstone check: one hash per key");
      return PeerMessage(TombstoneCheck{in.op(),
                                        std::move(*spec),
                                        {in.keys().begin(), in.keys().end()},
                                        {in.hashes().begin(), in.hashes().end()}});
    }
    case wire::Envelope::kTombstoneCheckReply: {
      const auto& in = envelope.tombstone_check_reply();
      return PeerMessage(TombstoneCheckReply{in.op(), {in.agreed().begin(), in.agreed().end()}});
    }
    case wire::Envelope::kTombstoneReap: {
      const auto& in = envelope.tombstone_reap();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      if (in.keys_size() != in.hashes_size())
        return bad("tombstone reap: one hash per key");
      return PeerMessage(TombstoneReap{std::move(*spec),
                                       {in.keys().begin(), in.keys().end()},
                                       {in.hashes().begin(), in.hashes().end()}});
    }
    case wire::Envelope::kPruneCheck: {
      const auto& in = envelope.prune_check();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      PruneCheck out{in.op(), std::move(*spec), {}, {}};
      if (Status status = get_prune_keys(in.keys(), out.keys, out.actors); !status.ok())
        return status;
      return PeerMessage(std::move(out));
    }
    case wire::Envelope::kPruneCheckReply: {
      const auto& in = envelope.prune_check_reply();
      return PeerMessage(PruneCheckReply{in.op(), {in.agreed().begin(), in.agreed().end()}});
    }
    case wire::Envelope::kClockPrune: {
      const auto& in = envelope.clock_prune();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      ClockPrune out{std::move(*spec), {}, {}};
      if (Status status = get_prune_keys(in.keys(), out.keys, out.actors); !status.ok())
        return status;
      return PeerMessage(std::move(out));
    }
    case wire::Envelope::kGossip: {
      const auto& in = envelope.gossip();
      if (in.heartbeats_size() > static_cast<int>(kNodeCountMax))
        return bad("more heartbeats than a cluster has nodes");
      Gossip out;
      out.reply = in.reply();
      out.state_digest = in.state_digest();
      out.stores_digest = in.stores_digest();
      out.heartbeats.reserve(in.heartbeats_size());
      for (const auto& heartbeat : in.heartbeats()) {
        if (heartbeat.node().empty() || heartbeat.node().size() > kNodeIdBytesMax)
          return bad("invalid node id in a heartbeat");
        out.heartbeats.push_back({heartbeat.node(), heartbeat.generation(), heartbeat.counter(),
                                  heartbeat.target(), heartbeat.ready(), heartbeat.partitions(),
                                  heartbeat.keys(), heartbeat.bytes(), heartbeat.moves_total(),
                                  heartbeat.moves_done(), heartbeat.moved_bytes()});
      }
      return PeerMessage(std::move(out));
    }
    case wire::Envelope::kStreamRequest: {
      const auto& in = envelope.stream_request();
      auto spec = get_spec(in.store());
      if (!spec.ok())
        return spec.status();
      if (!valid_partition(in.partition(), in.partition_bits()))
        return bad("invalid partition");
      return PeerMessage(StreamRequest{in.op(), std::move(*spec), in.partition(),
                                       in.partition_bits(), in.after(), in.bytes_max()});
    }
    case wire::Envelope::kStreamChunk: {
      const auto& in = envelope.stream_chunk();
      auto status = get_status(in.status());
      if (!status.ok())
        return status.status();
      auto entries = get_entries(in.entries());
      if (!entries.ok())
        return entries.status();
      return PeerMessage(
          StreamChunk{in.op(), std::move(*status), std::move(*entries), in.last(), in.done()});
    }
    case wire::Envelope::BODY_NOT_SET:
      break;
  }
  return bad("empty envelope");
}

}  // namespace ringkv
