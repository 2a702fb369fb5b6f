// The internode message codec; see peer_codec.h.
#include "wire/peer_codec.h"

#include "peer.pb.h"  // generated from wire/peer.proto
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
  if (in.code() > static_cast<uint32_t>(Code::internal))
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

Result<Member> get_member(const wire::Member& in) {
  if (!validate(RingNode{in.id(), in.capacity(), in.zone(), NodeState::active}).ok())
    return bad("invalid member");
  return Member{in.id(), in.peer_address(), in.http_address(), in.capacity(), in.zone()};
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
        } else if constexpr (std::is_same_v<T, ReplicaWriteReply>) {
          auto* out = envelope.mutable_replica_write_reply();
          out->set_op(body.op);
          put_status(body.status, *out->mutable_status());
        } else if constexpr (std::is_same_v<T, ReplicaRead>) {
          auto* out = envelope.mutable_replica_read();
          out->set_op(body.op);
          put_spec(body.store, *out->mutable_store());
          out->set_key(body.key);
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
      return PeerMessage(ReplicaWrite{in.op(), std::move(*spec), in.key(), std::move(*set)});
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
      return PeerMessage(ReplicaRead{in.op(), std::move(*spec), in.key()});
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
      return PeerMessage(JoinRequest{in.op(), std::move(*member)});
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
    case wire::Envelope::BODY_NOT_SET:
      break;
  }
  return bad("empty envelope");
}

}  // namespace ringkv
