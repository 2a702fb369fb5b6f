// Anti-entropy cost: two replicas of a store hold the same N keys except D
// divergent ones (D/2 present only on one side, D/2 with a concurrent version
// on each side); one full anti-entropy sweep of every partition runs between
// them (two NodeCores, messages and writes delivered at once). Prints the
// bytes exchanged (tree hashes and records) against the keys repaired.
//
//   anti_entropy_bench [keys, default 1000000] [divergent, default 100] [partition bits, default
//   10]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <deque>

#include "cluster/node_core.h"
#include "ring/assignment.h"
#include "storage/data_key.h"
#include "storage/memory_engine.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

struct Node {
  std::string id;
  MemoryEngine engine;
  std::unique_ptr<NodeCore> core;
};

SiblingSet version_of(std::string value, ActorId actor) {
  SiblingSet set;
  Version version;
  version.value = std::move(value);
  set.put(VersionVector(), actor, std::move(version));
  return set;
}

// Runs every effect of `from` (and what it causes) to completion.
void pump(Node& a, Node& b, Node& from) {
  std::deque<std::pair<Node*, Effect>> queue;
  for (Effect& effect : from.core->take_effects())
    queue.push_back({&from, std::move(effect)});
  while (!queue.empty()) {
    auto [node, effect] = std::move(queue.front());
    queue.pop_front();
    if (auto* send = std::get_if<SendEffect>(&effect)) {
      Node& to = send->to == a.id ? a : b;
      to.core->receive(1, node->id, std::move(send->message));
      for (Effect& next : to.core->take_effects())
        queue.push_back({&to, std::move(next)});
    } else if (auto* write = std::get_if<WriteEffect>(&effect)) {
      Status status = node->engine.write(write->batch, write->durable);
      node->core->write_done(1, write->id, status);
      for (Effect& next : node->core->take_effects())
        queue.push_back({node, std::move(next)});
    }
  }
}

int run(uint64_t keys, uint64_t divergent, uint32_t bits) {
  std::vector<RingNode> ring = {{"a", 1, "", NodeState::active}, {"b", 1, "", NodeState::active}};
  const Layout layout = plan_assignment(Layout::empty(bits), ring, 2)->layout;
  StoreConfig config;
  config.n = 2;
  config.r = 1;
  config.w = 1;
  Node a{"a", {}, nullptr};
  Node b{"b", {}, nullptr};
  for (Node* node : {&a, &b}) {
    NodeCoreOptions options;
    options.self = node->id;
    options.actor = node == &a ? 1 : 2;
    options.anti_entropy_interval_ms = 1;
    options.anti_entropy_leaves_max = kMerkleLeaves;
    options.gossip_interval_ms = uint64_t{1} << 40;
    auto catalog = StoreCatalog::load(node->engine).value();
    auto plan = catalog.plan_create("s", config);
    if (!plan.ok() || !node->engine.write(plan->batch, true).ok())
      return 1;
    node->core =
        std::make_unique<NodeCore>(options, node->engine, StoreCatalog::load(node->engine).value());
    node->core->set_layout(layout);
  }
  const StoreId store_a = a.core->catalog().find("s")->id;
  const StoreId store_b = b.core->catalog().find("s")->id;
  const std::string value(100, 'x');
  const auto load_start = std::chrono::steady_clock::now();
  WriteBatch batch_a;
  WriteBatch batch_b;
  auto flush = [&] {
    (void)a.engine.write(batch_a, true);
    (void)b.engine.write(batch_b, true);
    batch_a.clear();
    batch_b.clear();
  };
  const uint64_t stride = keys / std::max<uint64_t>(divergent, 1);
  uint64_t diverged = 0;
  for (uint64_t index = 0; index < keys; ++index) {
    const std::string key = fmt::format("key{}", index);
    const std::string same = encode_record(version_of(value, 9));
    const bool differs = divergent > 0 && index % stride == 0 && diverged < divergent;
    if (!differs) {
      batch_a.push_back({Column::data, encode_data_key(store_a, key), same});
      batch_b.push_back({Column::data, encode_data_key(store_b, key), same});
    } else if (diverged++ % 2 == 0) {  // only on a
      batch_a.push_back({Column::data, encode_data_key(store_a, key), same});
    } else {  // concurrent versions
      batch_a.push_back(
          {Column::data, encode_data_key(store_a, key), encode_record(version_of("on a", 3))});
      batch_b.push_back(
          {Column::data, encode_data_key(store_b, key), encode_record(version_of("on b", 4))});
    }
    if (batch_a.size() >= 10000)
      flush();
  }
  flush();
  const double load_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
  const auto sweep_start = std::chrono::steady_clock::now();
  const uint32_t partitions = layout.partition_count();
  for (uint64_t now = 1; a.core->stats().ae_rounds < partitions; ++now) {
    a.core->tick(now);
    pump(a, b, a);
  }
  const double sweep_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - sweep_start).count();
  const auto& sa = a.core->stats();
  const auto& sb = b.core->stats();
  const uint64_t repaired = sa.ae_keys_repaired + sb.ae_keys_repaired;
  const uint64_t bytes = sa.ae_bytes_sent + sb.ae_bytes_sent;
  const uint64_t sent = sa.ae_keys_sent + sb.ae_keys_sent;
  // Check: every divergent key is now equal on both sides.
  uint64_t still_different = 0;
  for (uint64_t index = 0; index < keys; index += stride) {
    const std::string key = fmt::format("key{}", index);
    auto left = a.engine.get(Column::data, encode_data_key(store_a, key));
    auto right = b.engine.get(Column::data, encode_data_key(store_b, key));
    if (!left.ok() || !right.ok() || left.value() != right.value())
      ++still_different;
  }
  std::printf(
      "%lu keys, %lu divergent (%lu only on one replica, %lu with concurrent versions), %u "
      "partitions x 256 leaves\n"
      "one sweep: %lu comparisons (%lu found equal), %lu keys sent, %lu keys repaired, %lu "
      "bytes sent = %.0f bytes per repaired key (%.1f x the %lu bytes of the repaired "
      "records); still different: %lu\n"
      "time: load %.1f s, sweep %.2f s (%lu trees built by scanning the data)\n",
      keys, divergent, (divergent + 1) / 2, divergent / 2, partitions, sa.ae_rounds,
      sa.ae_rounds_in_sync, sent, repaired, bytes,
      double(bytes) / double(std::max<uint64_t>(repaired, 1)),
      double(bytes) / double(std::max<uint64_t>(repaired, 1)) /
          double(encode_record(version_of(value, 9)).size() + 10),
      encode_record(version_of(value, 9)).size() + 10, still_different, load_s, sweep_s,
      sa.merkle_builds + sb.merkle_builds);
  return still_different == 0 ? 0 : 1;
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) {
  const uint64_t keys = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 1'000'000;
  const uint64_t divergent = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 100;
  const uint32_t bits = argc > 3 ? static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10)) : 10;
  return ringkv::run(keys, divergent, bits);
}
