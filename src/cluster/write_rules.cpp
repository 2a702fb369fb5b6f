// Write rules; see write_rules.h.
#include "cluster/write_rules.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/limits.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

VersionVector reply_context(const SiblingSet& set, VersionVector seen, Dot dot) {
  // At the cap a new actor's entry is left out: the client's next put then
  // keeps this version as a sibling instead of superseding it (never a loss).
  if (seen.get(dot.actor) == 0 && seen.size() >= kActorsPerKeyMax)
    return seen;
  for (const auto& entry : set.entries()) {
    if (entry.actor == dot.actor && entry.versions.size() == 1) {
      seen.raise(dot.actor, dot.counter);
    }
  }
  return seen;
}

// Refuses a put whose new dot would pass kCounterMax (only a forged context
// gets near it). A key's own history never refuses a put: a clock that names
// many actors keeps growing (its size is bounded by how actors are made, see
// docs/ARCHITECTURE.md "Version clocks stay small"), and the contexts the
// node hands out are capped instead (SiblingSet::client_context).
Status check_put(const SiblingSet& set, const VersionVector& seen, ActorId actor) {
  if (set.next_counter(seen, actor) > kCounterMax) {
    return {Code::invalid_argument,
            "the context names a version counter too large for this key; read the key again and "
            "use that context"};
  }
  return Status::Ok();
}

// Keeps the context's entries for actors the key knows, and for unknown actors
// only while the key's clock stays under kActorsPerKeyMax. Forgetting that a
// client saw a dot can only make a later-arriving version a sibling, never
// lose one.
VersionVector forget_unknown_actors(const SiblingSet& set, VersionVector seen, ActorId actor) {
  if (set.entries().size() + seen.size() < kActorsPerKeyMax)
    return seen;
  auto known = [&](ActorId candidate) {
    for (const auto& entry : set.entries()) {
      if (entry.actor == candidate)
        return true;
    }
    return candidate == actor;
  };
  const size_t used = set.entries().size() + (known(actor) ? 0 : 1);
  size_t room = used < kActorsPerKeyMax ? kActorsPerKeyMax - used : 0;
  VersionVector kept;
  for (const auto& entry : seen.entries()) {
    if (known(entry.actor)) {
      kept.raise(entry.actor, entry.counter);
    } else if (room > 0) {
      kept.raise(entry.actor, entry.counter);
      --room;
    }
  }
  return kept;
}

// The client-edge limits after a put (limits.h).
Status check_limits(const SiblingSet& set, size_t record_bytes) {
  if (set.sibling_count() > kSiblingsMax) {
    return {Code::too_large,
            fmt::format("this put would leave {} concurrent versions (limit {}); read the key, "
                        "merge its versions and write back with its X-Context",
                        set.sibling_count(), kSiblingsMax)};
  }
  if (record_bytes > kRecordBytesMax) {
    return {Code::too_large,
            fmt::format("this put would make the key's versions {} bytes (limit {}); read the "
                        "key, merge its versions and write back with its X-Context",
                        record_bytes, kRecordBytesMax)};
  }
  return Status::Ok();
}

}  // namespace

Result<ClientPutResult> apply_client_put(SiblingSet& set, const StoreConfig& config,
                                         VersionVector seen, ActorId actor, Version version,
                                         uint64_t counter_floor) {
  if (config.conflicts == ConflictMode::lww)
    seen.merge(set.context());  // last writer wins: this write supersedes all it finds
  if (counter_floor > 1) {
    // The floor applies unless the actor holds live values of the key: then
    // raising `seen` would discard them unseen. An entry of tombstones (or
    // of no versions) may be what a late message brought back after the key
    // was collected, below counters the actor used since (the simulator
    // found the reuse: seed 53 partitions). Raising `seen` over it drops
    // only this actor's tombstones, which is what collecting them does; the
    // set's counters still cover every version they had superseded.
    bool holds_values = false;
    for (const auto& entry : set.entries()) {
      if (entry.actor != actor)
        continue;
      for (const Version& version : entry.versions)
        holds_values = holds_values || !version.tombstone;
    }
    if (!holds_values && seen.get(actor) < counter_floor - 1)
      seen.raise(actor, counter_floor - 1);
  }
  if (Status status = check_put(set, seen, actor); !status.ok())
    return status;
  seen = forget_unknown_actors(set, std::move(seen), actor);
  SiblingSet next = set;
  const Dot dot = next.put(seen, actor, std::move(version));
  ClientPutResult out;
  out.dot = dot;
  out.context = reply_context(next, std::move(seen), dot);
  out.record = encode_record(next);
  if (Status status = check_limits(next, out.record.size()); !status.ok())
    return status;
  set = std::move(next);
  return out;
}

size_t replicas_to_compare(const StoreConfig& config, size_t reachable) {
  const size_t wanted = config.quorum == QuorumMode::strict ? config.n - config.w + 1 : 1;
  return std::min(wanted, reachable);
}

}  // namespace ringkv
