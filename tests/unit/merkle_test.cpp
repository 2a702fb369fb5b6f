// Unit tests of the Merkle tree's key geometry and hashing (storage/merkle.h).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/merkle.h"

namespace ringkv {
namespace {

TEST(Merkle, EveryKeyLiesInItsLeafRange) {
  for (uint32_t bits : {0u, 4u, 10u}) {
    for (int index = 0; index < 2000; ++index) {
      const std::string key = fmt::format("key{}", index);
      const Md5Digest digest = md5(key);
      const uint32_t partition = partition_of(digest, bits);
      const uint32_t leaf = merkle_leaf_of(digest, bits);
      const std::string data_key = encode_data_key(7, key);
      const KeyRange range = merkle_leaf_range(7, partition, bits, leaf);
      EXPECT_LE(range.begin, data_key) << key;
      EXPECT_TRUE(range.end.empty() || data_key < range.end) << key;
      // Inside its partition's range as well, and in no neighbouring leaf.
      const KeyRange whole = partition_range(7, partition, bits);
      EXPECT_LE(whole.begin, range.begin);
      if (leaf + 1 < kMerkleLeaves) {
        EXPECT_LE(data_key, merkle_leaf_range(7, partition, bits, leaf + 1).begin);
      }
    }
  }
}

TEST(Merkle, EntryHashCoversKeyAndRecord) {
  EXPECT_EQ(merkle_entry_hash("k", "r"), merkle_entry_hash("k", "r"));
  EXPECT_NE(merkle_entry_hash("k", "r"), merkle_entry_hash("k", "s"));
  EXPECT_NE(merkle_entry_hash("k", "r"), merkle_entry_hash("kr", ""));  // length-prefixed key
}

TEST(Merkle, ATreeTracksOneLeafBranchAndRoot) {
  MerkleTree tree;
  EXPECT_EQ(tree.root(), 0u);
  tree.toggle(37, 0x1234);
  EXPECT_EQ(tree.leaf(37), 0x1234u);
  EXPECT_EQ(tree.branches()[37 / kMerkleLeavesPerBranch], 0x1234u);
  EXPECT_EQ(tree.root(), 0x1234u);
  EXPECT_EQ(tree.leaves_of(2)[5], 0x1234u);
  tree.toggle(37, 0x1234);
  EXPECT_EQ(tree, MerkleTree());
}

}  // namespace
}  // namespace ringkv
