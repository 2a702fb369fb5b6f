// The simulated cluster as the checkers see it: which nodes are up, what
// layout they hold, what is on their disks (durable or not), and the run's
// counters. Read-only; see sim_cluster.h.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "ring/preference_list.h"
#include "sim/sim_node.h"
#include "storage/data_key.h"
#include "storage/hint_codec.h"
#include "storage/record_codec.h"

namespace ringkv::sim {

bool SimCluster::started(const NodeId& id) const {
  return node(id).started;
}

bool SimCluster::retired(const NodeId& id) const {
  return node(id).retired;
}

std::vector<NodeId> SimCluster::started_ids() const {
  std::vector<NodeId> out;
  for (const NodeId& id : ids_) {
    if (node(id).started && !node(id).retired)
      out.push_back(id);
  }
  return out;
}

Layout SimCluster::layout() const {
  Layout out = initial_layout_;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (sim_node.up && sim_node.node->layout() != nullptr &&
        sim_node.node->layout()->version() > out.version())
      out = *sim_node.node->layout();
  }
  return out;
}

std::optional<Layout> SimCluster::target() const {
  std::optional<Layout> out;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (sim_node.up && sim_node.node->target() != nullptr &&
        (!out || sim_node.node->target()->version() > out->version()))
      out = *sim_node.node->target();
  }
  return out;
}

bool SimCluster::layout_settled() const {
  std::optional<Layout> seen;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (!sim_node.up)
      continue;
    if (sim_node.node->target() != nullptr || sim_node.node->layout() == nullptr)
      return false;
    if (seen && !(*seen == *sim_node.node->layout()))
      return false;
    seen = *sim_node.node->layout();
  }
  return true;
}

std::string SimCluster::rebalance_report() {
  std::string out;
  for (const NodeId& id : ids_) {
    SimNode& sim_node = node(id);
    if (!sim_node.up)
      continue;
    const NodeCore::RebalanceView view = sim_node.node->rebalance_view();
    std::string ready;
    for (const NodeCore::NodeView& other : view.nodes)
      ready += fmt::format("{}{} ", other.id, other.ready ? "+" : "-");
    out += fmt::format(
        "\n    {}: layout {} target {} transfers pending {} active {} done {} "
        "under-replicated {} ready [{}]{}",
        id, view.layout_version, view.target_version, view.pending, view.active, view.done,
        view.under_replicated.size(), ready,
        sim_node.node->write_fence().ok() ? ""
                                          : " FENCED: " + sim_node.node->write_fence().message());
  }
  return out;
}

std::vector<std::string> SimCluster::misplaced_records() const {
  std::vector<std::string> out;
  const Layout current = layout();
  std::map<uint32_t, PreferenceTable> tables;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (sim_node.retired)
      continue;  // gone for good: nobody reads its disk again
    auto catalog = StoreCatalog::load(const_cast<MemoryEngine&>(sim_node.engine));
    if (!catalog.ok())
      continue;
    const auto self = current.node_index(id);
    (void)const_cast<MemoryEngine&>(sim_node.engine)
        .scan(Column::data, "", "", [&](std::string_view data_key, std::string_view) {
          auto decoded = decode_data_key(data_key);
          if (!decoded)
            return true;
          const StoreEntry* store = nullptr;
          for (const StoreEntry* entry : catalog->list()) {
            if (entry->id == decoded->store)
              store = entry;
          }
          if (store == nullptr)
            return true;
          auto table = tables.find(store->config.n);
          if (table == tables.end())
            table =
                tables.emplace(store->config.n, PreferenceTable::build(current, store->config.n))
                    .first;
          const auto nodes = table->second.nodes_for_key(decoded->key);
          if (!self || std::find(nodes.begin(), nodes.end(), *self) == nodes.end())
            out.push_back(fmt::format("{} {} {}", id, store->name, decoded->key));
          return true;
        });
  }
  return out;
}

bool SimCluster::believes_down(const NodeId& observer, const NodeId& id) const {
  const SimNode& sim_node = node(observer);
  return sim_node.up && sim_node.node->believes_down(id);
}

NodeCore::RecoveryView SimCluster::recovery(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  if (!sim_node.up)
    return {};
  return sim_node.node->recovery();
}

bool SimCluster::is_up(const NodeId& id) const {
  return node(id).up;
}

size_t SimCluster::writes_queued(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  return sim_node.up ? sim_node.queue->queued() : 0;
}

bool SimCluster::is_fenced(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  return sim_node.up && (!sim_node.node->write_fence().ok() || !sim_node.queue->fenced().ok());
}

uint64_t SimCluster::frames_undecodable(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  return sim_node.undecodable_before + (sim_node.up ? sim_node.node->frames_undecodable() : 0);
}

SiblingSet SimCluster::local_copy(const NodeId& id, std::string_view store,
                                  std::string_view key) const {
  return copy_of(id, store, key, /*durable=*/false);
}

SiblingSet SimCluster::durable_copy(const NodeId& id, std::string_view store,
                                    std::string_view key) const {
  return copy_of(id, store, key, /*durable=*/true);
}

