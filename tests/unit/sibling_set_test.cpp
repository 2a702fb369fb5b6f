// Unit tests of SiblingSet (DVVSet): the scenarios a client lives through.
#include <gtest/gtest.h>

#include <algorithm>

#include "version/sibling_set.h"

namespace ringkv {
namespace {

constexpr ActorId kNodeA = 0xA;
constexpr ActorId kNodeB = 0xB;

Version value(std::string text) {
  return Version{std::move(text), false, 0};
}

std::vector<std::string> values(const SiblingSet& set) {
  std::vector<std::string> out;
  for (const Sibling& sibling : set.siblings()) {
    out.push_back(sibling.version->tombstone ? "<deleted>" : sibling.version->value);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(SiblingSet, BlindPutsThroughOneNodeBecomeSiblings) {
  SiblingSet set;
  const Dot first = set.put({}, kNodeA, value("x"));
  const Dot second = set.put({}, kNodeA, value("y"));
  EXPECT_EQ(first, (Dot{kNodeA, 1}));
  EXPECT_EQ(second, (Dot{kNodeA, 2}));
  EXPECT_EQ(values(set), (std::vector<std::string>{"x", "y"}));
}

TEST(SiblingSet, TakeOnlyValueMovesTheOneLiveValueAndNothingElse) {
  SiblingSet empty;
  EXPECT_EQ(empty.take_only_value(), std::nullopt);

  SiblingSet one;
  one.put({}, kNodeA, value("x"));
  const VersionVector context = one.context();
  EXPECT_EQ(one.take_only_value(), std::optional<std::string>("x"));
  EXPECT_EQ(one.context(), context) << "the clock stays";

  SiblingSet two;
  two.put({}, kNodeA, value("x"));
  two.put({}, kNodeB, value("y"));
  const SiblingSet before = two;
  EXPECT_EQ(two.take_only_value(), std::nullopt);
  EXPECT_EQ(two, before);

  SiblingSet deleted;
  deleted.put({}, kNodeA, Version{"", true, 0});
  const SiblingSet deleted_before = deleted;
  EXPECT_EQ(deleted.take_only_value(), std::nullopt);
  EXPECT_EQ(deleted, deleted_before);

  // A superseded entry with no versions left does not count as a version.
  SiblingSet superseded;
  superseded.put({}, kNodeA, value("old"));
  superseded.put(superseded.context(), kNodeB, value("new"));
  EXPECT_EQ(superseded.take_only_value(), std::optional<std::string>("new"));
}

TEST(SiblingSet, PutWithReadContextSupersedesExactlyWhatWasRead) {
  SiblingSet set;
  set.put({}, kNodeA, value("x"));
  set.put({}, kNodeB, value("y"));
  const VersionVector read = set.context();
  set.put({}, kNodeA, value("concurrent"));  // written after the read
  set.put(read, kNodeA, value("merged"));
  EXPECT_EQ(values(set), (std::vector<std::string>{"concurrent", "merged"}));
}

TEST(SiblingSet, DynamoPaperScenario) {
  // D1, D2 through Sx; D3 through Sy and D4 through Sz, both from D2; D5 merges.
  constexpr ActorId sx = 1, sy = 2, sz = 3;
  SiblingSet at_x;
  at_x.put({}, sx, value("D1"));
  const VersionVector d1 = at_x.context();
  at_x.put(d1, sx, value("D2"));
  const VersionVector d2 = at_x.context();
  SiblingSet at_y = at_x;
  SiblingSet at_z = at_x;
  at_y.put(d2, sy, value("D3"));
  at_z.put(d2, sz, value("D4"));
  SiblingSet reconciled = SiblingSet::merged(at_y, at_z);
  EXPECT_EQ(values(reconciled), (std::vector<std::string>{"D3", "D4"}));
  reconciled.put(reconciled.context(), sx, value("D5"));
  EXPECT_EQ(values(reconciled), (std::vector<std::string>{"D5"}));
  EXPECT_EQ(reconciled.context().get(sx), 3u);
  // An old replica merging in never brings superseded versions back.
  EXPECT_EQ(values(SiblingSet::merged(reconciled, at_x)), (std::vector<std::string>{"D5"}));
}

TEST(SiblingSet, ContextFromAnotherReplicaIsRemembered) {
  // A client read {B:1} elsewhere; node A never saw B's write yet.
  SiblingSet at_b;
  at_b.put({}, kNodeB, value("b"));
  SiblingSet at_a;
  at_a.put(at_b.context(), kNodeA, value("a"));
  EXPECT_EQ(at_a.context().get(kNodeB), 1u);
  // When B's version arrives it is recognised as superseded.
  EXPECT_EQ(values(SiblingSet::merged(at_a, at_b)), (std::vector<std::string>{"a"}));
}

TEST(SiblingSet, DeleteIsATombstoneVersion) {
  SiblingSet set;
  set.put({}, kNodeA, value("x"));
  set.put(set.context(), kNodeA, Version{"", true, 0});
  EXPECT_TRUE(set.all_tombstones());
  EXPECT_EQ(set.sibling_count(), 1u);
  EXPECT_EQ(set.context().get(kNodeA), 2u);
  // A concurrent write survives a delete that did not see it.
  SiblingSet other;
  other.put({}, kNodeB, value("late"));
  const SiblingSet merged = SiblingSet::merged(set, other);
  EXPECT_FALSE(merged.all_tombstones());
  EXPECT_EQ(values(merged), (std::vector<std::string>{"<deleted>", "late"}));
}

TEST(SiblingSet, NewDotExceedsAnythingTheContextKnows) {
  SiblingSet set;
  VersionVector seen;
  seen.raise(kNodeA, 41);  // e.g. the node's earlier writes were collected elsewhere
  EXPECT_EQ(set.put(seen, kNodeA, value("x")), (Dot{kNodeA, 42}));
}

TEST(SiblingSet, MergeWithSelfAndEmptyChangesNothing) {
  SiblingSet set;
  set.put({}, kNodeA, value("x"));
  set.put({}, kNodeB, value("y"));
  EXPECT_EQ(SiblingSet::merged(set, set), set);
  EXPECT_EQ(SiblingSet::merged(set, SiblingSet()), set);
  EXPECT_EQ(SiblingSet::merged(SiblingSet(), set), set);
}

TEST(SiblingSet, LwwWinnerIsLatestTimestampThenDot) {
  SiblingSet set;
  set.put({}, kNodeA, Version{"old", false, 100});
  set.put({}, kNodeB, Version{"new", false, 200});
  set.put({}, kNodeA, Version{"tie-low", false, 150});
  ASSERT_TRUE(set.lww_winner());
  EXPECT_EQ(set.lww_winner()->version->value, "new");
  SiblingSet tie;
  tie.put({}, kNodeA, Version{"a", false, 5});
  tie.put({}, kNodeB, Version{"b", false, 5});
  EXPECT_EQ(tie.lww_winner()->version->value, "b");  // higher actor breaks the tie
  EXPECT_FALSE(SiblingSet().lww_winner());
}

TEST(SiblingSet, FromEntriesChecksInvariants) {
  SiblingSet out;
  using Entry = SiblingSet::ActorEntry;
  EXPECT_FALSE(SiblingSet::from_entries({Entry{1, 0, {}}}, out));
  EXPECT_FALSE(SiblingSet::from_entries({Entry{1, 1, {value("a"), value("b")}}}, out));
  EXPECT_FALSE(SiblingSet::from_entries({Entry{2, 1, {}}, Entry{1, 1, {}}}, out));
  EXPECT_FALSE(SiblingSet::from_entries({Entry{1, 1, {Version{"x", true, 0}}}}, out));
  EXPECT_TRUE(SiblingSet::from_entries({Entry{1, 3, {value("c"), value("b")}}}, out));
  EXPECT_EQ(out.siblings()[1].dot, (Dot{1, 2}));
}

}  // namespace
}  // namespace ringkv
