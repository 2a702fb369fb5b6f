// Version vectors and dots: the causal bookkeeping of every stored version.
//
// A dot (actor, counter) names one write: the counter-th event of one actor (a
// node's storage identity, see docs/ARCHITECTURE.md "Actor identity is sacred"). A
// version vector maps actors to the highest counter seen; it "covers" a dot
// when its entry for the dot's actor is at least the dot's counter. The client
// context is a version vector (context.h).
//
// Invariants of a VersionVector:
//   1. entries are sorted by actor, strictly ascending (one entry per actor);
//   2. every counter is >= 1 (an absent actor means 0).
// These make equality structural and the encoding canonical.
//
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace ringkv {

using ActorId = uint64_t;

// The largest counter a clock may hold. Contexts and records with a larger one
// are rejected as malformed, so `counter + 1` can never wrap (no actor makes
// 2^62 writes to one key) and a forged context cannot brick a key.
inline constexpr uint64_t kCounterMax = uint64_t{1} << 62;
// The most entries a context the node emits or accepts may name (decoders
// reject more). A stored clock is not capped by this: it is kept small by how
// actors are made (one per node epoch, docs/ARCHITECTURE.md), and the context
// handed out for a larger one leaves entries out (SiblingSet::client_context),
// which can only turn an ordered pair into siblings, never lose a version.
// Bounds every context the server emits to ~6 KiB of base64url, under the
// 8 KiB the server accepts.
inline constexpr size_t kActorsPerKeyMax = 256;

struct Dot {
  ActorId actor = 0;
  uint64_t counter = 0;
  friend bool operator==(const Dot&, const Dot&) = default;
  friend auto operator<=>(const Dot&, const Dot&) = default;
};

enum class CausalOrder { equal, before, after, concurrent };

class VersionVector {
 public:
  struct Entry {
    ActorId actor = 0;
    uint64_t counter = 0;
    friend bool operator==(const Entry&, const Entry&) = default;
  };

  VersionVector() = default;
  // REQUIRES: `entries` satisfies the invariants above (see from_entries for untrusted input).
  explicit VersionVector(std::vector<Entry> entries);
  // Builds from untrusted entries; false if they break an invariant.
  static bool from_entries(std::vector<Entry> entries, VersionVector& out);

  uint64_t get(ActorId actor) const;
  // Raises the entry of `actor` to at least `counter` (no-op for counter 0).
  void raise(ActorId actor, uint64_t counter);
  bool covers(const Dot& dot) const { return get(dot.actor) >= dot.counter; }
  // True when this vector has seen everything `other` has (this >= other).
  bool descends(const VersionVector& other) const;
  CausalOrder compare(const VersionVector& other) const;
  // Pointwise maximum (least upper bound).
  void merge(const VersionVector& other);

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  std::span<const Entry> entries() const { return entries_; }

  friend bool operator==(const VersionVector&, const VersionVector&) = default;

 private:
  std::vector<Entry> entries_;
};

}  // namespace ringkv
