// Helpers for scripted tests of the node core: a Harness runs one NodeCore
// over a MemoryEngine and lets a test decide when each write completes.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster/node_core.h"
#include "ring/assignment.h"
#include "storage/data_key.h"
#include "storage/memory_engine.h"
#include "storage/record_codec.h"

namespace ringkv::testing_core {

template <typename T>
std::vector<T> only(const std::vector<Effect>& effects) {
  std::vector<T> out;
  for (const Effect& effect : effects) {
    if (const T* typed = std::get_if<T>(&effect))
      out.push_back(*typed);
  }
  return out;
}

// The sends among `effects` whose message is a T (gossip and the rest left out).
template <typename T>
std::vector<SendEffect> sends_of(const std::vector<Effect>& effects) {
  std::vector<SendEffect> out;
  for (const SendEffect& send : only<SendEffect>(effects)) {
    if (std::holds_alternative<T>(send.message))
      out.push_back(send);
  }
  return out;
}

// Lists as wide as the cluster plans them; Q = 2^bits.
inline Layout make_layout(const std::vector<std::string>& ids, uint32_t bits = 4) {
  std::vector<RingNode> nodes;
  for (const std::string& id : ids)
    nodes.push_back({id, 1, "", NodeState::active});
  return plan_assignment(Layout::empty(bits), nodes, kLayoutWidthDefault)->layout;
}

inline StoreConfig config(uint32_t n, uint32_t r, uint32_t w) {
  StoreConfig out;
  out.n = n;
  out.r = r;
  out.w = w;
  out.quorum = QuorumMode::strict;
  return out;
}

// Writes store `name` into `engine`'s catalog, as a node that created it
// before a restart left it (for cores built over `engine` directly).
inline void create_store_on_disk(MemoryEngine& engine, const std::string& name,
                                 const StoreConfig& store_config) {
  auto catalog = StoreCatalog::load(engine);
  ASSERT_TRUE(catalog.ok());
  auto plan = catalog->plan_create(name, store_config);
  ASSERT_TRUE(plan.ok());
  ASSERT_TRUE(engine.write(plan->batch, true).ok());
}

// Options for scripted tests: tombstone collection off, so that a key's first
// version is numbered 1 (no counter floor) and sweeps send nothing unasked.
inline NodeCoreOptions test_options() {
  NodeCoreOptions out;
  out.tombstone_sweep_interval_ms = 0;
  return out;
}

// One core with its engine, and helpers to run the writes it asks for.
class Harness {
 public:
  Harness(std::string self, Layout layout, ActorId actor = 7,
          NodeCoreOptions options = test_options())
      : layout_(std::move(layout)) {
    options.self = std::move(self);
    options.actor = actor;
    options.request_timeout_ms = 1000;
    options_ = options;
    restart();
  }
  // A start after an unclean stop: a new core under a new actor (a new
  // epoch of the node, as NodeIdentity gives it), over the same engine.
  void restart_as(ActorId actor) {
    options_.actor = actor;
    options_.generation = now_;  // a later start: peers take its new heartbeats
    restart();
  }
  // A new core over the same engine (a restart that lost no synced write).
  void restart() {
    core_ = std::make_unique<NodeCore>(options_, engine_, StoreCatalog::load(engine_).value());
    pending_writes_.clear();
    if (!state_) {
      core_->set_layout(layout_);
      return;
    }
    // Members mode: the state it persisted, else the one it was given.
    auto saved = engine_.get(Column::meta, kClusterStateKey);
    if (saved.ok() && saved.value())
      core_->adopt_cluster(decode_cluster_state(*saved.value()).value());
    else
      core_->adopt_cluster(*state_);
    (void)core_->take_effects();
  }
  // Switches to members mode: the core adopts `state` (and again at restart,
  // unless it persisted a newer one).
  void use_state(ClusterState state) {
    state_ = std::move(state);
    restart();
  }

  NodeCore& core() { return *core_; }
  MemoryEngine& engine() { return engine_; }

  // Takes the effects; writes are applied to the engine and kept for
  // complete() (so a test decides when each one finishes).
  std::vector<Effect> effects() {
    std::vector<Effect> out = core_->take_effects();
    for (const WriteEffect& write : only<WriteEffect>(out)) {
      EXPECT_TRUE(engine_.write(write.batch, write.durable).ok());
      pending_writes_.push_back(write.id);
    }
    return out;
  }
  // Completes the oldest pending write with `status` and returns the effects.
  std::vector<Effect> complete(Status status = Status::Ok()) {
    EXPECT_FALSE(pending_writes_.empty());
    const uint64_t id = pending_writes_.front();
    pending_writes_.erase(pending_writes_.begin());
    core_->write_done(now_, id, std::move(status));
    return effects();
  }
  // Completes every write, including those the completions cause, and
  // returns every effect they produced.
  std::vector<Effect> complete_all() {
    std::vector<Effect> out;
    while (!pending_writes_.empty()) {
      for (Effect& effect : complete())
        out.push_back(std::move(effect));
    }
    return out;
  }
  size_t pending_writes() const { return pending_writes_.size(); }

  // Creates `name` here (peers are told; their replies are fed back).
  void create(const std::string& name, const StoreConfig& store_config) {
    core_->create_store(now_, 1, name, store_config);
    (void)effects();
    const std::vector<Effect> out = complete_all();
    for (const SendEffect& send : only<SendEffect>(out)) {
      const auto& create = std::get<CreateStore>(send.message);
      core_->receive(now_, send.to, CreateStoreReply{create.op, {}});
    }
    const auto done = only<CreateStoreDone>(core_->take_effects());
    ASSERT_EQ(done.size(), 1u);
    ASSERT_TRUE(done[0].status.ok()) << done[0].status.message();
    ASSERT_TRUE(done[0].created);
  }

  // Stores `set` for `key` directly, as if replicated earlier.
  void store_record(const std::string& store, const std::string& key, const SiblingSet& set) {
    const StoreEntry* entry = core_->catalog().find(store);
    ASSERT_NE(entry, nullptr);
    WriteBatch batch;
    batch.push_back({Column::data, encode_data_key(entry->id, key), encode_record(set)});
    ASSERT_TRUE(engine_.write(batch, true).ok());
  }

  uint64_t now_ = 1000;

 private:
  Layout layout_;
  std::optional<ClusterState> state_;
  NodeCoreOptions options_;
  MemoryEngine engine_;
  std::unique_ptr<NodeCore> core_;
  std::vector<uint64_t> pending_writes_;
};

inline ReplicaReadReply read_reply(uint64_t op, SiblingSet set, PeerStatus status = {}) {
  ReplicaReadReply out;
  out.op = op;
  out.status = std::move(status);
  out.set = std::move(set);
  return out;
}

inline Version value(std::string text) {
  Version out;
  out.value = std::move(text);
  return out;
}

}  // namespace ringkv::testing_core
