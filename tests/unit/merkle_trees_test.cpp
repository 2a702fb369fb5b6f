// MerkleTrees (cluster/merkle_trees.h), the core's component that keeps the
// trees of a node's partitions equal to its disk: whatever the order of
// writes, tree builds and completions, a maintained tree equals one built
// fresh from the disk.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "cluster/merkle_trees.h"
#include "storage/data_key.h"
#include "storage/memory_engine.h"

namespace ringkv {
namespace {

constexpr StoreId kStore = 7;
constexpr uint32_t kBits = 2;  // four partitions

uint32_t partition_of_key(const std::string& key) {
  return partition_of(decode_data_key(encode_data_key(kStore, key))->digest, kBits);
}

// What a tree built now from the engine's data would hold.
uint64_t fresh_root(Engine& engine, uint32_t partition) {
  MerkleTrees fresh(engine);
  return fresh.get(kStore, partition, kBits).root();
}

class MerkleTreesTest : public ::testing::Test {
 protected:
  // Issues a write of `key` (replacing what is stored), optionally lets a
  // tree build happen while it is in flight, then completes it.
  void write(const std::string& key, const std::string* value, bool build_in_flight,
             bool fail = false) {
    const std::string data_key = encode_data_key(kStore, key);
    auto old = engine_.get(Column::data, data_key);
    const std::string old_record = old.ok() && old.value() ? *old.value() : "";
    trees_.write_issued(kStore, key, data_key, old_record, value, kBits);
    if (!fail) {
      WriteBatch batch;
      if (value != nullptr)
        batch.push_back({Column::data, data_key, *value});
      else
        batch.push_back({Column::data, data_key, "", true});
      ASSERT_TRUE(engine_.write(batch, true).ok());
    }
    if (build_in_flight) {
      trees_.rebuild_all();
      (void)trees_.get(kStore, partition_of_key(key), kBits);
    }
    trees_.write_done(kStore, data_key, !fail, kBits);
  }

  MemoryEngine engine_;
  MerkleTrees trees_{engine_};
};

TEST_F(MerkleTreesTest, AMaintainedTreeEqualsAFreshBuildWhateverTheOrder) {
  std::mt19937_64 random(42);
  for (uint32_t partition = 0; partition < 4; ++partition)
    (void)trees_.get(kStore, partition, kBits);  // built empty, then maintained
  for (int step = 0; step < 400; ++step) {
    const std::string key = fmt::format("k{}", random() % 40);
    const std::string value = fmt::format("v{}", step);
    const bool erase = random() % 5 == 0;
    write(key, erase ? nullptr : &value, /*build_in_flight=*/random() % 7 == 0,
          /*fail=*/random() % 11 == 0);
  }
  for (uint32_t partition = 0; partition < 4; ++partition) {
    EXPECT_EQ(trees_.get(kStore, partition, kBits).root(), fresh_root(engine_, partition))
        << "partition " << partition;
  }
  EXPECT_NE(fresh_root(engine_, 0) ^ fresh_root(engine_, 1) ^ fresh_root(engine_, 2) ^
                fresh_root(engine_, 3),
            0u);  // the keys landed somewhere
  EXPECT_GT(trees_.counters().builds, 4u);
}

TEST_F(MerkleTreesTest, AnUnreadablePartitionGetsATreeThatIsNeverKept) {
  const std::string value = "v";
  write("a", &value, false);
  engine_.set_fail_scans(true);
  const uint32_t partition = partition_of_key("a");
  MerkleTree& stand_in = trees_.get(kStore, partition, kBits);
  EXPECT_TRUE(trees_.unreadable(stand_in));
  EXPECT_FALSE(trees_.has(kStore, partition));
  EXPECT_EQ(trees_.counters().scan_failures, 1u);
  engine_.set_fail_scans(false);
  MerkleTree& real = trees_.get(kStore, partition, kBits);
  EXPECT_FALSE(trees_.unreadable(real));
  EXPECT_EQ(real.root(), fresh_root(engine_, partition));
  // A maintained tree survives a failed rebuild scan.
  trees_.rebuild_all();
  engine_.set_fail_scans(true);
  EXPECT_FALSE(trees_.unreadable(trees_.get(kStore, partition, kBits)));
  engine_.set_fail_scans(false);
  trees_.forget(kStore, partition);
  EXPECT_FALSE(trees_.has(kStore, partition));
}

}  // namespace
}  // namespace ringkv
