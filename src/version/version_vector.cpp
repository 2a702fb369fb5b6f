#include "version/version_vector.h"

#include <algorithm>
#include <cassert>

namespace ringkv {
namespace {

bool well_formed(const std::vector<VersionVector::Entry>& entries) {
  for (size_t index = 0; index < entries.size(); ++index) {
    if (entries[index].counter == 0)
      return false;
    if (index > 0 && entries[index - 1].actor >= entries[index].actor)
      return false;
  }
  return true;
}

}  // namespace

VersionVector::VersionVector(std::vector<Entry> entries) : entries_(std::move(entries)) {
  assert(well_formed(entries_));  // O(entries): a debug-build check (common/check.h)
}

bool VersionVector::from_entries(std::vector<Entry> entries, VersionVector& out) {
  if (!well_formed(entries))
    return false;
  out.entries_ = std::move(entries);
  return true;
}

uint64_t VersionVector::get(ActorId actor) const {
  const auto found =
      std::lower_bound(entries_.begin(), entries_.end(), actor,
                       [](const Entry& entry, ActorId wanted) { return entry.actor < wanted; });
  return found != entries_.end() && found->actor == actor ? found->counter : 0;
}

void VersionVector::raise(ActorId actor, uint64_t counter) {
  if (counter == 0)
    return;
  const auto found =
      std::lower_bound(entries_.begin(), entries_.end(), actor,
                       [](const Entry& entry, ActorId wanted) { return entry.actor < wanted; });
  if (found != entries_.end() && found->actor == actor) {
    found->counter = std::max(found->counter, counter);
  } else {
    entries_.insert(found, Entry{actor, counter});
  }
}

bool VersionVector::descends(const VersionVector& other) const {
  // Both sorted: walk them together; every entry of `other` needs a >= entry here.
  size_t mine = 0;
  for (const Entry& theirs : other.entries_) {
    while (mine < entries_.size() && entries_[mine].actor < theirs.actor)
      ++mine;
    if (mine == entries_.size() || entries_[mine].actor != theirs.actor ||
        entries_[mine].counter < theirs.counter) {
      return false;
    }
  }
  return true;
}

CausalOrder VersionVector::compare(const VersionVector& other) const {
  const bool this_descends = descends(other);
  const bool other_descends = other.descends(*this);
  if (this_descends && other_descends)
    return CausalOrder::equal;
  if (this_descends)
    return CausalOrder::after;
  if (other_descends)
    return CausalOrder::before;
  return CausalOrder::concurrent;
}

void VersionVector::merge(const VersionVector& other) {
  std::vector<Entry> merged;
  merged.reserve(entries_.size() + other.entries_.size());
  size_t left = 0;
  size_t right = 0;
  while (left < entries_.size() || right < other.entries_.size()) {
    if (right == other.entries_.size() ||
        (left < entries_.size() && entries_[left].actor < other.entries_[right].actor)) {
      merged.push_back(entries_[left++]);
    } else if (left == entries_.size() || other.entries_[right].actor < entries_[left].actor) {
      merged.push_back(other.entries_[right++]);
    } else {
      merged.push_back(Entry{entries_[left].actor,
                             std::max(entries_[left].counter, other.entries_[right].counter)});
      ++left;
      ++right;
    }
  }
  entries_ = std::move(merged);
}

}  // namespace ringkv
