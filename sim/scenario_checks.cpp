// The scenario's checkers (see scenario.h for what each promises): every
// acknowledged write durable on w replicas, on w of the new replicas right
// after a flip, convergence without reads after healing, every read and the
// final state against the history of acknowledged writes.
#include "sim/scenario_runner.h"

namespace ringkv::sim::detail {

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
  if (disks_wiped() > 0 || dead_removed_)
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
  const uint64_t disks_lost = disks_wiped() + (dead_removed_ ? 1 : 0);
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
    // the key's clock (clock_pruner.cpp): the entry was dropped (or came
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
        periodic_loss_allowed(get.store) || disks_wiped() > 0 || dead_removed_)
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

}  // namespace ringkv::sim::detail
