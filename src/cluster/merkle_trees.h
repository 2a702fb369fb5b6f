// MerkleTrees: the Merkle trees of the (store, partition)s a node holds,
// kept equal to what is on its disk — the state anti-entropy, transfer
// verification, handovers and recovery compare (docs/ARCHITECTURE.md,
// "Anti-entropy"). A component of the node core with state of its own: no
// other part of the core touches the trees.
//
// A tree is built from a scan of its partition the first time it is needed
// and kept up to date by every data write: write_issued() records what the
// write replaces and what it writes, write_done() applies the difference
// once the write completed (a failed write changes nothing). A tree built
// while a write was in flight may or may not have seen it: the build notes
// what it saw, and the completion applies the difference from that.
// rebuild_all() marks every tree to be rebuilt from disk at its next use (so
// silent corruption is found too); until a rebuild scan succeeds the
// maintained tree stays in use. A partition that cannot be scanned and has no
// tree gets an empty tree that is never kept (unreadable()).
//
// The partition of a write is known once the node has a layout (a wiped node
// takes writes before its join reply gives it one): callers pass the
// layout's partition bits when there is one.
//
// Thread safety: none; the core's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "storage/engine.h"
#include "storage/merkle.h"
#include "storage/store_catalog.h"

namespace ringkv {

class MerkleTrees {
 public:
  struct Counters {
    uint64_t builds = 0;         // trees built from a scan of the data
    uint64_t scan_failures = 0;  // scans that failed (a maintained tree is kept, none made)
  };

  // `reads` serves the scans and must see every completed write.
  explicit MerkleTrees(Engine& reads) : reads_(reads) {}

  // The tree of (store, partition) under a layout of `bits` partition bits:
  // maintained, or built now.
  MerkleTree& get(StoreId store, uint32_t partition, uint32_t bits);
  // True for the empty stand-in of a partition that could not be scanned:
  // never the basis of a handover or a verdict of "in sync".
  bool unreadable(const MerkleTree& tree) const { return &tree == &unreadable_; }
  bool has(StoreId store, uint32_t partition) const {
    return trees_.count(tree_id(store, partition)) != 0;
  }
  // Every tree is rebuilt from disk at its next use.
  void rebuild_all();
  // The partition's data is gone (a drop): so is its tree.
  void forget(StoreId store, uint32_t partition);

  // A data write of `key` was issued: it replaces `old_record` (empty: none)
  // with `new_record` (null: a delete).
  void write_issued(StoreId store, std::string_view key, const std::string& data_key,
                    std::string_view old_record, const std::string* new_record,
                    std::optional<uint32_t> bits);
  // ... and completed (`ok`) or failed.
  void write_done(StoreId store, const std::string& data_key, bool ok,
                  std::optional<uint32_t> bits);

  const Counters& counters() const { return counters_; }

 private:
  struct WriteInFlight {
    StoreId store = 0;
    std::optional<uint32_t> partition;  // known once there is a layout
    bool hashed = false;                // the tree existed at issue: the hashes below are set
    uint64_t old_hash = 0;              // what the write replaces
    uint64_t new_hash = 0;              // what it writes (0: a delete)
    bool tree_saw = false;  // a tree build scanned the key while the write was in flight
    uint64_t saw_hash = 0;  // ...and found this (0: absent)
  };
  // The write's partition, worked out now if it was issued without a layout.
  static std::optional<uint32_t> partition_of_write(const std::string& data_key,
                                                    WriteInFlight& write,
                                                    std::optional<uint32_t> bits);

  // A tree's key: store in the high half, partition in the low.
  static uint64_t tree_id(StoreId store, uint32_t partition) {
    return (static_cast<uint64_t>(store) << 32) | partition;
  }

  Engine& reads_;
  // Hashed, not ordered: every data write looks its tree up twice, and a
  // tree is 2 KiB of leaves, so an ordered map's nodes sat far apart and
  // each of its ~10 levels was a cache miss (~3% of a node's CPU samples
  // under a replicated PUT load, 1,024 partitions; docs/BENCHMARKS.md).
  std::unordered_map<uint64_t, MerkleTree> trees_;
  std::set<uint64_t> rebuild_due_;
  MerkleTree unreadable_;
  std::unordered_map<std::string, WriteInFlight> in_flight_;  // by data key
  Counters counters_;
};

}  // namespace ringkv