SiblingSet SimCluster::replica_copy(const NodeId& id, std::string_view store, std::string_view key,
                                    bool durable) const {
  return copy_of(id, store, key, durable, /*with_hints=*/false);
}

SiblingSet SimCluster::hint_copy(const NodeId& id, std::string_view store,
                                 std::string_view key) const {
  return copy_of(id, store, key, /*durable=*/false, /*with_hints=*/true, /*with_data=*/false);
}

std::map<uint32_t, uint64_t> SimCluster::merkle_roots(const NodeId& id, std::string_view store) {
  std::map<uint32_t, uint64_t> out;
  SimNode& sim_node = node(id);
  if (!sim_node.up)
    return out;
  const StoreEntry* entry = sim_node.node->catalog().find(store);
  if (entry == nullptr)
    return out;
  for (const auto& [partition, root] : sim_node.node->merkle_roots(*entry))
    out[partition] = root;
  return out;
}

uint64_t SimCluster::hints_pending() const {
  uint64_t out = 0;
  for (const auto& [id, sim_node] : nodes_) {
    if (sim_node->retired)
      continue;  // removed while dead: its hints went with it
    (void)const_cast<MemoryEngine&>(sim_node->engine)
        .scan(Column::hints, "", "", [&out](std::string_view, std::string_view) {
          ++out;
          return true;
        });
  }
  return out;
}

SiblingSet SimCluster::copy_of(const NodeId& id, std::string_view store, std::string_view key,
                               bool durable, bool with_hints, bool with_data) const {
  const SimNode& sim_node = node(id);
  // The catalog on disk is the truth even while the node is down.
  auto catalog = StoreCatalog::load(const_cast<MemoryEngine&>(sim_node.engine));
  if (!catalog.ok())
    return {};
  const StoreEntry* entry = catalog->find(store);
  if (entry == nullptr)
    return {};
  const std::string data_key = encode_data_key(entry->id, key);
  std::optional<std::string> bytes;
  auto& engine = const_cast<MemoryEngine&>(sim_node.engine);
  if (durable) {
    bytes = sim_node.engine.get_durable(Column::data, data_key);
  } else {
    auto visible = engine.get(Column::data, data_key);
    if (visible.ok())
      bytes = std::move(visible.value());
  }
  SiblingSet out;
  if (bytes && with_data) {
    auto set = decode_record(*bytes);
    if (set.ok())
      out = std::move(*set);
  }
  // A stand-in holds the key in its hints (for any replica) until handoff.
  auto visit_hint = [&](std::string_view hint_key, std::string_view value) {
    auto decoded = decode_hint_key(hint_key);
    if (!decoded || decoded->store != store || decoded->key != key)
      return true;
    auto hint = decode_hint_value(value);
    auto set =
        hint ? decode_record(hint->record) : Result<SiblingSet>(Status(Code::corruption, ""));
    if (set.ok())
      out.merge(*set);
    return true;
  };
  if (!with_hints)
    return out;
  if (durable)
    sim_node.engine.scan_durable(Column::hints, visit_hint);
  else
    (void)engine.scan(Column::hints, "", "", visit_hint);
  return out;
}

std::vector<NodeId> SimCluster::replicas(std::string_view store, std::string_view key,
                                         bool in_target) const {
  std::optional<Layout> layout;
  if (in_target)
    layout = target();
  else
    layout = this->layout();
  if (!layout)
    return {};
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    auto catalog = StoreCatalog::load(const_cast<MemoryEngine&>(sim_node.engine));
    if (!catalog.ok())
      continue;
    if (const StoreEntry* entry = catalog->find(store)) {
      const PreferenceTable table = PreferenceTable::build(*layout, entry->config.n);
      std::vector<NodeId> out;
      for (uint32_t index : table.nodes_for_key(key))
        out.push_back(layout->nodes()[index].id);
      return out;
    }
  }
  return {};
}

SimCluster::Stats SimCluster::stats() const {
  Stats out = stats_;
  for (const auto& [id, sim_node] : nodes_) {
    out.frames_refused += frames_undecodable(id);
    NodeCore::Stats core = sim_node->before;
    if (sim_node->up)
      add_core_stats(core, sim_node->node->stats());
    out.read_repairs += core.read_repairs;
    out.hints_stored += core.hints_stored;
    out.hints_delivered += core.hints_delivered;
    out.sloppy_writes += core.sloppy_writes;
    out.suspicions += core.suspicions;
    out.ae_rounds += core.ae_rounds;
    out.ae_keys_sent += core.ae_keys_sent;
    out.ae_bytes_sent += core.ae_bytes_sent;
    out.ae_keys_repaired += core.ae_keys_repaired;
    out.tombstones_collected += core.tombstones_collected;
    out.clock_entries_pruned += core.clock_entries_pruned;
    out.layout_flips += core.layout_flips;
    out.transfer_keys += core.transfer_keys;
    out.transfers_done += core.transfers_done;
    out.partitions_dropped += core.partitions_dropped;
  }
  return out;
}

}  // namespace ringkv::sim
