// MerkleTree: the hash tree of one (store, partition) on one node, for
// anti-entropy (Dynamo §4.7).
//
// The partition's keys are cut into 256 leaves by the 8 bits of md5(key) that
// follow the partition's bits, so one leaf is one contiguous range of data
// keys (leaf_range). A leaf's hash is the XOR of entry_hash(key, record) over
// its keys; 16 branches XOR 16 leaves each; the root XORs the branches. XOR
// makes the tree a set hash, updated in O(1) per write (XOR the old entry out
// and the new one in) and independent of the order keys were written in;
// entry hashes are XXH3-64 over the key and its canonical record bytes
// (record_codec.h), so equal copies hash equal on every node and version. Two replicas compare
// branches, then the leaves of differing branches, then exchange only the keys of differing leaves.
//
// Thread safety: none; one owner.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "common/md5.h"
#include "storage/data_key.h"

namespace ringkv {

inline constexpr uint32_t kMerkleLeaves = 256;
inline constexpr uint32_t kMerkleBranches = 16;
inline constexpr uint32_t kMerkleLeavesPerBranch = kMerkleLeaves / kMerkleBranches;
inline constexpr uint32_t kMerkleLeafBits = 8;

// XXH3-64 over (varint key length, key, record bytes).
uint64_t merkle_entry_hash(std::string_view key, std::string_view record);
// The leaf of a key with this digest. REQUIRES: partition_bits <= 24.
uint32_t merkle_leaf_of(const Md5Digest& digest, uint32_t partition_bits);
// The data keys of one leaf of (store, partition). REQUIRES: as above, leaf < 256.
KeyRange merkle_leaf_range(StoreId store, uint32_t partition, uint32_t partition_bits,
                           uint32_t leaf);

class MerkleTree {
 public:
  // Adds or removes (XOR is its own inverse) one entry hash at `leaf`.
  void toggle(uint32_t leaf, uint64_t hash) {
    leaves_[leaf] ^= hash;
    branches_[leaf / kMerkleLeavesPerBranch] ^= hash;
    root_ ^= hash;
  }
  uint64_t root() const { return root_; }
  const std::array<uint64_t, kMerkleBranches>& branches() const { return branches_; }
  uint64_t leaf(uint32_t index) const { return leaves_[index]; }
  // The 16 leaf hashes of `branch`.
  std::array<uint64_t, kMerkleLeavesPerBranch> leaves_of(uint32_t branch) const;
  friend bool operator==(const MerkleTree&, const MerkleTree&) = default;

 private:
  std::array<uint64_t, kMerkleLeaves> leaves_{};
  std::array<uint64_t, kMerkleBranches> branches_{};
  uint64_t root_ = 0;
};

}  // namespace ringkv
