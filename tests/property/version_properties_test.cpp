// Property tests of the version laws: sibling-set merge is a
// join-semilattice, dominance is a partial order, and a put with the context
// of a read supersedes exactly what was read. Inputs are sibling sets grown by
// random histories of puts and merges on three replicas, so they are the sets
// the system can really produce. RapidCheck prints the failing case and the
// seed to replay it (RC_PARAMS="seed=...").
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <array>
#include <set>

#include "version/sibling_set.h"

namespace ringkv {
namespace {

constexpr int kReplicas = 3;
constexpr ActorId kActorBase = 0xA0;

struct Operation {
  int kind =
      0;  // 0 blind put, 1 read-modify-write, 2 merge, 3 put with another's context, 4 delete
  int replica = 0;
  int other = 0;
};

rc::Gen<Operation> operation() {
  return rc::gen::build<Operation>(
      rc::gen::set(&Operation::kind, rc::gen::inRange(0, 5)),
      rc::gen::set(&Operation::replica, rc::gen::inRange(0, kReplicas)),
      rc::gen::set(&Operation::other, rc::gen::inRange(0, kReplicas)));
}

// Three replicas and the writes made so far; histories can be continued, so
// that "after a read" means later in the same history (unique values, unique dots).
struct Cluster {
  std::array<SiblingSet, kReplicas> replicas;
  int serial = 0;

