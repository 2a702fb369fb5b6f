// Cluster state codec; see cluster_state.h.
#include "cluster/cluster_state.h"

#include <algorithm>

#include "common/bytes.h"

namespace ringkv {
namespace {

constexpr uint8_t kFormat = 1;
constexpr size_t kAddressBytesMax = 1024;

Status corrupt(std::string_view what) {
  return {Code::corruption, "cluster state: " + std::string(what)};
}

}  // namespace

std::string encode_cluster_state(const ClusterState& state) {
  std::string out;
  ByteWriter writer(out);
  writer.u8(kFormat);
  writer.varint(state.members.size());
  for (const Member& member : state.members) {
    writer.length_prefixed(member.id);
    writer.length_prefixed(member.peer_address);
    writer.length_prefixed(member.http_address);
    writer.varint(member.capacity);
    writer.length_prefixed(member.zone);
  }
  writer.length_prefixed(encode_layout(state.layout));
  return out;
}

Result<ClusterState> decode_cluster_state(std::string_view bytes) {
  ByteReader reader(bytes);
  uint8_t format = 0;
  if (!reader.u8(format) || format != kFormat)
    return corrupt("unknown format");
  uint64_t count = 0;
  if (!reader.varint(count) || count > kNodeCountMax || count > reader.remaining())
    return corrupt("bad member count");
  ClusterState state;
  for (uint64_t index = 0; index < count; ++index) {
    Member member;
    std::string_view id, peer, http, zone;
    uint64_t capacity = 0;
    if (!reader.length_prefixed(id) || !reader.length_prefixed(peer) ||
        !reader.length_prefixed(http) || !reader.varint(capacity) || !reader.length_prefixed(zone))
      return corrupt("truncated member");
    if (peer.size() > kAddressBytesMax || http.size() > kAddressBytesMax)
      return corrupt("address too long");
    member.id = id;
    member.peer_address = peer;
    member.http_address = http;
    member.capacity = static_cast<uint32_t>(std::min<uint64_t>(capacity, UINT32_MAX));
    member.zone = zone;
    if (member.capacity != capacity ||
        !validate(RingNode{member.id, member.capacity, member.zone, NodeState::active}).ok())
      return corrupt("invalid member");
    if (!state.members.empty() && state.members.back().id >= member.id)
      return corrupt("members not sorted by id");
    state.members.push_back(std::move(member));
  }
  std::string_view layout_bytes;
  if (!reader.length_prefixed(layout_bytes) || !reader.empty())
    return corrupt("truncated layout or trailing bytes");
  auto layout = decode_layout(layout_bytes);
  if (!layout.ok())
    return corrupt(layout.status().message());
  for (const RingNode& node : layout->nodes()) {
    const bool member = std::any_of(state.members.begin(), state.members.end(),
                                    [&](const Member& m) { return m.id == node.id; });
    if (!member)
      return corrupt("the layout names '" + node.id + "', who is not a member");
  }
  state.layout = std::move(*layout);
  return state;
}

std::vector<RingNode> ring_nodes(const std::vector<Member>& members) {
  std::vector<RingNode> out;
  for (const Member& member : members)
    out.push_back({member.id, member.capacity, member.zone, NodeState::active});
  return out;
}

}  // namespace ringkv
