#include "version/sibling_set.h"

#include <algorithm>
#include <tuple>

#include "common/check.h"

namespace ringkv {
namespace {

using ActorEntry = SiblingSet::ActorEntry;

// The first dot counter of `entry` that is seen and superseded ("discarded prefix").
uint64_t superseded_through(const ActorEntry& entry) {
  return entry.counter - entry.versions.size();
}

// Joins two entries of the same actor (see the header: seen prefix, live suffix).
ActorEntry join_entries(const ActorEntry& left, const ActorEntry& right) {
  RINGKV_ASSERT(left.actor == right.actor, "entries of one actor are merged");
  const uint64_t counter = std::max(left.counter, right.counter);
  const uint64_t superseded = std::max(superseded_through(left), superseded_through(right));
  const size_t live_count = static_cast<size_t>(counter - superseded);
  ActorEntry joined{left.actor, counter, {}};
  // The side(s) with the highest counter hold every live dot. With equal
  // counters both hold the same dots; choosing the smaller keeps merge
  // commutative even for (malformed) inputs that disagree on a dot's value.
  const bool use_left =
      left.counter > right.counter ||
      (left.counter == right.counter &&
       !std::lexicographical_compare(right.versions.begin(), right.versions.begin() + live_count,
                                     left.versions.begin(), left.versions.begin() + live_count));
  const ActorEntry& source = use_left ? left : right;
  joined.versions.assign(source.versions.begin(), source.versions.begin() + live_count);
  return joined;
}

}  // namespace

bool SiblingSet::from_entries(std::vector<ActorEntry> entries, SiblingSet& out) {
  for (size_t index = 0; index < entries.size(); ++index) {
    const ActorEntry& entry = entries[index];
    if (entry.counter == 0 || entry.versions.size() > entry.counter)
      return false;
    if (index > 0 && entries[index - 1].actor >= entry.actor)
      return false;
    for (const Version& version : entry.versions) {
      if (version.tombstone && !version.value.empty())
        return false;
    }
  }
  out.entries_ = std::move(entries);
  return true;
}

VersionVector SiblingSet::context() const {
  std::vector<VersionVector::Entry> seen;
  seen.reserve(entries_.size());
  for (const ActorEntry& entry : entries_)
    seen.push_back({entry.actor, entry.counter});
  return VersionVector(std::move(seen));
}

VersionVector SiblingSet::client_context() const {
  if (entries_.size() <= kActorsPerKeyMax)
    return context();
  std::vector<VersionVector::Entry> live, seen_only;
  for (const ActorEntry& entry : entries_)
    (entry.versions.empty() ? seen_only : live).push_back({entry.actor, entry.counter});
  std::vector<VersionVector::Entry> kept;
  kept.reserve(kActorsPerKeyMax);
  for (const auto* group : {&live, &seen_only}) {
    for (const VersionVector::Entry& entry : *group) {
      if (kept.size() == kActorsPerKeyMax)
        break;
      kept.push_back(entry);
    }
  }
  std::sort(kept.begin(), kept.end(),
            [](const VersionVector::Entry& a, const VersionVector::Entry& b) {
              return a.actor < b.actor;
            });
  return VersionVector(std::move(kept));
}

Dot SiblingSet::put(const VersionVector& seen, ActorId actor, Version version) {
  RINGKV_ASSERT(!version.tombstone || version.value.empty(), "a tombstone carries no value");
  // 1. Discard what `seen` covers and remember `seen` (merge it in as entries
  //    with no live versions), so the knowledge survives later merges.
  std::vector<ActorEntry> next;
  next.reserve(entries_.size() + seen.size() + 1);
  auto known = seen.entries();
  size_t seen_index = 0;
  for (ActorEntry& entry : entries_) {
    while (seen_index < known.size() && known[seen_index].actor < entry.actor) {
      next.push_back({known[seen_index].actor, known[seen_index].counter, {}});
      ++seen_index;
    }
    uint64_t seen_counter = 0;
    if (seen_index < known.size() && known[seen_index].actor == entry.actor) {
      seen_counter = known[seen_index++].counter;
    }
    if (seen_counter >= entry.counter) {
      entry.versions.clear();
      entry.counter = seen_counter;
    } else {
      const auto keep = static_cast<size_t>(entry.counter - seen_counter);
      if (entry.versions.size() > keep)
        entry.versions.resize(keep);
    }
    next.push_back(std::move(entry));
  }
  for (; seen_index < known.size(); ++seen_index) {
    next.push_back({known[seen_index].actor, known[seen_index].counter, {}});
  }
  // 2. The new event of `actor`.
  auto found = std::lower_bound(
      next.begin(), next.end(), actor,
      [](const ActorEntry& entry, ActorId wanted) { return entry.actor < wanted; });
  if (found == next.end() || found->actor != actor) {
    found = next.insert(found, ActorEntry{actor, 0, {}});
  }
  RINGKV_ASSERT(found->counter < kCounterMax, "caller must check next_counter()");
  found->counter += 1;
  found->versions.insert(found->versions.begin(), std::move(version));
  const Dot dot{actor, found->counter};
  entries_ = std::move(next);
  return dot;
}

uint64_t SiblingSet::next_counter(const VersionVector& seen, ActorId actor) const {
  uint64_t counter = seen.get(actor);
  for (const ActorEntry& entry : entries_) {
    if (entry.actor == actor)
      counter = std::max(counter, entry.counter);
  }
  return counter + 1;
}

void SiblingSet::merge(const SiblingSet& other) {
  std::vector<ActorEntry> merged;
  merged.reserve(entries_.size() + other.entries_.size());
  size_t left = 0;
  size_t right = 0;
  while (left < entries_.size() || right < other.entries_.size()) {
    if (right == other.entries_.size() ||
        (left < entries_.size() && entries_[left].actor < other.entries_[right].actor)) {
      merged.push_back(std::move(entries_[left++]));
    } else if (left == entries_.size() || other.entries_[right].actor < entries_[left].actor) {
      merged.push_back(other.entries_[right++]);
    } else {
      merged.push_back(join_entries(entries_[left++], other.entries_[right++]));
    }
  }
  entries_ = std::move(merged);
}

std::vector<Sibling> SiblingSet::siblings() const {
  std::vector<Sibling> out;
  out.reserve(sibling_count());
  for (const ActorEntry& entry : entries_) {
    for (size_t index = 0; index < entry.versions.size(); ++index) {
      out.push_back({Dot{entry.actor, entry.counter - index}, &entry.versions[index]});
    }
  }
  return out;
}

size_t SiblingSet::sibling_count() const {
  size_t count = 0;
  for (const ActorEntry& entry : entries_)
    count += entry.versions.size();
  return count;
}

std::optional<std::string> SiblingSet::take_only_value() {
  Version* only = nullptr;
  for (ActorEntry& entry : entries_) {
    for (Version& version : entry.versions) {
      if (only != nullptr)
        return std::nullopt;
      only = &version;
    }
  }
  if (only == nullptr || only->tombstone)
    return std::nullopt;
  return std::move(only->value);
}

std::vector<ActorId> SiblingSet::superseded_actors() const {
  std::vector<ActorId> out;
  for (const ActorEntry& entry : entries_) {
    if (entry.versions.empty())
      out.push_back(entry.actor);
  }
  return out;
}

bool SiblingSet::drop_superseded(std::span<const ActorId> actors) {
  const size_t before = entries_.size();
  std::erase_if(entries_, [&](const ActorEntry& entry) {
    return entry.versions.empty() && std::binary_search(actors.begin(), actors.end(), entry.actor);
  });
  return entries_.size() != before;
}

bool SiblingSet::all_tombstones() const {
  bool any = false;
  for (const ActorEntry& entry : entries_) {
    for (const Version& version : entry.versions) {
      if (!version.tombstone)
        return false;
      any = true;
    }
  }
  return any;
}

std::optional<Sibling> SiblingSet::lww_winner() const {
  std::optional<Sibling> winner;
  for (const Sibling& sibling : siblings()) {
    if (!winner || std::tie(sibling.version->timestamp_ms, sibling.dot) >
                       std::tie(winner->version->timestamp_ms, winner->dot)) {
      winner = sibling;
    }
  }
  return winner;
}

}  // namespace ringkv
