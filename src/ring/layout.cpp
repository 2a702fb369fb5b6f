// Layout validation and its canonical codec; see layout.h and docs/FORMATS.md.
#include "ring/layout.h"

#include <algorithm>
#include <set>

#include "common/bytes.h"
#include "common/check.h"

namespace ringkv {
namespace {

constexpr uint8_t kLayoutFormat = 1;
// The fewest bytes one encoded node can take: id length, one id byte,
// capacity, zone length, state. Used to bound counts before allocating.
constexpr size_t kNodeBytesMin = 5;

Status corrupt(std::string what) {
  return Status(Code::corruption, "layout: " + std::move(what));
}

Status check_owners(uint32_t partition_count, size_t node_count,
                    const std::vector<uint32_t>& owners) {
  if (node_count == 0) {
    if (!owners.empty())
      return Status(Code::invalid_argument, "a layout with no nodes cannot own partitions");
    return Status::Ok();
  }
  if (owners.size() != partition_count) {
    return Status(Code::invalid_argument, "the owner table has " + std::to_string(owners.size()) +
                                              " entries for " + std::to_string(partition_count) +
                                              " partitions");
  }
  for (uint32_t owner : owners) {
    if (owner >= node_count)
      return Status(Code::invalid_argument,
                    "owner index " + std::to_string(owner) + " is outside the node table");
  }
  return Status::Ok();
}

Status check_nodes(const std::vector<RingNode>& nodes) {
  if (nodes.size() > kNodeCountMax)
    return Status(Code::invalid_argument, "more than " + std::to_string(kNodeCountMax) + " nodes");
  for (size_t index = 0; index < nodes.size(); ++index) {
    if (Status status = validate(nodes[index]); !status.ok())
      return status;
    if (index > 0 && !(nodes[index - 1].id < nodes[index].id))
      return Status(Code::invalid_argument,
                    "node ids must be unique and sorted: \"" + nodes[index].id + "\"");
  }
  return Status::Ok();
}

bool read_node(ByteReader& reader, RingNode& node) {
  std::string_view id, zone;
  uint64_t capacity = 0;
  uint8_t state = 0;
  if (!reader.length_prefixed(id) || !reader.varint(capacity) || !reader.length_prefixed(zone) ||
      !reader.u8(state)) {
    return false;
  }
  if (capacity > kCapacityMax || state > static_cast<uint8_t>(NodeState::leaving))
    return false;  // range-checked before narrowing
  node.id.assign(id);
  node.capacity = static_cast<uint32_t>(capacity);
  node.zone.assign(zone);
  node.state = static_cast<NodeState>(state);
  return true;
}

}  // namespace

std::string_view to_string(NodeState state) {
  switch (state) {
    case NodeState::active:
      return "active";
    case NodeState::leaving:
      return "leaving";
  }
  return "unknown";
}

Status validate(const RingNode& node) {
  if (node.id.empty() || node.id.size() > kNodeIdBytesMax)
    return Status(Code::invalid_argument, "node id must be 1.." + std::to_string(kNodeIdBytesMax) +
                                              " bytes: \"" + node.id.substr(0, 64) + "\"");
  if (node.zone.size() > kZoneBytesMax)
    return Status(Code::invalid_argument, "zone of node \"" + node.id + "\" is over " +
                                              std::to_string(kZoneBytesMax) + " bytes");
  if (node.capacity < 1 || node.capacity > kCapacityMax)
    return Status(Code::invalid_argument, "capacity of node \"" + node.id + "\" must be 1.." +
                                              std::to_string(kCapacityMax));
  if (node.state != NodeState::active && node.state != NodeState::leaving)
    return Status(Code::invalid_argument, "unknown state of node \"" + node.id + "\"");
  return Status::Ok();
}

Layout Layout::empty(uint32_t partition_bits) {
  RINGKV_ASSERT(partition_bits <= kPartitionBitsMax, "partition bits within the limit");
  return Layout(partition_bits, 0, {}, {});
}

Result<Layout> Layout::create(uint32_t partition_bits, uint64_t version,
                              std::vector<RingNode> nodes, std::vector<uint32_t> owners) {
  if (partition_bits > kPartitionBitsMax)
    return Status(Code::invalid_argument,
                  "partition bits over " + std::to_string(kPartitionBitsMax));
  if (Status status = check_nodes(nodes); !status.ok())
    return status;
  if (Status status = check_owners(uint32_t{1} << partition_bits, nodes.size(), owners);
      !status.ok())
    return status;
  return Layout(partition_bits, version, std::move(nodes), std::move(owners));
}

std::optional<uint32_t> Layout::node_index(std::string_view id) const {
  const auto found = std::lower_bound(
      nodes_.begin(), nodes_.end(), id,
      [](const RingNode& node, std::string_view wanted) { return node.id < wanted; });
  if (found == nodes_.end() || found->id != id)
    return std::nullopt;
  return static_cast<uint32_t>(found - nodes_.begin());
}

std::vector<uint32_t> Layout::partition_counts() const {
  std::vector<uint32_t> counts(nodes_.size(), 0);
  for (uint32_t owner : owners_)
    ++counts[owner];
  return counts;
}

uint32_t Layout::owning_zone_count() const {
  const std::vector<uint32_t> counts = partition_counts();
  std::set<std::string_view> zones;
  for (size_t index = 0; index < nodes_.size(); ++index) {
    if (counts[index] > 0)
      zones.insert(nodes_[index].zone);
  }
  return static_cast<uint32_t>(zones.size());
}

std::string encode_layout(const Layout& layout) {
  std::string out;
  ByteWriter writer(out);
  writer.u8(kLayoutFormat);
  writer.u8(static_cast<uint8_t>(layout.partition_bits()));
  writer.u64_be(layout.version());
  writer.varint(layout.nodes().size());
  for (const RingNode& node : layout.nodes()) {
    writer.length_prefixed(node.id);
    writer.varint(node.capacity);
    writer.length_prefixed(node.zone);
    writer.u8(static_cast<uint8_t>(node.state));
  }
  for (uint32_t owner : layout.owners())
    writer.varint(owner);
  return out;
}

Result<Layout> decode_layout(std::string_view bytes) {
  ByteReader reader(bytes);
  uint8_t format = 0, partition_bits = 0;
  uint64_t version = 0, node_count = 0;
  if (!reader.u8(format) || format != kLayoutFormat)
    return corrupt("unknown format");
  if (!reader.u8(partition_bits) || partition_bits > kPartitionBitsMax || !reader.u64_be(version) ||
      !reader.varint(node_count))
    return corrupt("bad header");
  if (node_count > kNodeCountMax || node_count > reader.remaining() / kNodeBytesMin)
    return corrupt("node count larger than the bytes could hold");
  std::vector<RingNode> nodes(static_cast<size_t>(node_count));
  for (RingNode& node : nodes) {
    if (!read_node(reader, node))
      return corrupt("bad node entry");
  }
  const uint32_t partition_count = uint32_t{1} << partition_bits;
  std::vector<uint32_t> owners;
  if (node_count > 0) {
    if (reader.remaining() < partition_count)
      return corrupt("owner table truncated");  // each owner takes at least one byte
    owners.resize(partition_count);
    for (uint32_t& owner : owners) {
      uint64_t index = 0;
      if (!reader.varint(index) || index >= node_count)
        return corrupt("bad owner index");
      owner = static_cast<uint32_t>(index);
    }
  }
  if (!reader.empty())
    return corrupt("trailing bytes");
  auto layout = Layout::create(partition_bits, version, std::move(nodes), std::move(owners));
  if (!layout.ok())
    return corrupt(layout.status().message());
  return layout;
}

}  // namespace ringkv
