// The node's maintained Merkle trees; see merkle_trees.h.
#include "cluster/merkle_trees.h"

#include <functional>
#include <map>

#include "storage/data_key.h"

namespace ringkv {

MerkleTree& MerkleTrees::get(StoreId store, uint32_t partition, uint32_t bits) {
  const uint64_t id = tree_id(store, partition);
  auto found = trees_.find(id);
  if (found != trees_.end() && rebuild_due_.erase(id) == 0)
    return found->second;
  ++counters_.builds;
  MerkleTree fresh;
  const KeyRange range = partition_range(store, partition, bits);
  // Writes in flight here may or may not be seen by the scan: remember what
  // it saw, for their completions (write_done) — once the scan worked.
  std::map<std::string, uint64_t, std::less<>> saw;
  Status scanned = reads_.scan(Column::data, range.begin, range.end,
                               [&](std::string_view data_key, std::string_view record) {
                                 if (auto decoded = decode_data_key(data_key)) {
                                   const uint64_t hash = merkle_entry_hash(decoded->key, record);
                                   fresh.toggle(merkle_leaf_of(decoded->digest, bits), hash);
                                   if (in_flight_.count(std::string(data_key)) != 0)
                                     saw[std::string(data_key)] = hash;
                                 }
                                 return true;
                               });
  if (!scanned.ok()) {
    // An unreadable partition. A tree that misses keys would let a handover
    // declare "in sync" and drop them, so: keep the maintained tree if there
    // is one (a rebuild is retried at the next rebuild time), otherwise hand
    // out an empty tree that is not kept, so the next use scans again.
    ++counters_.scan_failures;
    if (found != trees_.end())
      return found->second;
    unreadable_ = MerkleTree();
    return unreadable_;
  }
  for (auto& [data_key, write] : in_flight_) {
    if (write.store == store && partition_of_write(data_key, write, bits) == partition) {
      write.tree_saw = true;
      auto hash = saw.find(data_key);
      write.saw_hash = hash == saw.end() ? 0 : hash->second;
    }
  }
  MerkleTree& slot = trees_[id];
  slot = std::move(fresh);
  return slot;
}

void MerkleTrees::rebuild_all() {
  for (const auto& [id, tree] : trees_)
    rebuild_due_.insert(id);
}

void MerkleTrees::forget(StoreId store, uint32_t partition) {
  trees_.erase(tree_id(store, partition));
  rebuild_due_.erase(tree_id(store, partition));
}

void MerkleTrees::write_issued(StoreId store, std::string_view key, const std::string& data_key,
                               std::string_view old_record, const std::string* new_record,
                               std::optional<uint32_t> bits) {
  WriteInFlight write;
  write.store = store;
  const auto partition = partition_of_write(data_key, write, bits);
  if (partition && has(store, *partition)) {
    write.hashed = true;
    write.old_hash = old_record.empty() ? 0 : merkle_entry_hash(key, old_record);
    write.new_hash = new_record == nullptr ? 0 : merkle_entry_hash(key, *new_record);
  }
  in_flight_[data_key] = write;
}

std::optional<uint32_t> MerkleTrees::partition_of_write(const std::string& data_key,
                                                        WriteInFlight& write,
                                                        std::optional<uint32_t> bits) {
  if (!write.partition && bits) {
    if (auto decoded = decode_data_key(data_key))
      write.partition = partition_of(decoded->digest, *bits);
  }
  return write.partition;
}

void MerkleTrees::write_done(StoreId store, const std::string& data_key, bool ok,
                             std::optional<uint32_t> bits) {
  auto found = in_flight_.find(data_key);
  if (found == in_flight_.end())
    return;
  WriteInFlight write = found->second;
  in_flight_.erase(found);
  // A failed write changed nothing: a tree built meanwhile saw the old record.
  const auto partition = partition_of_write(data_key, write, bits);
  if (!ok || !bits || !partition)
    return;
  auto tree = trees_.find(tree_id(store, *partition));
  if (tree == trees_.end())
    return;
  auto decoded = decode_data_key(data_key);
  if (!decoded)
    return;
  uint64_t new_hash = write.new_hash;
  if (!write.hashed) {
    // The tree was built while the write was in flight (it saw the key as
    // `saw_hash`): hash what the write left, which the key lock still guards.
    auto now = reads_.get(Column::data, data_key);
    new_hash = now.ok() && now.value() ? merkle_entry_hash(decoded->key, *now.value()) : 0;
  }
  const uint64_t before = write.tree_saw ? write.saw_hash : write.old_hash;
  tree->second.toggle(merkle_leaf_of(decoded->digest, *bits), before ^ new_hash);
}

}  // namespace ringkv
