// Merkle trees for anti-entropy; see merkle.h.
#include "storage/merkle.h"

#include <xxhash.h>

#include "common/bytes.h"
#include "common/check.h"

namespace ringkv {

uint64_t merkle_entry_hash(std::string_view key, std::string_view record) {
  // XXH3-64 (a stable format): fast enough to run on every write (MD5 cost
  // ~7% of a PUT's CPU). Every write hashes twice (the record it replaces,
  // the one it writes): a small input is laid out in per-thread storage
  // (a large one in its own, so that no thread keeps a large buffer).
  constexpr size_t kScratchBytes = 4096;
  thread_local std::string scratch;
  std::string large;
  const size_t size = key.size() + record.size() + 10;
  std::string& input = size <= kScratchBytes ? scratch : large;
  input.clear();
  input.reserve(size);
  ByteWriter writer(input);
  writer.length_prefixed(key);
  writer.bytes(record);
  return XXH3_64bits(input.data(), input.size());
}

uint32_t merkle_leaf_of(const Md5Digest& digest, uint32_t partition_bits) {
  RINGKV_ASSERT(partition_bits + kMerkleLeafBits <= 32, "partition and leaf bits fit 32 bits");
  return partition_of(digest, partition_bits + kMerkleLeafBits) & (kMerkleLeaves - 1);
}

KeyRange merkle_leaf_range(StoreId store, uint32_t partition, uint32_t partition_bits,
                           uint32_t leaf) {
  RINGKV_ASSERT(leaf < kMerkleLeaves, "a leaf index within the tree");
  return partition_range(store, (partition << kMerkleLeafBits) | leaf,
                         partition_bits + kMerkleLeafBits);
}

std::array<uint64_t, kMerkleLeavesPerBranch> MerkleTree::leaves_of(uint32_t branch) const {
  std::array<uint64_t, kMerkleLeavesPerBranch> out{};
  for (uint32_t index = 0; index < kMerkleLeavesPerBranch; ++index)
    out[index] = leaves_[branch * kMerkleLeavesPerBranch + index];
  return out;
}

}  // namespace ringkv
