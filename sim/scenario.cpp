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

#include "sim/scenario_runner.h"
#include "sim/sim_cluster.h"

namespace ringkv::sim {
namespace detail {
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
  // node an owner again, which no move can satisfy: seed 35 chaos. The
  // operator also sees a removed node that refused to start and was taken
  // away a moment ago: seed 700014 disks --membership cancelled its removal
  // 4 ms after the refusal, and the layout named a node gone for good.)
  note_refused_nodes();
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
// Reads every key once through a random node (read repair finishes what
// anti-entropy left). Liveness: with the faults healed and the cluster
// converged, every read answers, successfully, within the bound.
// RINGKV_SIM_HISTORY=store/key prints every put of that key (for reading a
// failing seed's history).
// 6. The promises again, judged from values and the client history alone:
// every put's value is unique, and each put records the values its writer
// had read. Nothing a node reports (dots, contexts) is trusted here, so a
// node that drops a sibling, reuses a dot or acknowledges before its write
// is durable is caught even if the contexts it returns are wrong too.
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

}  // namespace detail

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
  using detail::Runner;
  Runner runner(options);
  return runner.run();
}

std::string replay_command(const ScenarioOptions& options) {
  return fmt::format("build/debug/bin/ringkv_sim --seed {} --faults {} --fault-ms {}{}",
                     options.seed, to_string(options.faults), options.fault_ms,
                     options.membership ? " --membership" : "");
}

}  // namespace ringkv::sim
