// ClockPruner (clock_pruner.h): clock pruning (docs/ARCHITECTURE.md, "Version clocks stay
// small"): a key's record keeps one entry per actor that ever numbered a
// version of it, and an entry whose versions are all superseded says only
// "this actor's dots up to its counter are seen". Old epochs of a node
// (unclean restarts), retired stand-in and single-use actors, removed nodes
// and coordinators whose last write was overwritten leave such entries.
//
// Dropping one cannot make a dot repeat: with collection on, an actor with
// no live value of a key numbers its next version from the counter floor
// (write_rules.h), whether or not its entry is still there. What the entry
// guards is causality: a copy that still holds one of that actor's versions
// live, merged into a record without the entry, would bring that version
// back as a sibling. So an entry goes only when no such copy can exist:
//   1. every member agrees that in its copy none of the named actors has a
//      live version, that it holds no hint for the key, and that no data
//      moves (tombstone collection's conditions; nothing is asked while a
//      member is believed down);
//   2. copies made after that agreement come from copies that agreed, and
//      the named versions stay superseded in them (counters only grow), so
//      only a message made before it could still carry one live;
//   3. the same check passes again prune_delay_ms later, longer than any
//      message may live (the transport drops frames older than its
//      frame_age_max); only then each member drops the entries, each only
//      where they still hold no live version.
// A client's context naming a dropped entry brings it back without
// versions (the client did see those dots), as does a copy that had not
// dropped it yet; a later sweep drops it again.
// See clock_pruner.h.
#include "cluster/clock_pruner.h"

#include <algorithm>

#include "cluster/node_core.h"
#include "cluster/node_core_errors.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {

bool ClockPruner::agrees_to_prune(const std::string& store_name, std::string_view key,
                                  std::span<const ActorId> actors) {
  // Without collection there is no counter floor: a dropped entry of this
  // node's own actor would let it reuse a dot.
  if (core_.options_.tombstone_sweep_interval_ms == 0 || !core_.data_settled() ||
      core_.handoff_.may_hold_hint(store_name, key))
    return false;
  const StoreEntry* store = core_.catalog_.find(store_name);
  if (store == nullptr)
    return true;  // never held anything of this store
  std::string raw;
  auto set = core_.read_local(*store, key, &raw);
  if (!set.ok())
    return false;
  for (const auto& entry : set->entries()) {
    if (!entry.versions.empty() && std::binary_search(actors.begin(), actors.end(), entry.actor))
      return false;
  }
  return true;
}

void ClockPruner::prune_locally(const std::string& store_name, const std::string& key,
                                std::vector<ActorId> actors) {
  const StoreEntry* found = core_.catalog_.find(store_name);
  if (found == nullptr)
    return;
  std::string data_key = encode_data_key(found->id, key);
  core_.with_key(data_key, [this, store_name, key, data_key, actors = std::move(actors)]() {
    const StoreEntry* store = core_.catalog_.find(store_name);
    if (store == nullptr || !core_.fence_.ok()) {
      core_.release_key(data_key);
      return;
    }
    std::string raw;
    auto set = core_.read_local(*store, key, &raw);
    const size_t before = set.ok() ? set->entries().size() : 0;
    if (!set.ok() || raw.empty() || !set->drop_superseded(actors) || set->empty()) {
      core_.release_key(data_key);  // nothing to drop here (or no copy)
      return;
    }
    const uint64_t dropped = before - set->entries().size();
    std::string record = encode_record(*set);
    core_.data_write_issued(*store, key, data_key, raw, &record);
    WriteBatch batch;
    batch.push_back({Column::data, data_key, std::move(record)});
    // Not forced durable: a lost prune leaves the entries, which is safe.
    core_.issue_write(std::move(batch), store->config.durability == Durability::sync,
                      [this, store, data_key, dropped](Status status) {
                        core_.data_write_done(*store, data_key, status.ok());
                        if (status.ok())
                          core_.stats_.clock_entries_pruned += dropped;
                        core_.release_key(data_key);
                      });
  });
}

void ClockPruner::tick(uint64_t now_ms) {
  if (core_.options_.tombstone_sweep_interval_ms == 0 || !core_.layout_ || now_ms < next_sweep_ms_)
    return;
  next_sweep_ms_ = now_ms + core_.options_.tombstone_sweep_interval_ms;
  core_errors::forget_expired(checks_, now_ms);
  if (!checks_.empty() || !core_.fence_.ok() || !core_.data_settled())
    return;
  if (core_.any_other_down(now_ms))
    return;  // it might hold a hint for any key
  // Keys agreed to once and due for the confirming check come first (one
  // store per check).
  PendingPrune pending;
  pending.confirming = true;
  for (auto it = agreed_once_.begin();
       it != agreed_once_.end() && pending.keys.size() < core_.options_.tombstone_batch_max;) {
    if (it->second.second > now_ms || (!pending.keys.empty() && it->first.first != pending.store)) {
      ++it;
      continue;
    }
    pending.store = it->first.first;
    pending.keys.push_back(it->first.second);
    pending.actors.push_back(std::move(it->second.first));
    it = agreed_once_.erase(it);
  }
  if (!pending.keys.empty()) {
    start_check(std::move(pending), now_ms);
    return;
  }
  // Then the next partition, swept by its first replica.
  if (agreed_once_.size() >= 64 * size_t{core_.options_.tombstone_batch_max})
    return;
  uint32_t partition = 0;
  const StoreEntry* store = core_.next_swept_partition(store_cursor_, partition_cursor_, partition);
  if (store == nullptr)
    return;
  pending.confirming = false;
  pending.store = store->name;
  const KeyRange range = partition_range(store->id, partition, core_.layout_->partition_bits());
  (void)core_.reads_.scan(Column::data, range.begin, range.end,
                          [&](std::string_view data_key, std::string_view record) {
                            auto decoded = decode_data_key(data_key);
                            auto set = decode_record(record);
                            if (!decoded || !set.ok() || set->all_tombstones() ||
                                agreed_once_.count({store->name, decoded->key}) != 0)
                              return true;  // tombstone records are collected whole
                            std::vector<ActorId> actors = set->superseded_actors();
                            if (actors.empty())
                              return true;
                            if (actors.size() > kActorsPerKeyMax)
                              actors.resize(kActorsPerKeyMax);
                            pending.keys.push_back(std::move(decoded->key));
                            pending.actors.push_back(std::move(actors));
                            return pending.keys.size() < core_.options_.tombstone_batch_max;
                          });
  if (!pending.keys.empty())
    start_check(std::move(pending), now_ms);
}

