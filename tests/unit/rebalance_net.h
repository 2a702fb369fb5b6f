// Helpers for the scripted rebalancing tests (cluster_rebalance_test.cpp,
// cluster_flip_test.cpp): member and cluster-state builders, the options
// that make moves visible in a few simulated seconds, and Net, several
// cores wired together by direct delivery.
#pragma once

#include <fmt/format.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core_harness.h"
#include "ring/preference_list.h"
#include "storage/data_key.h"

namespace ringkv::testing_core {

inline Member member(const std::string& id, MemberRole role = MemberRole::owner,
                     uint32_t capacity = 1) {
  return {id, id + ":7070", id + ":8080", capacity, "", role, 1};
}

// A cluster state whose layout holds the owners among `members`.
inline ClusterState state_of(std::vector<Member> members, uint32_t partition_bits = 4) {
  ClusterState state;
  state.members = std::move(members);
  state.layout =
      plan_assignment(Layout::empty(partition_bits), ring_nodes(state.members), 3)->layout;
  return state;
}

inline NodeCoreOptions rebalance_options() {
  NodeCoreOptions out = test_options();
  out.anti_entropy_interval_ms = 0;  // these tests follow streaming alone
  out.rebalance_settle_ms = 100;
  out.drop_grace_ms = 500;
  out.transfer_chunk_bytes = 200;     // a partition takes several chunks
  out.transfer_bytes_per_sec = 4000;  // and the throttle spreads them over time
  out.gossip_interval_ms = 100;
  return out;
}

// Several cores wired together: messages are delivered at once (or dropped
// for nodes marked down), writes complete at once.
class Net {
 public:
  Harness& add(const std::string& id, const ClusterState& state, ActorId actor,
               NodeCoreOptions options = rebalance_options()) {
    auto node = std::make_unique<Harness>(id, state.layout, actor, options);
    node->use_state(state);
    return *nodes_.emplace(id, std::move(node)).first->second;
  }
  Harness& at(const std::string& id) { return *nodes_.at(id); }
  std::set<std::string> down;

  // Runs every node's effects until nothing is left to deliver; returns
  // every effect seen (the test looks for replies and messages in it).
  std::vector<Effect> pump() {
    std::vector<Effect> seen;
    for (bool busy = true; busy;) {
      busy = false;
      for (auto& [id, node] : nodes_) {
        if (down.count(id) != 0)
          continue;
        std::vector<Effect> out = node->effects();
        for (Effect& effect : node->complete_all())
          out.push_back(std::move(effect));
        for (Effect& effect : out) {
          if (auto* send = std::get_if<SendEffect>(&effect)) {
            auto to = nodes_.find(send->to);
            if (to != nodes_.end() && down.count(send->to) == 0) {
              to->second->now_ = node->now_;
              to->second->core().receive(node->now_, id, send->message);
              busy = true;
            }
          }
          seen.push_back(std::move(effect));
        }
      }
    }
    return seen;
  }
  // Advances every clock by `ms` in ticks of 50 ms, pumping after each.
  std::vector<Effect> run(uint64_t ms) {
    std::vector<Effect> seen;
    for (uint64_t step = 0; step < ms; step += 50) {
      for (auto& [id, node] : nodes_) {
        node->now_ += 50;
        if (down.count(id) == 0)
          node->core().tick(node->now_);
      }
      for (Effect& effect : pump())
        seen.push_back(std::move(effect));
    }
    return seen;
  }

 private:
  std::map<std::string, std::unique_ptr<Harness>> nodes_;
};

inline ClusterChangeDone change(Harness& node, const ClusterChange& change, bool dry_run = false) {
  node.core().change_cluster(node.now_, 42, change, dry_run);
  std::vector<Effect> out = node.effects();
  for (Effect& effect : node.complete_all())
    out.push_back(std::move(effect));
  const auto done = only<ClusterChangeDone>(out);
  EXPECT_EQ(done.size(), 1u);
  return done.empty() ? ClusterChangeDone{} : done[0];
}

inline ClusterChange add(const std::string& id, std::optional<uint32_t> capacity = std::nullopt) {
  ClusterChange out;
  out.add.push_back({id, capacity, std::nullopt});
  return out;
}

inline bool holds(Harness& node, const std::string& store, const std::string& key) {
  const StoreEntry* entry = node.core().catalog().find(store);
  auto got = node.engine().get(Column::data, encode_data_key(entry->id, key));
  return got.ok() && got.value().has_value();
}

inline std::vector<std::string> ids_for(const Layout& layout, const PreferenceTable& table,
                                        const std::string& key) {
  std::vector<std::string> out;
  for (uint32_t index : table.nodes_for_key(key))
    out.push_back(layout.nodes()[index].id);
  return out;
}

}  // namespace ringkv::testing_core