  void apply(const std::vector<Operation>& history) {
    for (const Operation& op : history) {
      SiblingSet& target = replicas[op.replica];
      const ActorId actor = kActorBase + op.replica;
      const auto timestamp = static_cast<uint64_t>(serial);
      Version version{fmt::format("v{}", serial++), false, timestamp};
      switch (op.kind) {
        case 0:
          target.put({}, actor, std::move(version));
          break;
        case 1:
          target.put(target.context(), actor, std::move(version));
          break;
        case 2:
          target.merge(replicas[op.other]);
          break;
        case 3:
          target.put(replicas[op.other].context(), actor, std::move(version));
          break;
        default:
          target.put(target.context(), actor, Version{"", true, timestamp});
          break;
      }
    }
  }
};

std::array<SiblingSet, kReplicas> arbitrary_replicas() {
  Cluster cluster;
  cluster.apply(*rc::gen::container<std::vector<Operation>>(operation()));
  return cluster.replicas;
}

std::set<std::pair<Dot, std::string>> dots(const SiblingSet& set) {
  std::set<std::pair<Dot, std::string>> out;
  for (const Sibling& sibling : set.siblings())
    out.insert({sibling.dot, sibling.version->value});
  return out;
}

RC_GTEST_PROP(SiblingSetMerge, IsCommutative, ()) {
  const auto replicas = arbitrary_replicas();
  RC_ASSERT(SiblingSet::merged(replicas[0], replicas[1]) ==
            SiblingSet::merged(replicas[1], replicas[0]));
}

RC_GTEST_PROP(SiblingSetMerge, IsAssociative, ()) {
  const auto r = arbitrary_replicas();
  RC_ASSERT(SiblingSet::merged(SiblingSet::merged(r[0], r[1]), r[2]) ==
            SiblingSet::merged(r[0], SiblingSet::merged(r[1], r[2])));
}

RC_GTEST_PROP(SiblingSetMerge, IsIdempotent, ()) {
  const auto r = arbitrary_replicas();
  RC_ASSERT(SiblingSet::merged(r[0], r[0]) == r[0]);
  const SiblingSet joined = SiblingSet::merged(r[0], r[1]);
  RC_ASSERT(SiblingSet::merged(joined, r[1]) == joined);
}

RC_GTEST_PROP(SiblingSetMerge, ContextIsTheJoinOfContexts, ()) {
  const auto r = arbitrary_replicas();
  VersionVector expected = r[0].context();
  expected.merge(r[1].context());
  RC_ASSERT(SiblingSet::merged(r[0], r[1]).context() == expected);
}

// No lost update: a version survives a merge unless the other side has seen
// its dot (and then it was superseded there, not dropped).
RC_GTEST_PROP(SiblingSetMerge, KeepsEveryVersionTheOtherSideHasNotSeen, ()) {
  const auto r = arbitrary_replicas();
  const auto merged = dots(SiblingSet::merged(r[0], r[1]));
  for (const auto& [left, right] : {std::pair{0, 1}, std::pair{1, 0}}) {
    const auto other_dots = dots(r[right]);
    for (const auto& entry : dots(r[left])) {
      const bool seen_by_other = r[right].context().covers(entry.first);
      const bool kept_by_other = other_dots.count(entry) > 0;
      if (!seen_by_other || kept_by_other)
        RC_ASSERT(merged.count(entry) == 1);
    }
  }
  // And nothing appears from nowhere.
  const auto left = dots(r[0]);
  const auto right = dots(r[1]);
  for (const auto& entry : merged)
    RC_ASSERT(left.count(entry) + right.count(entry) > 0);
}

// A client reads replica 0, the cluster carries on (more writes, merges), then
// the client writes back through replica 0 with its read context. Exactly the
// versions the client was shown are superseded; every other version present,
// older ones it never saw included, survives.
RC_GTEST_PROP(SiblingSetPut, WithReadContextSupersedesExactlyWhatWasRead, ()) {
  Cluster cluster;
  cluster.apply(*rc::gen::container<std::vector<Operation>>(operation()));
  const SiblingSet read_state = cluster.replicas[0];
  const VersionVector read = read_state.context();
  const auto shown = dots(read_state);
  cluster.apply(*rc::gen::container<std::vector<Operation>>(operation()));
  SiblingSet current = cluster.replicas[0];
  current.merge(cluster.replicas[1]);
  current.merge(cluster.replicas[2]);
  const auto before = dots(current);
  const Dot dot = current.put(read, kActorBase, Version{"new", false, 0});
  const auto after = dots(current);
  for (const auto& entry : before) {
    RC_ASSERT(after.count(entry) == (shown.count(entry) ? 0u : 1u));
  }
  RC_ASSERT(after.count({dot, "new"}) == 1);
  RC_ASSERT(after.size() <= before.size() + 1);
}

RC_GTEST_PROP(SiblingSetPut, NewDotIsFreshAndDescendsFromTheContext, ()) {
  auto r = arbitrary_replicas();
  const VersionVector seen = r[1].context();
  const VersionVector before = r[0].context();
  const Dot dot = r[0].put(seen, kActorBase, Version{"x", false, 0});
  RC_ASSERT(dot.counter > before.get(kActorBase));
  RC_ASSERT(dot.counter > seen.get(kActorBase));
  RC_ASSERT(r[0].context().descends(seen));
  RC_ASSERT(r[0].context().descends(before));
}

VersionVector arbitrary_vector() {
  const auto counters =
      *rc::gen::container<std::vector<uint8_t>>(4, rc::gen::inRange<uint8_t>(0, 4));
  VersionVector out;
  for (size_t index = 0; index < counters.size(); ++index)
    out.raise(index + 1, counters[index]);
  return out;
}

RC_GTEST_PROP(Dominance, IsAPartialOrder, ()) {
  const VersionVector a = arbitrary_vector();
  const VersionVector b = arbitrary_vector();
  const VersionVector c = arbitrary_vector();
  RC_ASSERT(a.descends(a));  // reflexive
  if (a.descends(b) && b.descends(a))
    RC_ASSERT(a == b);  // antisymmetric
  if (a.descends(b) && b.descends(c))
    RC_ASSERT(a.descends(c));  // transitive
  VersionVector joined = a;
  joined.merge(b);
  RC_ASSERT(joined.descends(a) && joined.descends(b));  // merge is an upper bound
  if (c.descends(a) && c.descends(b))
    RC_ASSERT(c.descends(joined));  // ...the least one
}

}  // namespace
}  // namespace ringkv
