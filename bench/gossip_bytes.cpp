// What gossip carries at scale: one node core holding a cluster of N members
// (Q = 2^bits, width 3) answers a peer's gossip before and after a join. It
// prints the bytes of each peer message as the wire carries it
// (encode_peer_message): the gossip itself (every member's heartbeat), the
// whole cluster update (members, layout, tokens), and the update to a peer
// that still holds the state before the join (the changed member entries and
// a layout delta, cluster/messages.h ClusterUpdate).
//
//   gossip_bytes [members, default 10000] [partition bits, default 16]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "cluster/node_core.h"
#include "ring/assignment.h"
#include "storage/memory_engine.h"
#include "wire/peer_codec.h"

namespace ringkv {
namespace {

Member member_at(uint32_t index) {
  const std::string host =
      fmt::format("10.{}.{}.{}", (index >> 16) & 255, (index >> 8) & 255, index & 255);
  return {fmt::format("node-{}", 100000 + index),
          host + ":7070",
          "http://" + host + ":8080",
          1u << (index % 3),
          fmt::format("zone-{}", index / 3 % 10),
          MemberRole::owner,
          1700000000000ULL + index};
}

// The size of the one message of type T among `effects`; 0 if none.
template <typename T>
size_t sent_bytes(const std::vector<Effect>& effects) {
  for (const Effect& effect : effects) {
    if (const auto* send = std::get_if<SendEffect>(&effect)) {
      if (std::holds_alternative<T>(send->message))
        return encode_peer_message(send->message).size();
    }
  }
  return 0;
}

int run(uint32_t count, uint32_t bits) {
  ClusterState before;
  for (uint32_t index = 0; index < count; ++index)
    before.members.push_back(member_at(index));
  before.cluster_id = std::string(32, 'c');
  auto started = std::chrono::steady_clock::now();
  before.layout = plan_assignment(Layout::empty(bits), ring_nodes(before.members), 3)->layout;
  ClusterState after = before;
  Member joiner = member_at(count);
  joiner.capacity = 2;
  after.members.push_back(joiner);  // ids sort in index order
  after.layout = plan_assignment(before.layout, ring_nodes(after.members), 3)->layout;
  const double plan_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();

  MemoryEngine engine;
  NodeCoreOptions options;
  options.self = before.members[0].id;
  options.actor = 1;
  NodeCore core(options, engine, StoreCatalog::load(engine).value());
  core.adopt_cluster(before);
  (void)core.take_effects();
  // A peer's gossip naming every member's heartbeat, as each round's does.
  Gossip heard;
  heard.state_digest = digest64(encode_cluster_state(before));
  heard.layout_digest = digest64(encode_layout(before.layout));
  for (const Member& member : before.members)
    heard.heartbeats.push_back(
        {member.id, 1700000000000ULL, 86400, 0, 0, 1200, 5000000, 600000000, 0, 0, 0, 0});
  const NodeId peer = before.members[1].id;
  const uint64_t now = 1700000100000ULL;  // heartbeats are judged against the clock
  core.receive(now, peer, heard);
  const size_t gossip = sent_bytes<Gossip>(core.take_effects());

  core.adopt_cluster(after);  // the join, as this node adopts it
  (void)core.take_effects();
  started = std::chrono::steady_clock::now();
  core.receive(now + 1, peer, heard);  // the peer still on the state before
  const std::vector<Effect> answered = core.take_effects();
  const double answer_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  const size_t delta = sent_bytes<ClusterUpdate>(answered);
  Gossip stranger = heard;  // a peer on a state this node never held
  stranger.state_digest = 1;
  stranger.layout_digest = 2;
  core.receive(now + 2, peer, stranger);
  const size_t whole = sent_bytes<ClusterUpdate>(core.take_effects());
  std::printf(
      "%u members, Q = 2^%u: gossip message %zu bytes; cluster update whole %zu bytes, after a "
      "join to a peer on the state before %zu bytes (%.0fx smaller); plans %.0f ms, answer "
      "%.1f ms\n",
      count, bits, gossip, whole, delta, delta == 0 ? 0.0 : double(whole) / double(delta), plan_ms,
      answer_ms);
  return delta == 0 || whole == 0 ? 1 : 0;
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) {
  const auto count = static_cast<uint32_t>(argc > 1 ? std::atoi(argv[1]) : 10000);
  const auto bits = static_cast<uint32_t>(argc > 2 ? std::atoi(argv[2]) : 16);
  if (count < 4 || count > 60000 || bits > 20) {
    std::fprintf(stderr, "usage: gossip_bytes [members 4..60000] [partition bits <= 20]\n");
    return 2;
  }
  return ringkv::run(count, bits);
}
