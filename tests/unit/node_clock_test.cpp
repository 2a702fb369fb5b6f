// Unit tests of NodeClock: the core's time does not follow wall-clock steps
// within a run, and each run starts after everything earlier runs recorded.
#include <gtest/gtest.h>

#include "server/node_clock.h"
#include "storage/memory_engine.h"

namespace ringkv {
namespace {

TEST(NodeClock, AdvancesByTheMonotonicClockAndIgnoresWallSteps) {
  MemoryEngine engine;
  uint64_t wall = 1'000'000, monotonic = 5;
  auto clock = NodeClock::start(
      engine, [&] { return wall; }, [&] { return monotonic; });
  ASSERT_TRUE(clock.ok()) << clock.status().to_string();
  EXPECT_EQ(clock->start_ms(), 1'000'000u);
  wall -= 600'000;  // NTP steps the wall clock ten minutes back
  monotonic += 250;
  EXPECT_EQ(clock->now_ms(), 1'000'250u);  // deadlines and gossip keep their pace
}

TEST(NodeClock, EachStartIsLaterThanEverythingEarlierRunsRecorded) {
  MemoryEngine engine;
  uint64_t wall = 10'000'000, monotonic = 0;
  auto first = NodeClock::start(
      engine, [&] { return wall; }, [&] { return monotonic; });
  ASSERT_TRUE(first.ok());
  monotonic += 90'000;
  ASSERT_TRUE(first->record(engine).ok());  // a clean stop at 10'090'000
  // The machine restarts with its clock an hour behind.
  wall = 10'000'000 - 3'600'000;
  auto second = NodeClock::start(
      engine, [&] { return wall; }, [&] { return monotonic; });
  ASSERT_TRUE(second.ok());
  EXPECT_GT(second->start_ms(), 10'090'000u);  // a higher generation: peers accept it
  // An unclean stop records nothing more; the next start still passes the
  // last start.
  auto third = NodeClock::start(
      engine, [&] { return wall; }, [&] { return monotonic; });
  ASSERT_TRUE(third.ok());
  EXPECT_GT(third->start_ms(), second->start_ms());
  // A wall clock ahead of everything recorded wins.
  wall = 50'000'000;
  auto fourth = NodeClock::start(
      engine, [&] { return wall; }, [&] { return monotonic; });
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(fourth->start_ms(), 50'000'000u);
}

TEST(NodeClock, ACorruptRecordIsRefused) {
  MemoryEngine engine;
  WriteBatch batch;
  batch.push_back({Column::meta, "node/clock_ms", "short"});
  ASSERT_TRUE(engine.write(batch, true).ok());
  auto clock = NodeClock::start(
      engine, [] { return uint64_t{1}; }, [] { return uint64_t{1}; });
  ASSERT_FALSE(clock.ok());
  EXPECT_EQ(clock.status().code(), Code::corruption);
}

}  // namespace
}  // namespace ringkv
