// Balance measurement; see balance.h.
#include "ring/balance.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string_view>

#include "ring/preference_list.h"

namespace ringkv {
namespace {

double relative_error(double share, double wanted) {
  return wanted > 0 ? std::abs(share - wanted) / wanted : 0.0;
}

}  // namespace

LayoutBalance measure_balance(const Layout& layout, uint32_t replica_count) {
  const PreferenceTable table = PreferenceTable::build(layout, replica_count);
  const uint32_t partition_count = layout.partition_count();
  const uint32_t zones = layout.listed_zone_count();
  std::map<std::string_view, uint32_t> zone_numbers;
  std::vector<uint32_t> zone_of_node;
  for (const RingNode& node : layout.nodes())
    zone_of_node.push_back(
        zone_numbers.emplace(node.zone, static_cast<uint32_t>(zone_numbers.size())).first->second);
  LayoutBalance out;
  out.replica_count = replica_count;
  out.nodes.resize(layout.nodes().size());
  for (uint32_t partition = 0; partition < partition_count; ++partition) {
    ++out.nodes[layout.list(partition)[0]].partitions;
    const auto list = table.nodes(partition);
    uint32_t list_zones = 0;
    for (uint32_t index = 0; index < list.size(); ++index) {
      ++out.nodes[list[index]].replica_partitions;
      bool repeated = false;
      for (uint32_t before = 0; before < index; ++before)
        repeated = repeated || zone_of_node[list[before]] == zone_of_node[list[index]];
      list_zones += repeated ? 0 : 1;
    }
    out.zone_short_lists += list_zones < std::min(replica_count, zones) ? 1 : 0;
  }
  uint64_t capacity_total = 0;
  for (const RingNode& node : layout.nodes())
    capacity_total += node.state == NodeState::active ? node.capacity : 0;
  const double replica_entries = double(partition_count) * table.width();
  for (size_t index = 0; index < out.nodes.size(); ++index) {
    const RingNode& node = layout.nodes()[index];
    NodeBalance& balance = out.nodes[index];
    if (node.state == NodeState::active && capacity_total > 0)
      balance.capacity_share = double(node.capacity) / double(capacity_total);
    balance.partition_share = double(balance.partitions) / partition_count;
    balance.replica_share = double(balance.replica_partitions) / replica_entries;
    out.max_partition_share_error =
        std::max(out.max_partition_share_error,
                 relative_error(balance.partition_share, balance.capacity_share));
    out.max_replica_share_error = std::max(
        out.max_replica_share_error, relative_error(balance.replica_share, balance.capacity_share));
  }
  return out;
}

}  // namespace ringkv
