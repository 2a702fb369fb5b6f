// HintedHandoff (hinted_handoff.h): sloppy quorum and hinted handoff (Dynamo §4.6).
//
// A sloppy store's write or read skips the replicas this node believes down
// and uses the next healthy nodes of the key's extended preference list as
// stand-ins (that placement is the Coordinator's, coordinator_put.cpp); each
// stand-in keeps what it gets as a hint for the replica it
// stands in for (hints column, hint_codec.h), durably as the store promises,
// and its acknowledgement counts toward w. When the replica is seen alive
// again, the stand-in hands each hint over (a ReplicaWrite that the replica
// merges durably, whatever the store's durability) and deletes the hint only
// after that acknowledgement, and only if the hint did not change meanwhile.
// Handoff is throttled (handoff_in_flight_max hints and handoff_bytes_max
// bytes in flight per target; the receiver also refuses a source over its
// inbound byte budget, and the hint is tried again next round), resumable (hints
// live on disk; totals are recounted at start) and idempotent (a repeated
// delivery merges to the same set).
#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core.h"
#include "cluster/node_core_errors.h"
#include "common/md5.h"
#include "storage/data_key.h"
#include "storage/hint_codec.h"
#include "storage/record_codec.h"

namespace ringkv {
using core_errors::expired_ops;
namespace {

// Hint keys share the per-key write lock map with data keys; this prefix
// (a store id no catalog hands out) keeps the two apart.
std::string hint_lock(const std::string& hint_key) {
  return std::string("\xff\xff\xff\xffh", 5) + hint_key;
}

// The versions a stored hint value holds.
Result<SiblingSet> decode_hint_set(std::string_view hint_value) {
  auto value = decode_hint_value(hint_value);
  if (!value)
    return Status(Code::corruption, "hint record too short");
  return decode_record(value->record);
}

}  // namespace

Result<SiblingSet> HintedHandoff::read_hint(const StoreEntry& store, const NodeId& target,
                                            std::string_view key) {
  auto bytes = core_.reads_.get(Column::hints, encode_hint_key(target, store.name, key));
  if (!bytes.ok())
    return bytes.status();
  if (!bytes.value())
    return SiblingSet();
  return decode_hint_set(*bytes.value());
}

Result<SiblingSet> HintedHandoff::read_stand_in_copy(const StoreEntry& store,
                                                     std::string_view key) {
  SiblingSet out;
  for (const auto& [target, totals] : hints_) {
    auto held = read_hint(store, target, key);
    if (!held.ok())
      return held.status();
    out.merge(*held);
  }
  return out;
}

ActorId HintedHandoff::stand_in_actor() {
  if (stand_in_actor_ == 0) {
    stand_in_actor_ = core_.single_use_random_.next() | 1;
    ++core_.stats_.stand_in_actors;
  }
  return stand_in_actor_;
}

void HintedHandoff::retire_stand_in_actor(ActorId actor) {
  if (stand_in_actor_ == actor)
    stand_in_actor_ = 0;
}

void HintedHandoff::retire_stand_in_actor_if_named(std::string_view hint_value) {
  auto set = decode_hint_set(hint_value);
  if (!set.ok()) {
    stand_in_actor_ = 0;  // it may name the actor: retire it to be safe
    return;
  }
  for (const SiblingSet::ActorEntry& entry : set->entries()) {
    if (entry.actor == stand_in_actor_) {
      stand_in_actor_ = 0;
      return;
    }
  }
}

void HintedHandoff::store_hint(const StoreEntry& store, const NodeId& target, std::string key,
                               SiblingSet set, Continuation done) {
  std::string hint_key = encode_hint_key(target, store.name, key);
  const std::string lock = hint_lock(hint_key);
  if (Status room = core_.key_wait_room(lock); !room.ok()) {
    done(room);
    return;
  }
  core_.with_key(lock, [this, store = &store, target, lock, hint_key = std::move(hint_key),
                        set = std::move(set), done = std::move(done)]() mutable {
    auto finish = [this, lock, done](Status status) {
      core_.release_key(lock);
      done(std::move(status));
    };
    if (!core_.fence_.ok()) {
      finish(core_.fence_);
      return;
    }
    auto existing = core_.reads_.get(Column::hints, hint_key);
    if (!existing.ok()) {
      finish(existing.status());
      return;
    }
    SiblingSet current;
    uint64_t stored_at = core_.now_ms_;
    size_t old_bytes = 0;
    if (existing.value()) {
      auto value = decode_hint_value(*existing.value());
      auto record = value ? decode_record(value->record)
                          : Result<SiblingSet>(Status(Code::corruption, "hint record too short"));
      if (!record.ok()) {
        // Never overwrite what we cannot read: it may hold the only copy.
        finish(Status(Code::unavailable, "this stand-in's hint for the key is unreadable (" +
                                             record.status().message() + ")"));
        return;
      }
      current = std::move(*record);
      stored_at = value->stored_at_ms;
      old_bytes = hint_key.size() + existing.value()->size();
    }
    SiblingSet merged = SiblingSet::merged(current, set);
    if (existing.value() && merged == current) {
      finish(Status::Ok());  // held already
      return;
    }
    std::string value = encode_hint_value(stored_at, encode_record(merged));
    const size_t new_bytes = hint_key.size() + value.size();
    if (new_bytes > old_bytes &&
        hint_bytes_ + (new_bytes - old_bytes) > core_.options_.hints_bytes_max) {
      ++core_.stats_.hints_refused;
      finish(Status(Code::unavailable,
                    fmt::format("stand-in {} holds {} bytes of hints, its limit; it takes no more "
                                "until hints are handed off",
                                core_.options_.self, hint_bytes_)));
      return;
    }
    WriteBatch batch;
    batch.push_back({Column::hints, hint_key, std::move(value)});
    const bool fresh = !existing.value();
    core_.issue_write(std::move(batch), store->config.durability == Durability::sync,
                      [this, target, fresh, old_bytes, new_bytes, finish](Status status) {
                        if (status.ok()) {
                          HintTotals& totals = hints_[target];
                          totals.count += fresh ? 1 : 0;
                          totals.bytes = totals.bytes + new_bytes - old_bytes;
                          hint_bytes_ = hint_bytes_ + new_bytes - old_bytes;
                          ++core_.stats_.hints_stored;
                        }
                        finish(status);
                      });
  });
}

void HintedHandoff::load_totals() {
  hints_.clear();
  hint_bytes_ = 0;
  Status status = core_.reads_.scan(Column::hints, "", "",
                                    [this](std::string_view key, std::string_view value) {
                                      auto decoded = decode_hint_key(key);
                                      if (!decoded) {
                                        ++core_.stats_.hints_corrupt;
                                        return true;
                                      }
                                      HintTotals& totals = hints_[decoded->target];
                                      ++totals.count;
                                      totals.bytes += key.size() + value.size();
                                      hint_bytes_ += key.size() + value.size();
                                      return true;
                                    });
  if (!status.ok())
    core_.fence(status);  // cannot account for hints: take no writes rather than lose track
}

void HintedHandoff::tick(uint64_t now_ms) {
  for (uint64_t op : expired_ops(handoffs_, now_ms)) {
    hints_in_flight_.erase(handoffs_.at(op).hint_key);
    handoffs_.erase(op);  // tried again next round
  }
  // Without a layout (a wiped node that took a hint before its join reply)
  // nothing says where a key lives: hints wait.
  if (now_ms < next_handoff_ms_ || !core_.layout_)
    return;
  next_handoff_ms_ = now_ms + core_.options_.handoff_interval_ms;
  std::map<NodeId, uint32_t> in_flight;
  std::map<NodeId, uint64_t> in_flight_bytes;
  for (const auto& [op, handoff] : handoffs_) {
    ++in_flight[handoff.target];
    in_flight_bytes[handoff.target] += handoff.value.size();
  }
  for (const auto& [target, totals] : hints_) {
    // Hints for a node that left (or is leaving) go to the key's new
    // replicas instead, first of all (rebalancer.cpp).
    const bool leaving =
        !core_.is_member(target) || core_.membership_.role_of(target) == MemberRole::removed;
    // A down target's hints wait for it, except those whose key moved away
    // from it (below): they are only scanned while the layout changes.
    const bool target_down = !leaving && core_.is_down(target, now_ms);
    if (totals.count == 0 || core_.is_self(target) || (target_down && !core_.target_))
      continue;
    const uint32_t busy = in_flight[target];
    if (busy >= core_.options_.handoff_in_flight_max)
      continue;
    const size_t budget = core_.options_.handoff_in_flight_max - busy;
    // Bytes in flight per target are bounded too (at least one hint).
    uint64_t bytes = in_flight_bytes[target];
    if (busy > 0 && bytes >= core_.options_.handoff_bytes_max)
      continue;
    std::vector<std::pair<std::string, std::string>> batch;
    const KeyRange range = hints_for(target);
    Status scanned = core_.reads_.scan(
        Column::hints, range.begin, range.end, [&](std::string_view key, std::string_view value) {
          const std::string hint_key(key);
          if (hints_in_flight_.count(hint_key) == 0 && hints_unreadable_.count(hint_key) == 0) {
            batch.emplace_back(hint_key, std::string(value));
            bytes += value.size();
          }
          return batch.size() < budget && bytes < core_.options_.handoff_bytes_max;
        });
    if (!scanned.ok())
      continue;
    for (auto& [hint_key, value] : batch)
      hand_off(target, hint_key, std::move(value), leaving, target_down, now_ms);
  }
}

void HintedHandoff::hand_off(const NodeId& target, const std::string& hint_key, std::string value,
                             bool leaving, bool target_down, uint64_t now_ms) {
  auto decoded_key = decode_hint_key(hint_key);
  auto set = decode_hint_set(value);
  const StoreEntry* store = decoded_key ? core_.catalog_.find(decoded_key->store) : nullptr;
  if (!decoded_key || !set.ok() || store == nullptr) {
    ++core_.stats_.hints_corrupt;
    hints_unreadable_.insert(hint_key);  // kept, reported, never retried
    return;
  }
  NodeId to = target;
  // A hint whose key no longer belongs to its target (the partition moved,
  // or is moving, away from it) goes to the key's new replicas: the old
  // owner would merge it into a copy it is about to drop.
  if (leaving || !keeps_key(*store, decoded_key->key, target)) {
    auto heir = heir_of(*store, decoded_key->key, target, now_ms);
    if (!heir)
      return;  // no new replica up yet: later
    to = *heir;
    if (!leaving)
      ++core_.stats_.hints_rerouted;
  } else if (target_down) {
    return;
  }
  const uint64_t op = core_.next_op();
  hints_in_flight_.insert(hint_key);
  PendingHandoff handoff{target, hint_key, std::move(value),
                         now_ms + core_.options_.request_timeout_ms, to};
  if (core_.is_self(to)) {
    core_.merge_locally(
        *store, decoded_key->key, std::move(*set),
        [this, handoff](Status status) {
          if (status.ok()) {
            finish_delivery(handoff);
          } else {
            hints_in_flight_.erase(handoff.hint_key);
          }
        },
        /*force_sync=*/true);
    return;
  }
  ReplicaWrite message{op, core_.spec_of(*store), decoded_key->key, std::move(*set), {}, true};
  handoffs_[op] = std::move(handoff);
  core_.send(to, std::move(message));
}

void HintedHandoff::acknowledged(uint64_t op, const NodeId& from, Status status) {
  auto found = handoffs_.find(op);
  if (found == handoffs_.end() || found->second.sent_to != from)
    return;
  PendingHandoff handoff = std::move(found->second);
  handoffs_.erase(found);
  if (!status.ok()) {
    hints_in_flight_.erase(handoff.hint_key);
    return;  // the next round tries again
  }
  finish_delivery(std::move(handoff));
}

std::optional<NodeId> HintedHandoff::heir_of(const StoreEntry& store, std::string_view key,
                                             const NodeId& leaving, uint64_t now_ms) {
  const Layout& future = core_.target_ ? *core_.target_ : *core_.layout_;
  const PreferenceTable& table = core_.target_ ? core_.rebalancer_.target_table_for(store.config.n)
                                               : core_.table_for(store.config.n);
  for (uint32_t index : table.nodes_for_key(key)) {
    const NodeId& id = future.nodes()[index].id;
    if (id != leaving && !core_.is_down(id, now_ms))
      return id;
  }
  return std::nullopt;
}

bool HintedHandoff::keeps_key(const StoreEntry& store, std::string_view key, const NodeId& node) {
  auto listed = [&](const Layout& layout, const PreferenceTable& table) {
    for (uint32_t index : table.nodes_for_key(key)) {
      if (layout.nodes()[index].id == node)
        return true;
    }
    return false;
  };
  if (!core_.layout_ || !listed(*core_.layout_, core_.table_for(store.config.n)))
    return false;
  return !core_.target_ ||
         listed(*core_.target_, core_.rebalancer_.target_table_for(store.config.n));
}

void HintedHandoff::finish_delivery(PendingHandoff handoff) {
  const std::string lock = hint_lock(handoff.hint_key);
  core_.with_key(lock, [this, lock, handoff = std::move(handoff)]() mutable {
    auto current = core_.reads_.get(Column::hints, handoff.hint_key);
    if (!current.ok() || !current.value() || *current.value() != handoff.value ||
        !core_.fence_.ok()) {
      // Changed since it was sent (a newer write merged in): send it again later.
      hints_in_flight_.erase(handoff.hint_key);
      core_.release_key(lock);
      return;
    }
    // The hint leaves: if it holds versions numbered by this node's
    // stand-in actor, the next such write would not see them.
    if (stand_in_actor_ != 0)
      retire_stand_in_actor_if_named(handoff.value);
    WriteBatch batch;
    batch.push_back({Column::hints, handoff.hint_key, {}, /*erase=*/true});
    // Not synced: if a crash undoes the delete, the hint is delivered again,
    // which merges to the same set.
    core_.issue_write(std::move(batch), /*durable=*/false, [this, lock, handoff](Status status) {
      hints_in_flight_.erase(handoff.hint_key);
      if (status.ok()) {
        const uint64_t bytes = handoff.hint_key.size() + handoff.value.size();
        HintTotals& totals = hints_[handoff.target];
        totals.count -= std::min<uint64_t>(totals.count, 1);
        totals.bytes -= std::min(totals.bytes, bytes);
        hint_bytes_ -= std::min(hint_bytes_, bytes);
        if (totals.count == 0)
          hints_.erase(handoff.target);
        ++core_.stats_.hints_delivered;
      }
      core_.release_key(lock);
    });
  });
}

bool HintedHandoff::may_hold_hint(const std::string& store_name, std::string_view key) {
  for (const NodeId& target : core_.member_ids_) {
    auto hint = core_.reads_.get(Column::hints, encode_hint_key(target, store_name, key));
    if (!hint.ok() || hint.value())
      return true;  // a hint, or an unreadable hints column
  }
  return false;
}

}  // namespace ringkv
