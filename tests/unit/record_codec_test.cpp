// Unit tests of the on-disk record codec and the data key layout.
#include <gtest/gtest.h>

#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

SiblingSet sample() {
  SiblingSet set;
  set.put({}, 5, Version{"hello", false, 1234});
  set.put({}, 5, Version{std::string("\0bin\xff", 5), false, 99});
  set.put(set.context(), 9, Version{"", true, 7});
  set.put({}, 3, Version{"x", false, 0});
  return set;
}

TEST(RecordCodec, RoundTripsIncludingTombstonesAndBinary) {
  const SiblingSet set = sample();
  auto decoded = decode_record(encode_record(set));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, set);
  EXPECT_TRUE(decode_record(encode_record(SiblingSet())).ok());
}

TEST(RecordCodec, EncodingIsCanonical) {
  // Equal sets built in different orders encode to the same bytes.
  SiblingSet left;
  left.put({}, 1, Version{"a", false, 1});
  SiblingSet right;
  right.put({}, 2, Version{"b", false, 2});
  EXPECT_EQ(encode_record(SiblingSet::merged(left, right)),
            encode_record(SiblingSet::merged(right, left)));
}

TEST(RecordCodec, RejectsEveryTruncationAndTrailingBytes) {
  const std::string bytes = encode_record(sample());
  for (size_t length = 0; length < bytes.size(); ++length) {
    const auto decoded = decode_record(std::string_view(bytes).substr(0, length));
    EXPECT_FALSE(decoded.ok()) << "prefix of " << length << " bytes decoded";
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Code::corruption);
    }
  }
  EXPECT_FALSE(decode_record(bytes + "x").ok());
}

TEST(RecordCodec, RejectsBadFlagsAndHugeCounts) {
  std::string bytes = encode_record(sample());
  bytes[0] = 2;  // unknown format
  EXPECT_FALSE(decode_record(bytes).ok());
  // entry count far beyond the input: refused before allocating
  EXPECT_FALSE(decode_record(std::string("\x01\xff\xff\xff\xff\x0f", 6)).ok());
  SiblingSet one;
  one.put({}, 1, Version{"v", false, 0});
  std::string flagged = encode_record(one);
  // layout: format, count, actor(8), counter, version count, flags...
  flagged[1 + 1 + 8 + 1 + 1] = 0x02;
  EXPECT_FALSE(decode_record(flagged).ok());
}

TEST(DataKey, RoundTripsAndRejectsMismatchedDigest) {
  const std::string key = encode_data_key(7, "user/42");
  auto decoded = decode_data_key(key);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->store, 7u);
  EXPECT_EQ(decoded->key, "user/42");
  std::string tampered = key;
  tampered.back() = 'X';
  EXPECT_FALSE(decode_data_key(tampered));
  EXPECT_FALSE(decode_data_key("abc"));
}

TEST(DataKey, PartitionRangesTileTheStoreAndContainTheirKeys) {
  constexpr uint32_t bits = 4;
  for (int index = 0; index < 200; ++index) {
    const std::string key = "key-" + std::to_string(index);
    const std::string data_key = encode_data_key(3, key);
    const uint32_t partition = partition_of(md5(key), bits);
    const KeyRange range = partition_range(3, partition, bits);
    EXPECT_LE(range.begin, data_key);
    EXPECT_LT(data_key, range.end);
    const KeyRange store = store_range(3);
    EXPECT_LE(store.begin, data_key);
    EXPECT_LT(data_key, store.end);
  }
  // Consecutive partitions meet exactly; the first starts and the last ends with the store.
  for (uint32_t partition = 0; partition + 1 < (1u << bits); ++partition) {
    EXPECT_EQ(partition_range(3, partition, bits).end,
              partition_range(3, partition + 1, bits).begin);
  }
  EXPECT_EQ(partition_range(3, 0, bits).begin.substr(0, 4), store_range(3).begin);
  EXPECT_EQ(partition_range(3, (1u << bits) - 1, bits).end, store_range(3).end);
}

}  // namespace
}  // namespace ringkv
