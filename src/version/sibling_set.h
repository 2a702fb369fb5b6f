// SiblingSet: every causally concurrent version of one key, as a dotted
// version vector set (DVVSet; Almeida et al., "Scalable and Accurate Causality
// Tracking for Eventually Consistent Stores", 2014 — the structure Riak 2 uses).
//
// Per actor the set keeps one entry (actor, counter, versions): `counter` is the
// highest dot of that actor this set has seen, and `versions` holds the live
// versions of that actor, newest first: versions[k] has dot (actor, counter - k).
// Every dot (actor, c) with c <= counter - versions.size() has been seen and
// superseded. Because a context always supersedes a *prefix* of an actor's
// dots, this per-actor (seen prefix, live suffix) form is exact, and merge is
// a join-semilattice: commutative, associative and idempotent. Read repair,
// hinted handoff, anti-entropy and streaming are therefore all just merge().
//
// Why a DVVSet rather than one vector clock per sibling: a coordinator's new
// dot is unique per (actor, counter), so two blind writes through the same node
// stay two siblings (no false dominance) and one write never multiplies into
// false siblings (no "sibling explosion"), with one counter per actor per key.
//
// Invariants (from_entries() checks them on untrusted input):
//   1. entries sorted by actor, strictly ascending;
//   2. every entry's counter >= 1;
//   3. versions.size() <= counter;
//   4. a tombstone carries an empty value.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "version/version_vector.h"

namespace ringkv {

struct Version {
  std::string value;          // the client's bytes; empty for a tombstone
  bool tombstone = false;     // a delete is a version too (docs/ARCHITECTURE.md)
  uint64_t timestamp_ms = 0;  // coordinator wall time; orders versions only in lww stores
  friend bool operator==(const Version&, const Version&) = default;
  friend auto operator<=>(const Version&, const Version&) = default;
};

// A live version with its dot; points into the SiblingSet it came from.
struct Sibling {
  Dot dot;
  const Version* version = nullptr;
};

class SiblingSet {
 public:
  struct ActorEntry {
    ActorId actor = 0;
    uint64_t counter = 0;
    std::vector<Version> versions;  // newest first; versions[k] has dot (actor, counter - k)
    friend bool operator==(const ActorEntry&, const ActorEntry&) = default;
  };

  SiblingSet() = default;
  // Builds from untrusted entries (a decoded record); false if an invariant is broken.
  static bool from_entries(std::vector<ActorEntry> entries, SiblingSet& out);

  // Every dot this set has seen (live or superseded).
  VersionVector context() const;
  // The context handed to a client: context(), but at most
  // kActorsPerKeyMax entries so that every context the node emits decodes.
  // Over the cap, actors with live versions come first. Leaving an entry out
  // is safe: a put with the shorter context supersedes less, so a version it
  // would have covered stays a sibling (a false conflict, never a loss).
  VersionVector client_context() const;

  // A coordinator's write. Discards exactly the versions whose dots `seen`
  // covers, remembers `seen` as seen, and adds `version` under a new dot of
  // `actor` that is greater than any dot of `actor` this set or `seen` knows.
  // Returns the new dot. A blind put passes an empty `seen`.
  // REQUIRES: next_counter(seen, actor) <= kCounterMax.
  Dot put(const VersionVector& seen, ActorId actor, Version version);
  // The counter put(seen, actor, ...) would give its new dot.
  uint64_t next_counter(const VersionVector& seen, ActorId actor) const;

  // Joins `other` into this set (replica synchronisation).
  void merge(const SiblingSet& other);
  static SiblingSet merged(SiblingSet left, const SiblingSet& right) {
    left.merge(right);
    return left;
  }

  // Live versions in canonical order (actor ascending, newest dot first).
  std::vector<Sibling> siblings() const;
  size_t sibling_count() const;
  // When the set holds exactly one version and it is live: that version's
  // value, moved out (the version is left with an empty value); otherwise
  // std::nullopt and the set is unchanged. For a reply that needs nothing
  // else of the set.
  std::optional<std::string> take_only_value();
  bool empty() const { return entries_.empty(); }
  // True when there is at least one version and every live version is a tombstone.
  bool all_tombstones() const;
  // Last-writer-wins resolution: the version with the greatest
  // (timestamp_ms, actor, counter); std::nullopt when nothing is live.
  std::optional<Sibling> lww_winner() const;

  // Actors whose every version here is superseded: their entries say only
  // "dots up to counter seen". Clock pruning (docs/ARCHITECTURE.md,
  // "Version clocks stay small") drops such entries once every copy of the
  // key agrees; see drop_superseded().
  std::vector<ActorId> superseded_actors() const;
  // Removes the entries of `actors` (ascending) that hold no live version;
  // true when any was removed. An entry that regained a version stays.
  bool drop_superseded(std::span<const ActorId> actors);

  std::span<const ActorEntry> entries() const { return entries_; }
  friend bool operator==(const SiblingSet&, const SiblingSet&) = default;

 private:
  std::vector<ActorEntry> entries_;
};

}  // namespace ringkv
