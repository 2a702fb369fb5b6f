// Property tests of the Merkle trees (storage/merkle.h): over two replicas'
// generated copies of a partition, comparing trees finds exactly the keys
// that differ — every differing key lies in a differing leaf, and every
// differing leaf holds a differing key — and a tree does not depend on the
// order its entries were added in.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <set>
#include <string>

#include "common/md5.h"
#include "storage/merkle.h"

namespace ringkv {
namespace {

constexpr uint32_t kBits = 4;  // 16 partitions; everything below lands in partition 0..15

// key -> record bytes (any bytes: the tree hashes them, it does not decode them).
using Copy = std::map<std::string, std::string>;

MerkleTree tree_of(const Copy& copy, uint32_t partition) {
  MerkleTree tree;
  for (const auto& [key, record] : copy) {
    const Md5Digest digest = md5(key);
    if (partition_of(digest, kBits) == partition)
      tree.toggle(merkle_leaf_of(digest, kBits), merkle_entry_hash(key, record));
  }
  return tree;
}

RC_GTEST_PROP(MerkleTree, ADiffFindsExactlyTheDifferingKeys, ()) {
  const auto keys = *rc::gen::container<std::set<std::string>>(
      rc::gen::nonEmpty(rc::gen::arbitrary<std::string>()));
  Copy left;
  Copy right;
  for (const std::string& key : keys) {
    const int fate = *rc::gen::inRange(0, 10);  // mostly equal copies
    const std::string record = *rc::gen::arbitrary<std::string>();
    if (fate != 0)
      left[key] = record;
    if (fate != 1)
      right[key] = fate == 2 ? record + "x" : record;
  }
  const uint32_t partition = *rc::gen::inRange<uint32_t>(0, 1u << kBits);
  const MerkleTree a = tree_of(left, partition);
  const MerkleTree b = tree_of(right, partition);
  std::set<uint32_t> differing_leaves;
  for (uint32_t leaf = 0; leaf < kMerkleLeaves; ++leaf) {
    if (a.leaf(leaf) != b.leaf(leaf))
      differing_leaves.insert(leaf);
  }
  std::set<uint32_t> leaves_of_differing_keys;
  for (const std::string& key : keys) {
    const Md5Digest digest = md5(key);
    if (partition_of(digest, kBits) != partition)
      continue;
    const auto l = left.find(key);
    const auto r = right.find(key);
    const bool differs =
        (l == left.end()) != (r == right.end()) || (l != left.end() && l->second != r->second);
    if (differs)
      leaves_of_differing_keys.insert(merkle_leaf_of(digest, kBits));
  }
  RC_ASSERT(differing_leaves == leaves_of_differing_keys);
  // Branches and roots follow their leaves.
  for (uint32_t branch = 0; branch < kMerkleBranches; ++branch) {
    bool any = false;
    for (uint32_t leaf : differing_leaves)
      any = any || leaf / kMerkleLeavesPerBranch == branch;
    RC_ASSERT((a.branches()[branch] != b.branches()[branch]) == any);
  }
  RC_ASSERT((a.root() == b.root()) == differing_leaves.empty());
}

RC_GTEST_PROP(MerkleTree, OrderOfWritesDoesNotMatterAndARemovalUndoesAnAdd, ()) {
  const auto entries = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
      rc::gen::pair(rc::gen::arbitrary<std::string>(), rc::gen::arbitrary<std::string>()));
  MerkleTree forward;
  MerkleTree backward;
  for (const auto& [key, record] : entries)
    forward.toggle(merkle_leaf_of(md5(key), kBits), merkle_entry_hash(key, record));
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    backward.toggle(merkle_leaf_of(md5(it->first), kBits),
                    merkle_entry_hash(it->first, it->second));
  RC_ASSERT(forward == backward);
  for (const auto& [key, record] : entries)
    forward.toggle(merkle_leaf_of(md5(key), kBits), merkle_entry_hash(key, record));
  RC_ASSERT(forward == MerkleTree());
}

}  // namespace
}  // namespace ringkv