void ClockPruner::start_check(PendingPrune pending, uint64_t now_ms) {
  for (size_t index = 0; index < pending.keys.size(); ++index)
    pending.agreed.push_back(
        agrees_to_prune(pending.store, pending.keys[index], pending.actors[index]));
  if (std::none_of(pending.agreed.begin(), pending.agreed.end(), [](bool b) { return b; }))
    return;
  core_.stats_.prune_checks += pending.keys.size();
  if (core_.others_.empty()) {
    all_agreed(std::move(pending), now_ms);
    return;
  }
  const StoreEntry* store = core_.catalog_.find(pending.store);
  if (store == nullptr)
    return;
  const uint64_t op = core_.next_op();
  pending.waiting = core_.others_;
  pending.deadline = now_ms + core_.options_.request_timeout_ms;
  PruneCheck check{op, core_.spec_of(*store), {}, {}};
  for (size_t index = 0; index < pending.keys.size(); ++index) {
    if (!pending.agreed[index])
      continue;
    check.keys.push_back(pending.keys[index]);
    check.actors.push_back(pending.actors[index]);
  }
  // The replies answer the keys sent, in order.
  PendingPrune sent;
  sent.store = std::move(pending.store);
  sent.keys = check.keys;
  sent.actors = check.actors;
  sent.agreed.assign(sent.keys.size(), true);
  sent.waiting = std::move(pending.waiting);
  sent.deadline = pending.deadline;
  sent.confirming = pending.confirming;
  for (const NodeId& other : core_.others_)
    core_.send(other, check);
  checks_.emplace(op, std::move(sent));
}

void ClockPruner::all_agreed(PendingPrune pending, uint64_t now_ms) {
  const StoreEntry* store = core_.catalog_.find(pending.store);
  if (store == nullptr)
    return;
  ClockPrune prune{core_.spec_of(*store), {}, {}};
  for (size_t index = 0; index < pending.keys.size(); ++index) {
    if (!pending.agreed[index])
      continue;
    if (!pending.confirming) {
      agreed_once_[{pending.store, pending.keys[index]}] = {std::move(pending.actors[index]),
                                                            now_ms + core_.options_.prune_delay_ms};
      continue;
    }
    prune.keys.push_back(pending.keys[index]);
    prune.actors.push_back(pending.actors[index]);
    prune_locally(pending.store, pending.keys[index], std::move(pending.actors[index]));
  }
  if (!prune.keys.empty()) {
    for (const NodeId& other : core_.others_)
      core_.send(other, prune);
  }
}

void ClockPruner::on_check(const NodeId& from, const PruneCheck& message) {
  PruneCheckReply out;
  out.op = message.op;
  for (size_t index = 0; index < message.keys.size() && index < message.actors.size(); ++index) {
    std::vector<ActorId> actors = message.actors[index];
    std::sort(actors.begin(), actors.end());
    out.agreed.push_back(agrees_to_prune(message.store.name, message.keys[index], actors));
  }
  core_.send(from, std::move(out));
}

void ClockPruner::on_check_reply(const NodeId& from, const PruneCheckReply& message) {
  auto found = checks_.find(message.op);
  if (found == checks_.end())
    return;
  PendingPrune& pending = found->second;
  if (!core_.fold_agreement(from, message.agreed, pending.waiting, pending.agreed) ||
      !pending.waiting.empty())
    return;
  PendingPrune done = std::move(pending);
  checks_.erase(found);
  all_agreed(std::move(done), core_.now_ms_);
}

void ClockPruner::on_prune(const ClockPrune& message) {
  const StoreEntry* store = core_.catalog_.find(message.store.name);
  if (store == nullptr || store->config != message.store.config ||
      core_.options_.tombstone_sweep_interval_ms == 0)
    return;
  for (size_t index = 0; index < message.keys.size() && index < message.actors.size(); ++index) {
    std::vector<ActorId> actors = message.actors[index];
    std::sort(actors.begin(), actors.end());
    prune_locally(store->name, message.keys[index], std::move(actors));
  }
}

}  // namespace ringkv
