// The node core's counts for status: records and bytes per store, the
// partitions this node replicates, the Merkle roots of its partitions.
// See node_core.h.

#include <algorithm>
#include <set>

#include "cluster/node_core.h"
#include "storage/data_key.h"

namespace ringkv {

// ---- counts and views ----

NodeCore::Counts NodeCore::store_counts(const StoreEntry& store) {
  Counts out;
  const KeyRange range = store_range(store.id);
  (void)reads_.scan(Column::data, range.begin, range.end,
                    [&](std::string_view key, std::string_view value) {
                      ++out.keys;
                      out.bytes += key.size() + value.size();
                      return true;
                    });
  return out;
}

uint64_t NodeCore::replicated_partitions() {
  uint64_t count = 0;
  if (!layout_)
    return 0;
  for (const StoreEntry* store : catalog_.list()) {
    for (uint32_t partition = 0; partition < layout_->partition_count(); ++partition)
      count += rebalancer_.replicates(*store, partition, false) ? 1 : 0;
  }
  return count;
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

}  // namespace ringkv
