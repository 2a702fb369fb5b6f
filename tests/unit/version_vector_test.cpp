// Unit tests of VersionVector: dominance, merge, invariants.
#include <gtest/gtest.h>

#include "version/version_vector.h"

namespace ringkv {
namespace {

VersionVector vv(std::vector<VersionVector::Entry> entries) {
  return VersionVector(std::move(entries));
}

TEST(VersionVector, GetRaiseAndCovers) {
  VersionVector clock;
  EXPECT_EQ(clock.get(7), 0u);
  clock.raise(7, 3);
  clock.raise(2, 1);
  clock.raise(7, 2);  // never lowers
  EXPECT_EQ(clock.get(7), 3u);
  EXPECT_EQ(clock.get(2), 1u);
  EXPECT_EQ(clock.entries()[0].actor, 2u);  // sorted
  EXPECT_TRUE(clock.covers(Dot{7, 3}));
  EXPECT_FALSE(clock.covers(Dot{7, 4}));
  EXPECT_FALSE(clock.covers(Dot{9, 1}));
}

TEST(VersionVector, CompareGivesAllFourOrders) {
  const auto a = vv({{1, 2}, {2, 1}});
  EXPECT_EQ(a.compare(a), CausalOrder::equal);
  EXPECT_EQ(a.compare(vv({{1, 1}})), CausalOrder::after);
  EXPECT_EQ(vv({{1, 1}}).compare(a), CausalOrder::before);
  EXPECT_EQ(a.compare(vv({{1, 1}, {3, 1}})), CausalOrder::concurrent);
  EXPECT_EQ(VersionVector().compare(a), CausalOrder::before);
}

TEST(VersionVector, MergeIsPointwiseMax) {
  auto a = vv({{1, 2}, {3, 1}});
  a.merge(vv({{1, 1}, {2, 5}, {3, 4}}));
  EXPECT_EQ(a, vv({{1, 2}, {2, 5}, {3, 4}}));
}

TEST(VersionVector, FromEntriesRejectsUnsortedDuplicateAndZero) {
  VersionVector out;
  EXPECT_FALSE(VersionVector::from_entries({{2, 1}, {1, 1}}, out));
  EXPECT_FALSE(VersionVector::from_entries({{1, 1}, {1, 2}}, out));
  EXPECT_FALSE(VersionVector::from_entries({{1, 0}}, out));
  EXPECT_TRUE(VersionVector::from_entries({{1, 1}, {2, 9}}, out));
  EXPECT_EQ(out.get(2), 9u);
}

}  // namespace
}  // namespace ringkv
