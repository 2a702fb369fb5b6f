// Cluster state codec; see cluster_state.h.
#include "cluster/cluster_state.h"

#include <algorithm>
#include <map>

#include "common/bytes.h"
#include "common/check.h"
#include "ring/assignment.h"

namespace ringkv {
namespace {

constexpr uint8_t kFormat = 4;
constexpr uint8_t kFormatWithoutTokens = 3;
constexpr uint8_t kFormatWithoutClusterId = 2;
constexpr uint8_t kFormatWithoutRoles = 1;

bool printable(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

Status corrupt(std::string_view what) {
  return {Code::corruption, "cluster state: " + std::string(what)};
}

}  // namespace

Status validate_member(const Member& member) {
  if (Status valid = validate(RingNode{member.id, member.capacity, member.zone, NodeState::active});
      !valid.ok())
    return valid;
  for (const std::string* address : {&member.peer_address, &member.http_address}) {
    if (address->size() > kAddressBytesMax) {
      return {Code::invalid_argument, "member '" + member.id + "': an address of " +
                                          std::to_string(address->size()) + " bytes (at most " +
                                          std::to_string(kAddressBytesMax) + ")"};
    }
    if (!printable(*address)) {
      return {Code::invalid_argument,
              "member '" + member.id + "': an address with a space or a control byte"};
    }
  }
  return Status::Ok();
}

Status validate_cluster_id(std::string_view id) {
  if (id.size() > kClusterIdBytesMax || !printable(id)) {
    return {Code::invalid_argument, "a cluster id is at most " +
                                        std::to_string(kClusterIdBytesMax) +
                                        " printable bytes without spaces"};
  }
  return Status::Ok();
}

std::string encode_cluster_state(const ClusterState& state) {
  std::string out;
  ByteWriter writer(out);
  writer.u8(kFormat);
  writer.length_prefixed(state.cluster_id);
  writer.varint(state.members.size());
  for (const Member& member : state.members) {
    writer.length_prefixed(member.id);
    writer.length_prefixed(member.peer_address);
    writer.length_prefixed(member.http_address);
    writer.varint(member.capacity);
    writer.length_prefixed(member.zone);
    writer.u8(static_cast<uint8_t>(member.role));
    writer.varint(member.version);
  }
  writer.length_prefixed(encode_layout(state.layout));
  encode_tokens(writer, state.tokens);
  return out;
}

Result<ClusterState> decode_cluster_state(std::string_view bytes) {
  ByteReader reader(bytes);
  uint8_t format = 0;
  if (!reader.u8(format) || (format != kFormat && format != kFormatWithoutTokens &&
                             format != kFormatWithoutClusterId && format != kFormatWithoutRoles))
    return corrupt("unknown format");
  ClusterState state;
  if (format >= kFormatWithoutTokens) {
    std::string_view cluster_id;
    if (!reader.length_prefixed(cluster_id))
      return corrupt("truncated cluster id");
    if (!validate_cluster_id(cluster_id).ok())
      return corrupt("invalid cluster id");
    state.cluster_id = cluster_id;
  }
  uint64_t count = 0;
  if (!reader.varint(count) || count > kNodeCountMax || count > reader.remaining())
    return corrupt("bad member count");
  for (uint64_t index = 0; index < count; ++index) {
    Member member;
    std::string_view id, peer, http, zone;
    uint64_t capacity = 0;
    if (!reader.length_prefixed(id) || !reader.length_prefixed(peer) ||
        !reader.length_prefixed(http) || !reader.varint(capacity) || !reader.length_prefixed(zone))
      return corrupt("truncated member");
    if (format != kFormatWithoutRoles) {
      uint8_t role = 0;
      if (!reader.u8(role) || !reader.varint(member.version))
        return corrupt("truncated member");
      if (role > static_cast<uint8_t>(MemberRole::removed))
        return corrupt("unknown member role");
      member.role = static_cast<MemberRole>(role);
    }
    member.id = id;
    member.peer_address = peer;
    member.http_address = http;
    member.capacity = static_cast<uint32_t>(std::min<uint64_t>(capacity, UINT32_MAX));
    member.zone = zone;
    if (member.capacity != capacity)
      return corrupt("invalid member");
    if (Status valid = validate_member(member); !valid.ok())
      return corrupt("invalid member: " + valid.message());
    if (!state.members.empty() && state.members.back().id >= member.id)
      return corrupt("members not sorted by id");
    state.members.push_back(std::move(member));
  }
  std::string_view layout_bytes;
  if (!reader.length_prefixed(layout_bytes))
    return corrupt("truncated layout");
  if (format == kFormat) {
    std::string error;
    if (!decode_tokens(reader, state.tokens, error))
      return corrupt(error);
  }
  if (!reader.empty())
    return corrupt("trailing bytes");
  auto layout = decode_layout(layout_bytes);
  if (!layout.ok())
    return corrupt(layout.status().message());
  for (const RingNode& node : layout->nodes()) {
    if (find_member(state, node.id) == nullptr)
      return corrupt("the layout names '" + node.id + "', who is not a member");
  }
  state.layout = std::move(*layout);
  return state;
}

uint64_t digest64(std::string_view bytes, uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::string_view to_string(MemberRole role) {
  switch (role) {
    case MemberRole::owner:
      return "owner";
    case MemberRole::standby:
      return "standby";
    case MemberRole::removed:
      return "removed";
  }
  return "unknown";
}

std::vector<RingNode> ring_nodes(const std::vector<Member>& members) {
  std::vector<RingNode> out;
  for (const Member& member : members) {
    if (member.role == MemberRole::owner)
      out.push_back({member.id, member.capacity, member.zone, NodeState::active});
  }
  return out;
}

const Member* find_member(const ClusterState& state, std::string_view id) {
  auto found =
      std::lower_bound(state.members.begin(), state.members.end(), id,
                       [](const Member& member, std::string_view key) { return member.id < key; });
  return found != state.members.end() && found->id == id ? &*found : nullptr;
}

namespace {

// One member entry's canonical bytes, to order two entries of equal version.
std::string member_bytes(const Member& member) {
  ClusterState one;
  one.members.push_back(member);
  return encode_cluster_state(one);
}

}  // namespace

ClusterState merge_cluster_states(const ClusterState& left, const ClusterState& right) {
  RINGKV_ASSERT(compatible_clusters(left.cluster_id, right.cluster_id),
                "states of two clusters are never merged");
  std::map<std::string, Member> merged;
  for (const ClusterState* side : {&left, &right}) {
    for (const Member& member : side->members) {
      auto [found, inserted] = merged.try_emplace(member.id, member);
      if (inserted || found->second == member)
        continue;
      const Member& held = found->second;
      if (member.version > held.version ||
          (member.version == held.version && member_bytes(member) > member_bytes(held)))
        found->second = member;
    }
  }
  ClusterState out;
  out.cluster_id = left.cluster_id.empty() ? right.cluster_id : left.cluster_id;
  for (auto& [id, member] : merged)
    out.members.push_back(std::move(member));
  const Layout& a = left.layout;
  const Layout& b = right.layout;
  if (a.version() != b.version())
    out.layout = a.version() > b.version() ? a : b;
  else
    out.layout = encode_layout(a) >= encode_layout(b) ? a : b;
  // Every layout node stays a member (entries are never erased, only marked).
  out.tokens = merge_tokens(left.tokens, right.tokens);
  return out;
}

std::optional<Layout> target_layout(const ClusterState& state, uint32_t replica_count) {
  if (state.layout.is_empty())
    return std::nullopt;
  std::vector<RingNode> owners = ring_nodes(state.members);
  std::vector<RingNode> current;
  for (const RingNode& node : state.layout.nodes())
    current.push_back({node.id, node.capacity, node.zone, NodeState::active});
  if (owners == current || owners.empty())
    return std::nullopt;
  auto plan = plan_assignment(state.layout, std::move(owners), replica_count);
  if (!plan.ok())
    return std::nullopt;
  return std::move(plan->layout);
}

}  // namespace ringkv
