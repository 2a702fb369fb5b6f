// Internal to the simulator's scenario (scenario.cpp, scenario_checks.cpp):
// the stores under test, the record of every client operation, and the
// Runner that drives one seeded run — its workload and faults in
// scenario.cpp, its checkers in scenario_checks.cpp. See scenario.h.
#pragma once

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sim/scenario.h"
#include "sim/sim_cluster.h"

namespace ringkv::sim::detail {

struct StoreUnderTest {
  std::string name;
  StoreConfig config;
};

inline std::vector<StoreUnderTest> stores_under_test() {
  auto make = [](uint32_t n, uint32_t r, uint32_t w, QuorumMode quorum, ConflictMode conflicts,
                 Durability durability) {
    StoreConfig config;
    config.n = n;
    config.r = r;
    config.w = w;
    config.quorum = quorum;
    config.conflicts = conflicts;
    config.durability = durability;
    return config;
  };
  return {
      {"strict322", make(3, 2, 2, QuorumMode::strict, ConflictMode::siblings, Durability::sync)},
      {"sloppy311", make(3, 1, 1, QuorumMode::sloppy, ConflictMode::siblings, Durability::sync)},
      {"sloppy322", make(3, 2, 2, QuorumMode::sloppy, ConflictMode::siblings, Durability::sync)},
      {"strict533", make(5, 3, 3, QuorumMode::strict, ConflictMode::siblings, Durability::sync)},
      {"lww322", make(3, 2, 2, QuorumMode::strict, ConflictMode::lww, Durability::sync)},
      // n = 1: every outage of a key's only replica makes a stand-in number
      // its writes (one actor per outage, hinted_handoff.cpp).
      {"sloppy111", make(1, 1, 1, QuorumMode::sloppy, ConflictMode::siblings, Durability::sync)},
      {"periodic212",
       make(2, 1, 2, QuorumMode::strict, ConflictMode::siblings, Durability::periodic)},
  };
}

enum class Outcome { ok, indeterminate, rejected };

struct PutRecord {
  uint32_t client = 0;
  size_t store = 0;
  std::string key;
  std::string value;
  bool tombstone = false;
  VersionVector seen;
  uint64_t start = 0;
  uint64_t end = 0;
  Outcome outcome = Outcome::indeterminate;
  Dot dot;
  std::string error;
  NodeId node;  // the node the client asked
  // The values the writer had read (its last get of the key): what this put
  // supersedes, judged from values, not from the context a node returned.
  std::set<std::string> seen_values;
};

struct GetRecord {
  size_t store = 0;
  std::string key;
  uint64_t start = 0;
  uint64_t end = 0;
  bool ok = false;
  VersionVector context;
};

inline Outcome outcome_of(const Status& status) {
  switch (status.code()) {
    case Code::ok:
      return Outcome::ok;
    case Code::invalid_argument:
    case Code::not_found:
    case Code::already_exists:
    case Code::too_large:
      return Outcome::rejected;
    default:
      return Outcome::indeterminate;
  }
}

inline std::string describe_set(const SiblingSet& set) {
  std::string out = "{";
  for (const Sibling& sibling : set.siblings()) {
    out += fmt::format("{}({},{})@{}:{} ", sibling.version->tombstone ? "tombstone" : "value",
                       sibling.dot.actor, sibling.dot.counter, sibling.version->timestamp_ms,
                       sibling.version->tombstone ? "" : sibling.version->value);
  }
  return out + "}";
}

class Runner {
 public:
  explicit Runner(const ScenarioOptions& options)
      : options_(options), stores_(stores_under_test()), cluster_(sim_options(options)) {}

  ScenarioResult run();

 private:
  static SimOptions sim_options(const ScenarioOptions& options) {
    SimOptions out;
    out.seed = options.seed;
    out.node_count = 5;
    out.partition_bits = 6;
    // Anti-entropy every tick, so that a sweep of every (store, partition)
    // fits the run: convergence is judged before any read repairs anything.
    out.anti_entropy_interval_ms = 50;
    // Tombstones are collected within the run: 3 s of grace (longer than
    // any request's deadline), one partition swept per tick.
    out.tombstone_grace_ms = 3000;
    out.tombstone_sweep_interval_ms = 50;
    // Superseded clock entries are pruned within the run too: the two
    // agreements 5 s apart, more than twice the request timeout (2 s) as
    // the server requires (a read repair gathered before the first and
    // sent after the second brought a superseded value back when the delay
    // was 1 s: seeds 600064 and 600197 partitions).
    out.prune_delay_ms = 5000;
    if (options.faults == FaultMix::lossy || options.faults == FaultMix::chaos) {
      out.network = NetworkFaults{1, 40, 10, 10};
    }
    if (options.faults == FaultMix::crashes || options.faults == FaultMix::chaos)
      out.disk_latency_max_ms = 10;
    if (options.membership)
      out.spare_node_count = 2;
    return out;
  }

  // A node clients and operators may talk to: started and not retired.
  NodeId random_node() {
    const std::vector<NodeId> ids = cluster_.started_ids();
    return ids[cluster_.random().below(ids.size())];
  }
  std::string key_name(uint64_t index) const { return "key" + std::to_string(index); }

