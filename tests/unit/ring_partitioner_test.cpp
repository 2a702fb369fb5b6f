// Unit tests of the partitioner: key → md5 → partition, and partition bounds.
#include <gtest/gtest.h>

#include "ring/partitioner.h"
#include "storage/data_key.h"

namespace ringkv {
namespace {

TEST(RingPartitioner, RejectsTooManyPartitionBits) {
  EXPECT_TRUE(Partitioner::create(kPartitionBitsMax).ok());
  const auto refused = Partitioner::create(kPartitionBitsMax + 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::invalid_argument);
}

TEST(RingPartitioner, AgreesWithTheStorageKeyLayout) {
  // The ring and the data key layout must put a key in the same partition, or
  // a partition would not be one contiguous range on disk.
  for (uint32_t bits : {0u, 1u, 10u, 16u, 20u}) {
    const Partitioner partitioner = *Partitioner::create(bits);
    for (int index = 0; index < 200; ++index) {
      const std::string key = "key-" + std::to_string(index);
      EXPECT_EQ(partitioner.partition_of_key(key), partition_of(md5(key), bits)) << key;
    }
  }
}

TEST(RingPartitioner, FirstAndLastPointsBoundEachPartition) {
  const Partitioner partitioner = *Partitioner::create(10);
  EXPECT_EQ(partitioner.partition_count(), 1024u);
  for (uint32_t partition : {0u, 1u, 511u, 1023u}) {
    EXPECT_EQ(partitioner.partition_of_digest(partitioner.first_point(partition)), partition);
    EXPECT_EQ(partitioner.partition_of_digest(partitioner.last_point(partition)), partition);
  }
  // Partition 1 starts right after partition 0 ends.
  Md5Digest after = partitioner.last_point(0);
  for (size_t index = after.size(); index-- > 0;) {
    if (++after[index] != 0)
      break;
  }
  EXPECT_EQ(after, partitioner.first_point(1));
  Md5Digest all_ones;
  all_ones.fill(0xff);
  EXPECT_EQ(partitioner.last_point(1023), all_ones);
}

TEST(RingPartitioner, OnePartitionHoldsTheWholeRing) {
  const Partitioner partitioner = *Partitioner::create(0);
  EXPECT_EQ(partitioner.partition_count(), 1u);
  EXPECT_EQ(partitioner.partition_of_key("anything"), 0u);
  EXPECT_EQ(partitioner.first_point(0), Md5Digest{});
}

}  // namespace
}  // namespace ringkv
