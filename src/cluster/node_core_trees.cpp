// The node core's preference tables and Merkle trees: services the put, get,
// anti-entropy, rebalancing and recovery paths share. The trees are the
// MerkleTrees component's (merkle_trees.h); here the core keeps them equal to
// the disk through every data write. See node_core.h.
#include "cluster/node_core.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {

const PreferenceTable& NodeCore::table_for(uint32_t n) {
  auto table = tables_.find(n);
  if (table == tables_.end())
    table = tables_.emplace(n, PreferenceTable::build(*layout_, n)).first;
  return table->second;
}

MerkleTree& NodeCore::tree_for(const StoreEntry& store, uint32_t partition) {
  return merkle_.get(store.id, partition, layout_->partition_bits());
}

std::vector<std::pair<uint32_t, uint64_t>> NodeCore::merkle_roots(const StoreEntry& store) {
  std::vector<std::pair<uint32_t, uint64_t>> out;
  if (!layout_)
    return out;
  const PreferenceTable& table = table_for(store.config.n);
  for (uint32_t partition = 0; partition < layout_->partition_count(); ++partition) {
    for (uint32_t index : table.nodes(partition)) {
      if (is_self(layout_->nodes()[index].id)) {
        out.push_back({partition, tree_for(store, partition).root()});
        break;
      }
    }
  }
  return out;
}

void NodeCore::data_write_issued(const StoreEntry& store, std::string_view key,
                                 const std::string& data_key, std::string_view old_record,
                                 const std::string* new_record) {
  merkle_.write_issued(store.id, key, data_key, old_record, new_record, partition_bits());
  if (counts_loaded_) {  // the node's own counts (heartbeats, GET /v1/cluster)
    if (!old_record.empty()) {
      data_keys_ -= std::min<uint64_t>(data_keys_, 1);
      data_bytes_ -= std::min<uint64_t>(data_bytes_, data_key.size() + old_record.size());
    }
    if (new_record != nullptr) {
      ++data_keys_;
      data_bytes_ += data_key.size() + new_record->size();
    }
  }
}

void NodeCore::data_write_done(const StoreEntry& store, const std::string& data_key, bool ok) {
  merkle_.write_done(store.id, data_key, ok, partition_bits());
}

std::optional<uint32_t> NodeCore::partition_bits() const {
  if (!layout_)
    return std::nullopt;
  return layout_->partition_bits();
}

}  // namespace ringkv