  void create_stores();
  void client_step(uint32_t client);
  void check_durable_on_w(const PutRecord& put);
  void schedule_faults();
  void schedule_membership();
  // Crashes `victim` at the first moment before `deadline` it has writes on
  // their way to its disk (else at the deadline): the crashes that lose a
  // coordinator's own copy of a version its replicas already hold.
  void crash_while_writing(const NodeId& victim, uint64_t deadline);
  // After each layout flip: every acknowledged write of a strict store is
  // held by w of the key's new replicas (a joint quorum during the move
  // makes it so), judged from their copies, not from what nodes report.
  void watch_flips();
  void note_refused_nodes();
  // Nodes that came back with an empty disk (a wipe, or an operator who
  // moved a refused removed node's directory away): each may have taken
  // acknowledged writes with it.
  uint64_t disks_wiped() const { return cluster_.stats().empty_restarts; }
  void check_after_flip(uint64_t layout_version);
  // Commits `change` through a random node (retried a few times while it
  // fails for want of a reachable node); `done` hears whether it committed.
  void change(ClusterChange change, int attempts, std::function<void(bool)> done = nullptr);
  void heal();
  void wait_for_convergence(ScenarioResult& result);
  void read_everything(ScenarioResult& result);
  void check(ScenarioResult& result);
  void check_values(ScenarioResult& result,
                    const std::map<std::pair<size_t, std::string>, SiblingSet>& final_sets,
                    const std::function<bool(size_t)>& loss_allowed);
  void print_history() const;
  // Tombstone collection forgets deleted keys: true when `put` may be gone
  // because it is a tombstone, or a tombstone put (acknowledged or not) saw
  // it — any tombstone, in a last-writer-wins store — and the key was then
  // collected (and perhaps written again). Loss that is not explained so is
  // still a violation, and check 3 still catches deleted values coming back.
  bool collected_by_a_delete(const PutRecord& put) const {
    if (put.tombstone)
      return true;
    const bool lww = stores_[put.store].config.conflicts == ConflictMode::lww;
    for (const PutRecord& other : puts_) {
      if (other.tombstone && other.store == put.store && other.key == put.key &&
          other.outcome != Outcome::rejected && (lww || other.seen.covers(put.dot)))
        return true;
    }
    return false;
  }
  // For quorum honesty: `put` was deleted by a tombstone acknowledged before
  // `start` (a read may then find the key collected).
  bool deleted_before(const PutRecord& put, uint64_t start) const {
    if (put.tombstone)
      return true;
    const bool lww = stores_[put.store].config.conflicts == ConflictMode::lww;
    for (const PutRecord& other : puts_) {
      // Last writer wins by timestamp: a tombstone that ran concurrently may
      // win, and one whose outcome the client never heard may have landed.
      if (lww && other.tombstone && other.store == put.store && other.key == put.key &&
          other.outcome != Outcome::rejected && other.end < start)
        return true;
      if (other.tombstone && other.store == put.store && other.key == put.key &&
          other.outcome == Outcome::ok && other.end < start && other.seen.covers(put.dot))
        return true;
      // A delete whose outcome its client never heard may have landed before
      // the read began, and its tombstone been collected since (seed 946229
      // partitions: the read found the key gone).
      if (other.tombstone && other.store == put.store && other.key == put.key &&
          other.outcome == Outcome::indeterminate && other.start < start &&
          other.seen.covers(put.dot))
        return true;
    }
    return false;
  }
  void violation(ScenarioResult& result, std::string text) {
    result.violations.push_back(
        fmt::format("seed {} faults {}: {}", options_.seed, to_string(options_.faults), text));
  }

  ScenarioOptions options_;
  std::vector<StoreUnderTest> stores_;
  SimCluster cluster_;
  std::vector<PutRecord> puts_;
  std::vector<GetRecord> gets_;
  // Per client, per (store, key): the context of its last read, and the
  // values that read returned.
  std::vector<std::map<std::pair<size_t, std::string>, VersionVector>> contexts_;
  std::vector<std::map<std::pair<size_t, std::string>, std::set<std::string>>> values_read_;
  std::vector<uint64_t> sequence_;
  // Client-to-coordinator faults (FaultMix::clients) draw from their own
  // generator, so the cluster's schedule of every other mix is unchanged.
  Random client_faults_{options_.seed ^ 0xc11e7f0a17ULL};
  std::vector<std::string> early_violations_;  // found while running
  uint64_t durability_checks_ = 0;
  bool load_running_ = true;
  bool checking_ = false;      // the end-of-run checks began: no more flip checks
  uint64_t flip_version_ = 0;  // the newest layout version watch_flips() saw
  bool crashed_ = false;
  bool healed_ = false;  // faults scheduled to begin later do not
  bool wipe_planned_ = false;
  bool dead_removed_ = false;  // a node was removed while down, never to return
  std::set<NodeId> removed_;   // removals asked for (a cancel may undo them)
  uint64_t changes_ = 0;
  uint64_t healed_at_ = 0;
};

}  // namespace ringkv::sim::detail
