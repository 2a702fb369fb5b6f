// KeyLocks (cluster/key_locks.h): one write per key in flight, waiters in
// arrival order, a bounded queue per key.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cluster/key_locks.h"

namespace ringkv {
namespace {

TEST(KeyLocksTest, WaitersRunOneAtATimeInArrivalOrder) {
  KeyLocks locks;
  std::vector<std::string> ran;
  EXPECT_FALSE(locks.run_or_queue("k", [&] { ran.push_back("first"); }));
  EXPECT_TRUE(locks.run_or_queue("k", [&] { ran.push_back("second"); }));
  EXPECT_TRUE(locks.run_or_queue("k", [&] { ran.push_back("third"); }));
  EXPECT_FALSE(locks.run_or_queue("other", [&] { ran.push_back("other"); }));
  EXPECT_EQ(ran, (std::vector<std::string>{"first", "other"}));
  locks.release("k");
  EXPECT_EQ(ran.back(), "second");
  locks.release("k");
  EXPECT_EQ(ran.back(), "third");
  EXPECT_TRUE(locks.held("k"));
  locks.release("k");
  EXPECT_FALSE(locks.held("k"));
  locks.release("k");  // a stray release changes nothing
  EXPECT_FALSE(locks.run_or_queue("k", [&] { ran.push_back("again"); }));
  EXPECT_EQ(ran.back(), "again");
}

TEST(KeyLocksTest, AFullQueueOfWaitersIsRefusedAsOverloaded) {
  KeyLocks locks;
  EXPECT_TRUE(locks.room("k").ok());
  (void)locks.run_or_queue("k", [] {});
  for (size_t waiter = 0; waiter < KeyLocks::kWaitersMax; ++waiter) {
    ASSERT_TRUE(locks.room("k").ok());
    (void)locks.run_or_queue("k", [] {});
  }
  const Status refused = locks.room("k");
  EXPECT_EQ(refused.code(), Code::overloaded);
  EXPECT_NE(refused.message().find("retry"), std::string::npos);
  EXPECT_TRUE(locks.room("other").ok());
  locks.release("k");
  EXPECT_TRUE(locks.room("k").ok());
}

}  // namespace
}  // namespace ringkv
