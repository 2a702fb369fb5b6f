// The internode message codec: decoding, which checks everything a peer
// sends (encoding is in peer_encode.cpp); see peer_codec.h.
#include "wire/peer_codec.h"

#include "peer.pb.h"  // generated from wire/peer.proto
#include "ring/layout_delta.h"
#include "storage/merkle.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

Status bad(std::string_view what) {
  return {Code::corruption, "peer message: " + std::string(what)};
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
  if (in.code() > static_cast<uint32_t>(Code::permission_denied))
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
  if (in.role() > static_cast<uint32_t>(MemberRole::removed))
    return bad("unknown member role");
  Member out{in.id(),       in.peer_address(), in.http_address(),
             in.capacity(), in.zone(),         static_cast<MemberRole>(in.role()),
             in.version()};
  if (Status valid = validate_member(out); !valid.ok())
    return bad("invalid member: " + valid.message());
  return out;
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
      if (!validate_cluster_id(in.cluster_id()).ok())
        return bad("invalid cluster id");
      auto tokens = decode_token_list(in.tokens());
      if (!tokens.ok())
        return bad(tokens.status().message());
      return PeerMessage(JoinReply{in.op(), std::move(*status), std::move(*members), in.layout(),
                                   in.cluster_id(), std::move(*tokens)});
    }
    case wire::Envelope::kClusterUpdate: {
      const auto& in = envelope.cluster_update();
      auto members = get_members(in.members());
      if (!members.ok())
        return members.status();
      if (in.layout_base() == 0) {
        if (Status layout = check_layout(in.layout()); !layout.ok())
          return layout;
      } else if (auto delta = decode_layout_delta(in.layout()); !delta.ok()) {
        return bad(delta.status().message());
      }
      if (!validate_cluster_id(in.cluster_id()).ok())
        return bad("invalid cluster id");
      auto tokens = decode_token_list(in.tokens());
      if (!tokens.ok())
        return bad(tokens.status().message());
      return PeerMessage(ClusterUpdate{std::move(*members), in.layout(), in.cluster_id(),
                                       std::move(*tokens), in.layout_base(), in.layout_digest(),
                                       in.state_base()});
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
      out.layout_digest = in.layout_digest();
      out.heartbeats.reserve(in.heartbeats_size());
      for (const auto& heartbeat : in.heartbeats()) {
        if (heartbeat.node().empty() || heartbeat.node().size() > kNodeIdBytesMax)
          return bad("invalid node id in a heartbeat");
        out.heartbeats.push_back({heartbeat.node(), heartbeat.generation(), heartbeat.counter(),
                                  heartbeat.target(), heartbeat.ready(), heartbeat.partitions(),
                                  heartbeat.keys(), heartbeat.bytes(), heartbeat.moves_total(),
                                  heartbeat.moves_done(), heartbeat.moved_bytes(),
                                  heartbeat.hints()});
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
