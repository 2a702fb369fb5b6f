// A seeded simulation run and its checkers; see scenario.h.
#include "sim/scenario.h"

#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <functional>
#include <map>
#include <memory>
#include <set>

#include "sim/sim_cluster.h"

namespace ringkv::sim {
namespace {

struct StoreUnderTest {
  std::string name;
  StoreConfig config;
};

std::vector<StoreUnderTest> stores_under_test() {
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
      // its writes (one actor per outage, node_core_hints.cpp).
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

Outcome outcome_of(const Status& status) {
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

std::string describe_set(const SiblingSet& set) {
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
  bool wiped_ = false;         // a node came back with an empty disk
  bool dead_removed_ = false;  // a node was removed while down, never to return
  std::set<NodeId> removed_;   // removals asked for (a cancel may undo them)
  uint64_t changes_ = 0;
  uint64_t healed_at_ = 0;
};

void Runner::create_stores() {
  for (const StoreUnderTest& store : stores_) {
    bool done = false;
    // Creation must succeed before the load: retry through other nodes.
    for (int attempt = 0; attempt < 10 && !done; ++attempt) {
      cluster_.create_store(random_node(), store.name, store.config,
                            [&done](const CreateStoreDone& reply) { done = reply.status.ok(); });
      cluster_.run_until(cluster_.now() + 3000);
    }
  }
}

void Runner::client_step(uint32_t client) {
  if (!load_running_)
    return;
  Random& random = cluster_.random();
  const size_t store = random.below(stores_.size());
  const std::string key = key_name(random.below(options_.keys_per_store));
  const NodeId& node = random_node();
  const uint64_t roll = random.below(100);
  auto next = [this, client] {
    cluster_.at(cluster_.now() + cluster_.random().between(0, 30),
                [this, client] { client_step(client); });
  };
  // Between client and coordinator (FaultMix::clients): 4% of requests are
  // lost before the node sees them, 4% of replies after it answered. The
  // client waits out its deadline, records "unknown" and goes on.
  const uint64_t fault =
      options_.faults == FaultMix::clients ? client_faults_.below(100) : uint64_t{100};
  const bool request_lost = fault < 4, reply_lost = fault >= 4 && fault < 8;
  constexpr uint64_t kClientDeadlineMs = 1000;
  auto give_up = [this, client] {
    cluster_.at(cluster_.now() + kClientDeadlineMs, [this, client] { client_step(client); });
  };
  if (roll < 40 && (request_lost || reply_lost)) {
    GetRecord lost;  // not ok: judged by nothing
    lost.store = store;
    lost.key = key;
    lost.start = cluster_.now();
    lost.end = lost.start + kClientDeadlineMs;
    gets_.push_back(std::move(lost));
    if (reply_lost)
      cluster_.get(node, stores_[store].name, key, [](const GetReply&) {});
    give_up();
    return;
  }
  if (roll < 40) {
    const size_t index = gets_.size();
    GetRecord started;
    started.store = store;
    started.key = key;
    started.start = cluster_.now();
    gets_.push_back(std::move(started));
    cluster_.get(node, stores_[store].name, key,
                 [this, index, client, store, key, next](const GetReply& reply) {
                   GetRecord& record = gets_[index];
                   record.end = cluster_.now();
                   record.ok = reply.status.ok();
                   if (record.ok) {
                     record.context = reply.set.context();
                     contexts_[client][{store, key}] = record.context;
                     std::set<std::string>& values = values_read_[client][{store, key}];
                     values.clear();
                     for (const Sibling& sibling : reply.set.siblings()) {
                       if (!sibling.version->tombstone)
                         values.insert(sibling.version->value);
                     }
                   }
                   next();
                 });
    return;
  }
  PutRecord record;
  record.client = client;
  record.store = store;
  record.key = key;
  record.value = fmt::format("c{}-{}", client, ++sequence_[client]);
  record.tombstone = roll >= 90;
  if (roll < 75 || record.tombstone) {
    auto known = contexts_[client].find({store, key});
    if (known != contexts_[client].end()) {
      record.seen = known->second;  // read-modify-write (or delete what was read)
      record.seen_values = values_read_[client][{store, key}];
    }
  }
  record.start = cluster_.now();
  Version version;
  version.tombstone = record.tombstone;
  if (!record.tombstone)
    version.value = record.value;
  const size_t index = puts_.size();
  record.node = node;
  if (request_lost || reply_lost) {
    // The write may or may not be stored; its writer never learns which,
    // nor the new context (its next write of the key uses the old one).
    record.outcome = Outcome::indeterminate;
    record.end = record.start + kClientDeadlineMs;
    record.error = request_lost ? "request lost before the coordinator"
                                : "reply lost after the coordinator answered";
    puts_.push_back(record);
    if (reply_lost)
      cluster_.put(node, stores_[store].name, key, record.seen, version, [](const PutReply&) {});
    give_up();
    return;
  }
  puts_.push_back(record);
  cluster_.put(node, stores_[store].name, key, record.seen, version,
               [this, index, next](const PutReply& reply) {
                 PutRecord& done = puts_[index];
                 done.end = cluster_.now();
                 done.outcome = outcome_of(reply.status);
                 done.error = reply.status.message();
                 if (done.outcome == Outcome::ok) {
                   done.dot = reply.dot;
                   check_durable_on_w(done);
                 }
                 next();
               });
}

// 0. Durable on w replicas when acknowledged: at the moment the client hears
// "ok", w nodes hold the version (or a successor) where a crash cannot take it
// (`sync` stores) or at least in their engine (`periodic` stores).
void Runner::check_durable_on_w(const PutRecord& put) {
  const StoreUnderTest& store = stores_[put.store];
  const bool sync = store.config.durability == Durability::sync;
  if (!sync && crashed_)
    return;  // a crash may take a periodic write from a replica that acknowledged it
  // A sloppy store may count stand-ins (their hints); a strict store only its
  // preference list's own copies: it must never acknowledge a write it could
  // not place there.
  const bool strict = store.config.quorum == QuorumMode::strict;
  std::vector<NodeId> holders_allowed =
      strict ? cluster_.replicas(store.name, put.key) : cluster_.node_ids();
  if (strict) {  // during a move: the target's replicas hold it too (joint quorum)
    for (const NodeId& id : cluster_.replicas(store.name, put.key, /*in_target=*/true)) {
      if (std::find(holders_allowed.begin(), holders_allowed.end(), id) == holders_allowed.end())
        holders_allowed.push_back(id);
    }
  }
  uint32_t holders = 0;
  for (const NodeId& id : holders_allowed) {
    const SiblingSet copy = strict ? cluster_.replica_copy(id, store.name, put.key, sync)
                            : sync ? cluster_.durable_copy(id, store.name, put.key)
                                   : cluster_.local_copy(id, store.name, put.key);
    holders += copy.context().covers(put.dot) ? 1 : 0;
  }
  if (holders < store.config.w) {
    early_violations_.push_back(fmt::format(
        "store {} key {} put {} (dot {},{}): acknowledged at {} ms while {} {} held it {} (w = "
        "{})",
        store.name, put.key, put.value, put.dot.actor, put.dot.counter, put.end, holders,
        strict ? "replicas" : "nodes", sync ? "durably" : "in their engines", store.config.w));
  }
  ++durability_checks_;
}

void Runner::schedule_faults() {
  Random& random = cluster_.random();
  const uint64_t begin = cluster_.now();
  const uint64_t end = begin + options_.fault_ms;
  const FaultMix mix = options_.faults;
  const auto& ids = cluster_.node_ids();
  for (uint64_t time = begin + random.between(200, 1000); time < end;
       time += random.between(500, 2000)) {
    int kind = -1;
    if (mix == FaultMix::partitions)
      kind = 0;
    else if (mix == FaultMix::crashes)
      kind = 1;
    else if (mix == FaultMix::disks)
      kind = 2;
    else if (mix == FaultMix::clogging)
      kind = 3;
    else if (mix == FaultMix::skew)
      kind = 4;
    else if (mix == FaultMix::chaos)
      kind = static_cast<int>(random.below(5));
    if (kind < 0)
      break;
    const uint64_t duration = random.between(200, 2000);
    const NodeId victim = ids[random.below(ids.size())];
    if (kind == 0) {
      // A partition: isolate one node, split in halves, or cut one way.
      const uint64_t shape = random.below(3);
      std::vector<std::pair<NodeId, NodeId>> cut;
      if (shape == 0) {
        for (const NodeId& other : ids) {
          if (other != victim) {
            cut.push_back({victim, other});
            cut.push_back({other, victim});
          }
        }
      } else if (shape == 1) {
        for (size_t left = 0; left < ids.size(); ++left) {
          for (size_t right = 0; right < ids.size(); ++right) {
            if ((left < ids.size() / 2) != (right < ids.size() / 2))
              cut.push_back({ids[left], ids[right]});
          }
        }
      } else {
        const NodeId other = ids[random.below(ids.size())];
        if (other != victim)
          cut.push_back({victim, other});
      }
      cluster_.at(time, [this, cut] {
        for (const auto& [from, to] : cut)
          cluster_.block(from, to);
      });
      cluster_.at(time + duration, [this, cut] {
        for (const auto& [from, to] : cut)
          cluster_.unblock(from, to);
      });
    } else if (kind == 1) {
      // A quarter of the stops are clean (an operator's restart): the node
      // keeps its actor, so a counter it reused would be a lost write.
      // (Decided from the time, not the run's random stream, so the
      // schedules of the fixed seeds stay what they were.)
      const uint64_t chosen = time * 0x9e3779b97f4a7c15ULL;
      const bool clean = chosen >> 62 == 0;
      // Half the crashes wait (up to 150 ms) for writes in flight to the disk.
      const bool aimed = ((chosen >> 61) & 1) != 0;
      cluster_.at(time, [this, victim, clean, aimed] {
        if (clean) {
          cluster_.stop_clean(victim);
          return;
        }
        if (aimed) {
          crash_while_writing(victim, cluster_.now() + 150);
          return;
        }
        crashed_ = true;
        cluster_.crash(victim);
      });
      // One crash per run may come back with an empty disk.
      const bool empty = !wipe_planned_ && random.chance(25) && !clean;
      wipe_planned_ = wipe_planned_ || empty;
      cluster_.at(time + duration, [this, victim, empty] {
        if (cluster_.is_up(victim))
          return;
        if (empty) {
          wiped_ = true;
          cluster_.restart_empty(victim);
        } else {
          cluster_.restart(victim);
        }
      });
    } else if (kind == 3) {
      // Clogging: the victim's links go one by one, and come back one by one
      // in another random order.
      std::vector<std::pair<NodeId, NodeId>> links;
      for (const NodeId& other : ids) {
        if (other != victim) {
          links.push_back({victim, other});
          links.push_back({other, victim});
        }
      }
      for (size_t index = links.size(); index > 1; --index)
        std::swap(links[index - 1], links[random.below(index)]);
      for (const auto& link : links) {
        cluster_.at(time + random.below(duration / 2 + 1), [this, link] {
          if (!healed_)
            cluster_.block(link.first, link.second);
        });
      }
      for (size_t index = links.size(); index > 1; --index)
        std::swap(links[index - 1], links[random.below(index)]);
      for (const auto& link : links) {
        cluster_.at(time + duration + random.below(duration + 1),
                    [this, link] { cluster_.unblock(link.first, link.second); });
      }
    } else if (kind == 4) {
      // Clock-rate skew: the victim's clock runs fast or slow for a while.
      const double rate = random.chance(50) ? 1.0 + double(random.between(10, 100)) / 100
                                            : 1.0 - double(random.between(10, 50)) / 100;
      cluster_.at(time, [this, victim, rate] {
        if (!healed_)
          cluster_.set_clock_rate(victim, rate);
      });
      cluster_.at(time + 3 * duration, [this, victim] { cluster_.set_clock_rate(victim, 1.0); });
      // Half the time its wall clock is also stepped (NTP, an operator) by
      // up to a minute either way, and it restarts cleanly: its NodeClock
      // must start above what it recorded, whatever the wall clock says.
      // (Decided from the time, as crashes are: the run's random stream
      // stays what it was.)
      const uint64_t chosen = time * 0x9e3779b97f4a7c15ULL;
      if (chosen >> 63 != 0) {
        const int64_t step = (((chosen >> 62) & 1) != 0 ? -1 : 1) *
                             static_cast<int64_t>(1000 + (chosen >> 20) % 59'000);
        cluster_.at(time + duration, [this, victim, step] {
          if (healed_ || !cluster_.is_up(victim))
            return;
          cluster_.step_wall_clock(victim, step);
          cluster_.stop_clean(victim);
          cluster_.restart(victim);
        });
      }
    } else {
      cluster_.at(time, [this, victim] { cluster_.set_disk_failing(victim, true); });
      cluster_.at(time + duration, [this, victim] {
        cluster_.set_disk_failing(victim, false);
        if (cluster_.is_fenced(victim)) {
          crashed_ = true;  // the restart of a fenced node loses unsynced writes
          cluster_.restart(victim);
        }
      });
    }
  }
}

void Runner::change(ClusterChange change, int attempts, std::function<void(bool)> done) {
  // A retry is a new operator action: the guards that held when it was
  // scheduled are checked again. (A cancel or a reweight of a node, first
  // refused and retried after that node was removed as dead, made the dead
  // node an owner again, which no move can satisfy: seed 35 chaos.)
  bool touches_removed = false;
  for (const auto& [node, capacity] : change.capacity)
    touches_removed = touches_removed || removed_.count(node) != 0;
  if ((change.cancel && dead_removed_) || touches_removed) {
    if (done)
      done(false);
    return;
  }
  if (std::getenv("RINGKV_SIM_EVENTS") != nullptr) {
    std::string what = change.cancel ? "cancel" : "";
    for (const auto& add : change.add)
      what += " add " + add.id;
    for (const NodeId& node : change.remove)
      what += " remove " + node;
    for (const auto& [node, capacity] : change.capacity)
      what += fmt::format(" reweight {}={}", node, capacity);
    std::fprintf(stderr, "%8lu ms operator change:%s\n", static_cast<unsigned long>(cluster_.now()),
                 what.c_str());
  }
  cluster_.change(
      random_node(), change, [this, change, attempts, done](const ClusterChangeDone& reply) {
        if (reply.status.ok()) {
          ++changes_;
          if (done)
            done(true);
        } else if (reply.status.code() == Code::unavailable && attempts > 1) {
          cluster_.at(cluster_.now() + 500,
                      [this, change, attempts, done] { this->change(change, attempts - 1, done); });
        } else if (done) {
          done(false);
        }
      });
}

void Runner::crash_while_writing(const NodeId& victim, uint64_t deadline) {
  if (!cluster_.is_up(victim))
    return;
  if (cluster_.writes_queued(victim) == 0 && cluster_.now() < deadline) {
    cluster_.at(cluster_.now() + 1,
                [this, victim, deadline] { crash_while_writing(victim, deadline); });
    return;
  }
  crashed_ = true;
  cluster_.crash(victim);
}

void Runner::note_refused_nodes() {
  // A removed node that was down too long to come back is gone with its
  // disk, as a node removed while dead is (SimCluster::retire).
  for (const NodeId& id : removed_) {
    if (cluster_.retired(id))
      dead_removed_ = true;
  }
}

void Runner::watch_flips() {
  note_refused_nodes();
  if (checking_)
    return;
  const uint64_t version = cluster_.layout().version();
  if (flip_version_ != 0 && version > flip_version_)
    check_after_flip(version);
  flip_version_ = std::max(flip_version_, version);
  cluster_.at(cluster_.now() + 20, [this] { watch_flips(); });
}

void Runner::check_after_flip(uint64_t layout_version) {
  // A lost disk may take acknowledged writes (w copies survive w - 1 lost
  // disks, and the check at the end allows for it); so may a crash, of a
  // periodic store's last interval.
  if (wiped_ || dead_removed_)
    return;
  std::map<std::pair<size_t, std::string>, std::vector<const PutRecord*>> by_key;
  for (const PutRecord& put : puts_) {
    const StoreConfig& config = stores_[put.store].config;
    if (put.outcome == Outcome::ok && put.end <= cluster_.now() &&
        config.quorum == QuorumMode::strict &&
        !(crashed_ && config.durability == Durability::periodic))
      by_key[{put.store, put.key}].push_back(&put);
  }
  for (const auto& [where, puts] : by_key) {
    const std::string& store = stores_[where.first].name;
    const std::vector<NodeId> replicas = cluster_.replicas(store, where.second);
    std::vector<SiblingSet> copies;
    for (const NodeId& replica : replicas)
      copies.push_back(cluster_.replica_copy(replica, store, where.second));
    for (const PutRecord* put : puts) {
      if (collected_by_a_delete(*put) ||
          cluster_.pruned_between(store, put->key, put->dot.actor, put->end, UINT64_MAX))
        continue;
      std::string holders;
      uint32_t held = 0;
      for (size_t index = 0; index < replicas.size(); ++index) {
        if (copies[index].context().covers(put->dot)) {
          ++held;
          holders += " " + replicas[index];
        }
      }
      if (held < stores_[where.first].config.w) {
        early_violations_.push_back(fmt::format(
            "store {} key {} put {} (dot {},{}, acknowledged at {} ms): right after the flip to "
            "layout {} at {} ms, {} of its new replicas hold it (w = {}):{}",
            store, put->key, put->value, put->dot.actor, put->dot.counter, put->end, layout_version,
            cluster_.now(), held, stores_[where.first].config.w, holders));
      }
    }
  }
}

void Runner::schedule_membership() {
  Random& random = cluster_.random();
  const uint64_t begin = cluster_.now();
  const uint64_t end = begin + options_.fault_ms;
  const std::vector<NodeId> originals = cluster_.started_ids();
  std::vector<NodeId> spares;
  for (const NodeId& id : cluster_.node_ids()) {
    if (!cluster_.started(id))
      spares.push_back(id);
  }
  for (uint64_t time = begin + random.between(300, 1500); time < end;
       time += random.between(800, 2500)) {
    const uint64_t kind = random.below(100);
    if (kind < 35 && !spares.empty()) {
      // A node joins: as an owner at once, or as a standby the operator adds.
      const NodeId spare = spares.back();
      spares.pop_back();
      const uint32_t capacity = static_cast<uint32_t>(random.between(1, 3));
      const bool auto_add = random.chance(60);
      cluster_.at(time, [this, spare, capacity, auto_add] {
        cluster_.start_spare(spare, capacity, auto_add);
        ++changes_;
      });
      if (!auto_add) {
        cluster_.at(time + random.between(1500, 3000), [this, spare, capacity] {
          ClusterChange add;
          add.add.push_back({spare, capacity, std::nullopt});
          change(add, 5);
        });
      }
    } else if (kind < 55) {
      // Graceful removal of an owner (keeping at least four).
      const NodeId victim = originals[random.below(originals.size())];
      cluster_.at(time, [this, victim] {
        if (removed_.count(victim) != 0 || removed_.size() >= 2)
          return;
        removed_.insert(victim);
        ClusterChange remove;
        remove.remove.push_back(victim);
        change(remove, 5);
      });
    } else if (kind < 65) {
      // A node dies and is removed as dead: it never comes back.
      const NodeId victim = originals[random.below(originals.size())];
      cluster_.at(time, [this, victim] {
        if (removed_.count(victim) != 0 || removed_.size() >= 2 || dead_removed_)
          return;
        removed_.insert(victim);
        dead_removed_ = true;
        crashed_ = true;
        cluster_.retire(victim);
        ClusterChange remove;
        remove.remove.push_back(victim);
        change(remove, 10);
      });
    } else if (kind < 85) {
      const NodeId node = originals[random.below(originals.size())];
      const uint32_t capacity = static_cast<uint32_t>(random.between(1, 3));
      cluster_.at(time, [this, node, capacity] {
        if (removed_.count(node) != 0)
          return;
        ClusterChange reweight;
        reweight.capacity.push_back({node, capacity});
        change(reweight, 3);
      });
    } else {
      // Cancel whatever is moving (a no-op answered 404 when nothing is).
      cluster_.at(time, [this] {
        // Not after a dead node's removal: cancelling it would make the dead
        // node an owner again, which no move can satisfy.
        if (dead_removed_)
          return;
        ClusterChange cancel;
        cancel.cancel = true;
        change(cancel, 3);
      });
    }
  }
}

void Runner::heal() {
  healed_ = true;
  healed_at_ = cluster_.now();
  cluster_.heal_network();
  cluster_.set_network(NetworkFaults{});
  for (const NodeId& id : cluster_.node_ids()) {
    cluster_.set_clock_rate(id, 1.0);
    cluster_.set_disk_failing(id, false);
    if (!cluster_.is_up(id) || cluster_.is_fenced(id)) {
      crashed_ = true;
      cluster_.restart(id);
    }
  }
  note_refused_nodes();
}

// 5a. Convergence without reads: hinted handoff and anti-entropy alone must
// bring every replica of every key to the union of all copies (and hand off
// every hint) within kConvergenceBoundMs of healing.
void Runner::wait_for_convergence(ScenarioResult& result) {
  constexpr uint64_t kConvergenceBoundMs = 60'000;
  const uint64_t healed = healed_at_;
  std::string difference;
  auto converged = [&] {
    if (!cluster_.layout_settled()) {
      difference = "the nodes do not hold one layout without a target yet";
      return false;
    }
    if (const auto misplaced = cluster_.misplaced_records(); !misplaced.empty()) {
      difference = fmt::format("{} records on nodes that do not replicate them (first: {})",
                               misplaced.size(), misplaced.front());
      return false;
    }
    if (cluster_.hints_pending() != 0) {
      difference = fmt::format("{} hints not handed off", cluster_.hints_pending());
      return false;
    }
    for (const NodeId& id : cluster_.node_ids()) {
      // A node refilling a lost directory serves no reads yet.
      if (const NodeCore::RecoveryView recovery = cluster_.recovery(id); recovery.recovering) {
        difference = fmt::format("{} is still recovering ({} of {} partitions)", id,
                                 recovery.partitions_done, recovery.partitions_total);
        return false;
      }
    }
    for (const StoreUnderTest& store : stores_) {
      for (uint32_t index = 0; index < options_.keys_per_store; ++index) {
        const std::string key = key_name(index);
        SiblingSet all;
        for (const NodeId& id : cluster_.node_ids()) {
          if (!cluster_.retired(id))  // a node removed while dead took its copies along
            all.merge(cluster_.local_copy(id, store.name, key));
        }
        for (const NodeId& replica : cluster_.replicas(store.name, key)) {
          const SiblingSet copy = cluster_.replica_copy(replica, store.name, key);
          if (!(copy == all)) {
            difference =
                fmt::format("store {} key {}: replica {} holds {}, the union is {}", store.name,
                            key, replica, describe_set(copy), describe_set(all));
            return false;
          }
        }
      }
    }
    // The replicas' Merkle trees, as maintained write by write, agree too.
    for (const StoreUnderTest& store : stores_) {
      std::map<uint32_t, std::pair<NodeId, uint64_t>> first;
      for (const NodeId& id : cluster_.node_ids()) {
        for (const auto& [partition, root] : cluster_.merkle_roots(id, store.name)) {
          auto [seen, inserted] = first.try_emplace(partition, id, root);
          if (!inserted && seen->second.second != root) {
            difference = fmt::format("store {} partition {}: Merkle roots of {} and {} differ",
                                     store.name, partition, seen->second.first, id);
            return false;
          }
        }
      }
    }
    return true;
  };
  while (!converged()) {
    if (cluster_.now() >= healed + kConvergenceBoundMs) {
      violation(result, fmt::format("not converged {} ms after healing (without reads): {}{}",
                                    kConvergenceBoundMs, difference, cluster_.rebalance_report()));
      return;
    }
    cluster_.run_until(cluster_.now() + 250);
  }
  result.convergence_ms = cluster_.now() - healed;
}

// Reads every key once through a random node (read repair finishes what
// anti-entropy left). Liveness: with the faults healed and the cluster
// converged, every read answers, successfully, within the bound.
void Runner::read_everything(ScenarioResult& result) {
  constexpr uint64_t kReadBoundMs = 3000;
  size_t asked = 0;
  auto answered = std::make_shared<size_t>(0);
  auto failures = std::make_shared<std::vector<std::string>>();
  for (size_t store = 0; store < stores_.size(); ++store) {
    for (uint32_t key = 0; key < options_.keys_per_store; ++key) {
      const NodeId via = random_node();
      const std::string name = stores_[store].name + "/" + key_name(key);
      ++asked;
      cluster_.get(via, stores_[store].name, key_name(key),
                   [answered, failures, via, name](const GetReply& reply) {
                     ++*answered;
                     if (!reply.status.ok())
                       failures->push_back(
                           fmt::format("{} via {}: {}", name, via, reply.status.to_string()));
                   });
    }
  }
  cluster_.run_until(cluster_.now() + kReadBoundMs);
  if (*answered < asked) {
    violation(result, fmt::format("liveness: {} of {} reads after healing got no answer "
                                  "within {} ms",
                                  asked - *answered, asked, kReadBoundMs));
  }
  for (const std::string& failure : *failures)
    violation(result, "liveness: a read after healing failed: " + failure);
  if (*answered < asked || !failures->empty()) {
    for (const NodeId& id : cluster_.node_ids()) {
      const NodeCore::RecoveryView recovery = cluster_.recovery(id);
      if (recovery.recovering) {
        violation(result, fmt::format("liveness: {} is still recovering ({} of {} partitions)", id,
                                      recovery.partitions_done, recovery.partitions_total));
      }
    }
  }
}

// RINGKV_SIM_HISTORY=store/key prints every put of that key (for reading a
// failing seed's history).
void Runner::print_history() const {
  const char* wanted = std::getenv("RINGKV_SIM_HISTORY");
  if (wanted == nullptr)
    return;
  for (const PutRecord& put : puts_) {
    if (stores_[put.store].name + "/" + put.key != wanted)
      continue;
    std::string seen;
    for (const auto& entry : put.seen.entries())
      seen += fmt::format("{}:{} ", entry.actor, entry.counter);
    std::fprintf(stderr, "%s %s via %s %lu-%lu ms %s dot (%lu,%lu) seen {%s} %s\n",
                 put.tombstone ? "delete" : "put", put.value.c_str(), put.node.c_str(),
                 static_cast<unsigned long>(put.start), static_cast<unsigned long>(put.end),
                 put.outcome == Outcome::ok         ? "ok"
                 : put.outcome == Outcome::rejected ? "rejected"
                                                    : "unknown",
                 static_cast<unsigned long>(put.dot.actor),
                 static_cast<unsigned long>(put.dot.counter), seen.c_str(), put.error.c_str());
  }
}

void Runner::check(ScenarioResult& result) {
  print_history();
  // The union of every node's copy, and each replica's copy, per key.
  std::map<std::pair<size_t, std::string>, SiblingSet> final_sets;
  for (size_t store = 0; store < stores_.size(); ++store) {
    for (uint32_t index = 0; index < options_.keys_per_store; ++index) {
      const std::string key = key_name(index);
      SiblingSet all;
      std::string holders;
      for (const NodeId& id : cluster_.node_ids()) {
        if (cluster_.retired(id))
          continue;
        const SiblingSet copy = cluster_.local_copy(id, stores_[store].name, key);
        if (!copy.empty())
          holders += (holders.empty() ? "" : ", ") + id;
        all.merge(copy);
      }
      // 5. Convergence: every replica holds the union.
      for (const NodeId& replica : cluster_.replicas(stores_[store].name, key)) {
        const SiblingSet copy = cluster_.local_copy(replica, stores_[store].name, key);
        // A tombstone collection may be under way at this instant (sweeps
        // go on): a replica that already reaped a key whose every version
        // is a tombstone reads the same (not found) as one that has not.
        const bool reaped = copy.empty() && all.all_tombstones();
        // So may a clock pruning: a replica that already dropped the
        // entries of actors with no live version (or got one back from an
        // old context) holds the same versions, and every live version's
        // dot, as one that has not.
        auto live_part = [](SiblingSet set) {
          set.drop_superseded(set.superseded_actors());
          return set;
        };
        if (!(live_part(copy) == live_part(all)) && !reaped) {
          violation(result, fmt::format("store {} key {}: replica {} holds {} but the union is {} "
                                        "(held by {}) after healing and a read",
                                        stores_[store].name, key, replica, describe_set(copy),
                                        describe_set(all), holders));
        }
      }
      final_sets[{store, key}] = std::move(all);
    }
  }
  // Writes a crash may legitimately take: a periodic store's last interval,
  // and writes held only by disks that were lost: w acknowledged copies
  // survive w - 1 lost disks, not w (a wipe and a dead removal in one run
  // can take both copies of a w = 2 write before repair copies it on; seeds
  // 103 crashes and 27 crashes with membership do exactly that).
  const uint32_t disks_lost = (wiped_ ? 1 : 0) + (dead_removed_ ? 1 : 0);
  auto periodic_loss_allowed = [this, disks_lost](size_t store) {
    return (crashed_ && stores_[store].config.durability == Durability::periodic) ||
           disks_lost >= stores_[store].config.w;
  };
  for (const PutRecord& put : puts_) {
    const SiblingSet& final_set = final_sets[{put.store, put.key}];
    const std::string where =
        fmt::format("store {} key {} put {} (dot {},{}, started {} ms)", stores_[put.store].name,
                    put.key, put.value, put.dot.actor, put.dot.counter, put.start);
    if (put.outcome == Outcome::rejected) {
      for (const Sibling& sibling : final_set.siblings()) {
        if (!sibling.version->tombstone && sibling.version->value == put.value)
          violation(result, where + ": answered 4xx (" + put.error + ") but present");
      }
      continue;
    }
    if (put.outcome != Outcome::ok)
      continue;
    ++result.operations_checked;
    // A put the run may legitimately lose may also leave what it superseded
    // live: neither loss nor resurrection is judged for it.
    if (periodic_loss_allowed(put.store))
      continue;
    // 3. No resurrection.
    for (const Sibling& sibling : final_set.siblings()) {
      if (put.seen.covers(sibling.dot) &&
          stores_[put.store].config.conflicts == ConflictMode::siblings) {
        violation(result, where + fmt::format(": its context covered ({},{}) which is live "
                                              "again at the end: {}",
                                              sibling.dot.actor, sibling.dot.counter,
                                              describe_set(final_set)));
      }
    }
    // 1. No acknowledged write lost — or deleted by a tombstone that saw it
    // (or itself a tombstone) and then collected: the key is gone everywhere.
    if (!final_set.context().covers(put.dot) && collected_by_a_delete(put))
      continue;
    // ... or superseded everywhere, and its actor's entry then pruned from
    // the key's clock (node_core_prune.cpp): the entry was dropped (or came
    // back lower from an old context), not the dot lost. Only a put
    // acknowledged before that prune is excused; the value checkers still
    // judge it from values (no lost update, acknowledged values kept).
    if (!final_set.context().covers(put.dot) &&
        cluster_.pruned_between(stores_[put.store].name, put.key, put.dot.actor, put.end,
                                UINT64_MAX))
      continue;
    if (!final_set.context().covers(put.dot)) {
      violation(result,
                where + ": acknowledged but lost; the replicas hold " + describe_set(final_set));
      continue;
    }
    bool live = false;
    for (const Sibling& sibling : final_set.siblings()) {
      if (sibling.dot == put.dot) {
        live = true;
        const bool same = sibling.version->tombstone == put.tombstone &&
                          (put.tombstone || sibling.version->value == put.value);
        if (!same)
          violation(result, where + ": its dot holds another version: " + describe_set(final_set));
      }
    }
    // 2. No lost update: superseded only by a put that saw it.
    if (!live && stores_[put.store].config.conflicts == ConflictMode::siblings &&
        !put.tombstone) {  // a tombstone may be collected
      bool seen_by_someone = false;
      for (const PutRecord& other : puts_) {
        seen_by_someone =
            seen_by_someone || (other.store == put.store && other.key == put.key &&
                                other.outcome != Outcome::rejected && other.seen.covers(put.dot));
      }
      if (!seen_by_someone)
        violation(result, where + ": superseded though no put saw it: " + describe_set(final_set));
    }
  }
  // 4. Quorum honesty.
  for (const GetRecord& get : gets_) {
    const StoreConfig& config = stores_[get.store].config;
    // A replica that came back empty breaks the read/write intersection until
    // anti-entropy refills it: no quorum claim holds in such a run.
    if (!get.ok || config.quorum != QuorumMode::strict || config.r + config.w <= config.n ||
        periodic_loss_allowed(get.store) || wiped_ || dead_removed_)
      continue;
    ++result.operations_checked;
    for (const PutRecord& put : puts_) {
      if (put.outcome == Outcome::ok && put.store == get.store && put.key == get.key &&
          put.end < get.start && !get.context.covers(put.dot) && !deleted_before(put, get.start) &&
          !cluster_.pruned_between(stores_[get.store].name, get.key, put.dot.actor, put.end,
                                   get.end)) {
        violation(result,
                  fmt::format("store {} key {}: read started at {} ms missed put {} (dot {},{}) "
                              "acknowledged at {} ms",
                              stores_[get.store].name, get.key, get.start, put.value, put.dot.actor,
                              put.dot.counter, put.end));
      }
    }
  }
  check_values(result, final_sets, periodic_loss_allowed);
}

// 6. The promises again, judged from values and the client history alone:
// every put's value is unique, and each put records the values its writer
// had read. Nothing a node reports (dots, contexts) is trusted here, so a
// node that drops a sibling, reuses a dot or acknowledges before its write
// is durable is caught even if the contexts it returns are wrong too.
void Runner::check_values(ScenarioResult& result,
                          const std::map<std::pair<size_t, std::string>, SiblingSet>& final_sets,
                          const std::function<bool(size_t)>& loss_allowed) {
  // Per (store, key): the puts, in order.
  std::map<std::pair<size_t, std::string>, std::vector<const PutRecord*>> by_key;
  for (const PutRecord& put : puts_)
    by_key[{put.store, put.key}].push_back(&put);
  // Clock skew lets a last-writer-wins store order two writes against real
  // time (documented, "knowingly"): the real-time rule is judged without it.
  const bool clocks_agree = options_.faults != FaultMix::skew && options_.faults != FaultMix::chaos;
  for (const auto& [where, puts] : by_key) {
    const auto [store, key] = where;
    if (loss_allowed(store))
      continue;
    const bool lww = stores_[store].config.conflicts == ConflictMode::lww;
    const auto found = final_sets.find(where);
    // What a read returns: every live value, or in a last-writer-wins store
    // the winner's (nothing when the winner is a delete).
    std::set<std::string> live;
    if (found != final_sets.end() && lww) {
      const std::optional<Sibling> winner = found->second.lww_winner();
      if (winner && !winner->version->tombstone)
        live.insert(winner->version->value);
    } else if (found != final_sets.end()) {
      for (const Sibling& sibling : found->second.siblings()) {
        if (!sibling.version->tombstone)
          live.insert(sibling.version->value);
      }
    }
    auto read_by = [&](const std::string& value, bool acknowledged_only) -> const PutRecord* {
      for (const PutRecord* other : puts) {
        if (other->outcome == Outcome::rejected ||
            (acknowledged_only && other->outcome != Outcome::ok))
          continue;
        if (other->seen_values.count(value) != 0)
          return other;
      }
      return nullptr;
    };
    const std::string name = fmt::format("store {} key {}", stores_[store].name, key);
    for (const PutRecord* put : puts) {
      if (put->outcome != Outcome::ok || put->tombstone || live.count(put->value) != 0)
        continue;
      // Gone: only a put that read it may have superseded it (siblings), or
      // in a last-writer-wins store a write not over before it began.
      bool superseded = read_by(put->value, false) != nullptr;
      if (lww && !clocks_agree)
        continue;  // skewed timestamps may let any write win (documented)
      if (lww) {
        for (const PutRecord* other : puts)
          superseded = superseded || (other != put && other->outcome != Outcome::rejected &&
                                      other->end >= put->start);
      }
      if (!superseded) {
        violation(result,
                  fmt::format("{}: acknowledged value {} (put {}-{} ms) is gone, and no "
                              "write that read it exists (values at the end: {})",
                              name, put->value, put->start, put->end, fmt::join(live, ", ")));
      }
    }
    for (const std::string& value : live) {
      const PutRecord* writer = nullptr;
      for (const PutRecord* put : puts)
        writer = put->value == value ? put : writer;
      if (writer == nullptr) {
        violation(result, fmt::format("{}: value {} at the end was never written", name, value));
        continue;
      }
      if (!lww) {
        if (const PutRecord* reader = read_by(value, true)) {
          violation(result, fmt::format("{}: value {} is live at the end though acknowledged put "
                                        "{} ({}-{} ms) had read it and superseded it",
                                        name, value, reader->value, reader->start, reader->end));
        }
      } else if (clocks_agree) {
        for (const PutRecord* later : puts) {
          if (later->outcome == Outcome::ok && later->start > writer->end) {
            violation(result, fmt::format("{}: last-writer-wins kept {} (put {}-{} ms) over the "
                                          "later acknowledged {} ({}-{} ms); the replicas hold {}",
                                          name, value, writer->start, writer->end,
                                          later->tombstone ? "delete" : later->value, later->start,
                                          later->end, describe_set(found->second)));
            break;
          }
        }
      }
    }
  }
}

ScenarioResult Runner::run() {
  ScenarioResult result;
  create_stores();
  contexts_.resize(options_.clients);
  values_read_.resize(options_.clients);
  sequence_.resize(options_.clients, 0);
  for (uint32_t client = 0; client < options_.clients; ++client)
    cluster_.at(cluster_.now() + client, [this, client] { client_step(client); });
  schedule_faults();
  if (options_.membership) {
    schedule_membership();
    watch_flips();
  }
  cluster_.run_until(cluster_.now() + options_.fault_ms);
  load_running_ = false;
  heal();
  cluster_.run_until(cluster_.now() + 5000);  // in-flight requests finish or time out
  wait_for_convergence(result);
  checking_ = true;
  read_everything(result);
  for (std::string& early : early_violations_)
    violation(result, std::move(early));
  if (cluster_.stats().messages_to_self != 0) {
    violation(result, fmt::format("{} messages were addressed by a node to itself (the real "
                                  "transport drops them)",
                                  cluster_.stats().messages_to_self));
  }
  if (cluster_.stats().frames_refused != 0) {
    violation(result, fmt::format("{} messages were over the frame limit or did not decode (the "
                                  "real transport and driver drop them)",
                                  cluster_.stats().frames_refused));
  }
  check(result);

  for (const PutRecord& put : puts_) {
    result.puts_ok += put.outcome == Outcome::ok ? 1 : 0;
    result.puts_indeterminate += put.outcome == Outcome::indeterminate ? 1 : 0;
    result.puts_rejected += put.outcome == Outcome::rejected ? 1 : 0;
  }
  for (const GetRecord& get : gets_) {
    result.gets_ok += get.ok ? 1 : 0;
    result.gets_failed += get.ok ? 0 : 1;
  }
  const SimCluster::Stats stats = cluster_.stats();
  result.trace_hash = cluster_.trace_hash();
  result.simulated_ms = cluster_.now();
  result.messages = stats.messages_sent;
  result.messages_dropped = stats.messages_dropped;
  result.crashes = stats.crashes;
  result.empty_restarts = stats.empty_restarts;
  result.clean_stops = stats.clean_stops;
  result.read_repairs = stats.read_repairs;
  result.hints_stored = stats.hints_stored;
  result.hints_delivered = stats.hints_delivered;
  result.sloppy_writes = stats.sloppy_writes;
  result.suspicions = stats.suspicions;
  result.ae_keys_repaired = stats.ae_keys_repaired;
  result.tombstones_collected = stats.tombstones_collected;
  result.clock_entries_pruned = stats.clock_entries_pruned;
  result.membership_changes = changes_;
  result.layout_flips = stats.layout_flips;
  result.transfer_keys = stats.transfer_keys;
  result.partitions_dropped = stats.partitions_dropped;
  return result;
}

}  // namespace

const char* to_string(FaultMix mix) {
  switch (mix) {
    case FaultMix::calm:
      return "calm";
    case FaultMix::lossy:
      return "lossy";
    case FaultMix::partitions:
      return "partitions";
    case FaultMix::crashes:
      return "crashes";
    case FaultMix::disks:
      return "disks";
    case FaultMix::clogging:
      return "clogging";
    case FaultMix::skew:
      return "skew";
    case FaultMix::chaos:
      return "chaos";
    case FaultMix::clients:
      return "clients";
  }
  return "?";
}

bool parse(std::string_view text, FaultMix& out) {
  for (FaultMix mix : kFaultMixes) {
    if (text == to_string(mix)) {
      out = mix;
      return true;
    }
  }
  return false;
}

ScenarioResult run_scenario(const ScenarioOptions& options) {
  Runner runner(options);
  return runner.run();
}

std::string replay_command(const ScenarioOptions& options) {
  return fmt::format("build/debug/bin/ringkv_sim --seed {} --faults {} --fault-ms {}{}",
                     options.seed, to_string(options.faults), options.fault_ms,
                     options.membership ? " --membership" : "");
}

}  // namespace ringkv::sim
