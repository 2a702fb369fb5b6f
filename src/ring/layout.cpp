// Layout validation and its canonical codec; see layout.h and docs/FORMATS.md.
#include "ring/layout.h"

#include <algorithm>
#include <set>

#include "common/bytes.h"
#include "common/check.h"
#include "common/store_config.h"
#include "ring/ring_walk.h"

namespace ringkv {
namespace {

constexpr uint8_t kLayoutFormat = 2;
constexpr uint8_t kLayoutFormatOwners = 1;  // one owner per partition (ring_walk.h)
// The fewest bytes one encoded node can take: id length, one id byte,
// capacity, zone length, state. Used to bound counts before allocating.
constexpr size_t kNodeBytesMin = 5;

Status corrupt(std::string what) {
  return Status(Code::corruption, "layout: " + std::move(what));
}

Status check_lists(uint32_t partition_count, size_t node_count, uint32_t width,
                   const std::vector<uint32_t>& lists) {
  if (node_count == 0) {
    if (width != 0 || !lists.empty())
      return Status(Code::invalid_argument, "a layout with no nodes cannot have lists");
    return Status::Ok();
  }
  if (width < 1 || width > kReplicationMax || width > node_count)
    return Status(Code::invalid_argument, "list width " + std::to_string(width) +
                                              " is outside 1..min(" +
                                              std::to_string(kReplicationMax) + ", nodes)");
  if (lists.size() != size_t{partition_count} * width) {
    return Status(Code::invalid_argument, "the lists have " + std::to_string(lists.size()) +
                                              " entries for " + std::to_string(partition_count) +
                                              " partitions of " + std::to_string(width));
  }
  for (size_t list = 0; list < partition_count; ++list) {
    for (size_t index = 0; index < width; ++index) {
      const uint32_t node = lists[list * width + index];
      if (node >= node_count)
        return Status(Code::invalid_argument,
                      "list entry " + std::to_string(node) + " is outside the node table");
      for (size_t before = 0; before < index; ++before) {
        if (lists[list * width + before] == node)
          return Status(Code::invalid_argument,
                        "the list of partition " + std::to_string(list) + " names a node twice");
      }
    }
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

}  // namespace

bool read_ring_node(ByteReader& reader, RingNode& node) {
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

void write_ring_node(ByteWriter& writer, const RingNode& node) {
  writer.length_prefixed(node.id);
  writer.varint(node.capacity);
  writer.length_prefixed(node.zone);
  writer.u8(static_cast<uint8_t>(node.state));
}

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
  return Layout(partition_bits, 0, {}, 0, {});
}

Result<Layout> Layout::create(uint32_t partition_bits, uint64_t version,
                              std::vector<RingNode> nodes, uint32_t width,
                              std::vector<uint32_t> lists) {
  if (partition_bits > kPartitionBitsMax)
    return Status(Code::invalid_argument,
                  "partition bits over " + std::to_string(kPartitionBitsMax));
  if (Status status = check_nodes(nodes); !status.ok())
    return status;
  if (Status status = check_lists(uint32_t{1} << partition_bits, nodes.size(), width, lists);
      !status.ok())
    return status;
  return Layout(partition_bits, version, std::move(nodes), width, std::move(lists));
}

std::optional<uint32_t> Layout::node_index(std::string_view id) const {
  const auto found = std::lower_bound(
      nodes_.begin(), nodes_.end(), id,
      [](const RingNode& node, std::string_view wanted) { return node.id < wanted; });
  if (found == nodes_.end() || found->id != id)
    return std::nullopt;
  return static_cast<uint32_t>(found - nodes_.begin());
}

std::vector<uint32_t> Layout::list_counts() const {
  std::vector<uint32_t> counts(nodes_.size(), 0);
  for (uint32_t node : lists_)
    ++counts[node];
  return counts;
}

uint32_t Layout::listed_zone_count() const {
  const std::vector<uint32_t> counts = list_counts();
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
  for (const RingNode& node : layout.nodes())
    write_ring_node(writer, node);
  if (!layout.is_empty())
    writer.u8(static_cast<uint8_t>(layout.width()));
  for (uint32_t node : layout.lists())
    writer.varint(node);
  return out;
}

namespace {

// `count` varint node indexes below `node_count`; each takes at least one byte,
// checked before allocating.
bool read_indexes(ByteReader& reader, size_t count, uint64_t node_count,
                  std::vector<uint32_t>& out) {
  if (reader.remaining() < count)
    return false;
  out.resize(count);
  for (uint32_t& entry : out) {
    uint64_t index = 0;
    if (!reader.varint(index) || index >= node_count)
      return false;
    entry = static_cast<uint32_t>(index);
  }
  return true;
}

}  // namespace

Result<Layout> decode_layout(std::string_view bytes) {
  ByteReader reader(bytes);
  uint8_t format = 0, partition_bits = 0;
  uint64_t version = 0, node_count = 0;
  if (!reader.u8(format) || (format != kLayoutFormat && format != kLayoutFormatOwners))
    return corrupt("unknown format");
  if (!reader.u8(partition_bits) || partition_bits > kPartitionBitsMax || !reader.u64_be(version) ||
      !reader.varint(node_count))
    return corrupt("bad header");
  if (node_count > kNodeCountMax || node_count > reader.remaining() / kNodeBytesMin)
    return corrupt("node count larger than the bytes could hold");
  std::vector<RingNode> nodes(static_cast<size_t>(node_count));
  for (RingNode& node : nodes) {
    if (!read_ring_node(reader, node))
      return corrupt("bad node entry");
  }
  const uint32_t partition_count = uint32_t{1} << partition_bits;
  uint32_t width = 0;
  std::vector<uint32_t> lists;
  if (node_count > 0 && format == kLayoutFormatOwners) {
    std::vector<uint32_t> owners;
    if (!read_indexes(reader, partition_count, node_count, owners))
      return corrupt("bad owner table");
    if (!reader.empty())
      return corrupt("trailing bytes");
    if (Status status = check_nodes(nodes); !status.ok())
      return corrupt(status.message());
    lists = walk_owner_lists(nodes, owners, kLayoutWidthDefault, width);
  } else if (node_count > 0) {
    uint8_t width_byte = 0;
    if (!reader.u8(width_byte) || width_byte < 1 || width_byte > kReplicationMax ||
        width_byte > node_count)
      return corrupt("bad list width");
    width = width_byte;
    if (!read_indexes(reader, size_t{partition_count} * width, node_count, lists))
      return corrupt("bad list entry");
  }
  if (!reader.empty())
    return corrupt("trailing bytes");
  auto layout = Layout::create(partition_bits, version, std::move(nodes), width, std::move(lists));
  if (!layout.ok())
    return corrupt(layout.status().message());
  if (format == kLayoutFormatOwners && node_count > 0)
    layout->set_read_from_owners();
  return layout;
}

}  // namespace ringkv
