// Layout deltas; see layout_delta.h and docs/FORMATS.md ("Layout delta").
#include "ring/layout_delta.h"

#include <limits>

#include "common/bytes.h"
#include "common/store_config.h"

namespace ringkv {
namespace {

constexpr uint8_t kDeltaFormat = 1;
constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
// The fewest bytes an encoded node takes (layout.cpp) and a changed entry
// (a gap and an index): counts are bounded by them before allocating.
constexpr size_t kNodeBytesMin = 5;
constexpr size_t kEntryBytesMin = 2;

Status corrupt(std::string what) {
  return Status(Code::corruption, "layout delta: " + std::move(what));
}

bool same_node(const RingNode& left, const RingNode& right) {
  return left.capacity == right.capacity && left.zone == right.zone && left.state == right.state;
}

}  // namespace

std::optional<std::string> encode_layout_delta(const Layout& base, const Layout& next) {
  if (base.is_empty() || next.is_empty() || base.partition_bits() != next.partition_bits() ||
      base.width() != next.width())
    return std::nullopt;
  const std::vector<RingNode>& before = base.nodes();
  const std::vector<RingNode>& after = next.nodes();
  std::vector<uint32_t> removed;
  std::vector<const RingNode*> upserts;
  std::vector<uint32_t> index_after(before.size(), kNone);  // base index -> next index
  size_t left = 0, right = 0;
  while (left < before.size() || right < after.size()) {
    if (right == after.size() || (left < before.size() && before[left].id < after[right].id)) {
      removed.push_back(static_cast<uint32_t>(left++));
    } else if (left == before.size() || after[right].id < before[left].id) {
      upserts.push_back(&after[right++]);
    } else {
      if (!same_node(before[left], after[right]))
        upserts.push_back(&after[right]);
      index_after[left++] = static_cast<uint32_t>(right++);
    }
  }
  std::string out;
  ByteWriter writer(out);
  writer.u8(kDeltaFormat);
  writer.u8(static_cast<uint8_t>(next.partition_bits()));
  writer.u64_be(next.version());
  writer.varint(removed.size());
  uint64_t previous = 0;
  for (size_t index = 0; index < removed.size(); ++index) {
    writer.varint(index == 0 ? removed[index] : removed[index] - previous - 1);
    previous = removed[index];
  }
  writer.varint(upserts.size());
  for (const RingNode* node : upserts)
    write_ring_node(writer, *node);
  writer.u8(static_cast<uint8_t>(next.width()));
  const std::vector<uint32_t>& from = base.lists();
  const std::vector<uint32_t>& to = next.lists();
  std::string entries;
  ByteWriter entry_writer(entries);
  uint64_t changed = 0;
  bool first = true;
  previous = 0;
  for (size_t position = 0; position < to.size(); ++position) {
    if (index_after[from[position]] == to[position])
      continue;
    entry_writer.varint(first ? position : position - previous - 1);
    entry_writer.varint(to[position]);
    previous = position;
    first = false;
    ++changed;
  }
  writer.varint(changed);
  writer.bytes(entries);
  return out;
}

Result<LayoutDelta> decode_layout_delta(std::string_view bytes) {
  ByteReader reader(bytes);
  LayoutDelta delta;
  uint8_t format = 0, partition_bits = 0;
  if (!reader.u8(format) || format != kDeltaFormat)
    return corrupt("unknown format");
  if (!reader.u8(partition_bits) || partition_bits > kPartitionBitsMax ||
      !reader.u64_be(delta.version))
    return corrupt("bad header");
  delta.partition_bits = partition_bits;
  uint64_t count = 0;
  if (!reader.varint(count) || count > kNodeCountMax || count > reader.remaining())
    return corrupt("removed count larger than the bytes could hold");
  delta.removed.resize(static_cast<size_t>(count));
  uint64_t previous = 0;
  for (size_t index = 0; index < delta.removed.size(); ++index) {
    uint64_t gap = 0;
    if (!reader.varint(gap) || gap >= kNodeCountMax)
      return corrupt("bad removed index");
    const uint64_t at = index == 0 ? gap : previous + 1 + gap;
    if (at >= kNodeCountMax)
      return corrupt("removed index outside any node table");
    delta.removed[index] = static_cast<uint32_t>(at);
    previous = at;
  }
  if (!reader.varint(count) || count > kNodeCountMax || count > reader.remaining() / kNodeBytesMin)
    return corrupt("node count larger than the bytes could hold");
  delta.upserts.resize(static_cast<size_t>(count));
  for (size_t index = 0; index < delta.upserts.size(); ++index) {
    if (!read_ring_node(reader, delta.upserts[index]))
      return corrupt("bad node entry");
    if (index > 0 && !(delta.upserts[index - 1].id < delta.upserts[index].id))
      return corrupt("node ids must be unique and sorted");
  }
  uint8_t width = 0;
  if (!reader.u8(width) || width < 1 || width > kReplicationMax)
    return corrupt("bad list width");
  delta.width = width;
  const uint64_t positions = (uint64_t{1} << partition_bits) * width;
  if (!reader.varint(count) || count > positions || count > reader.remaining() / kEntryBytesMin)
    return corrupt("entry count larger than the bytes could hold");
  delta.changed.resize(static_cast<size_t>(count));
  previous = 0;
  for (size_t index = 0; index < delta.changed.size(); ++index) {
    uint64_t gap = 0, node = 0;
    if (!reader.varint(gap) || !reader.varint(node) || gap >= positions || node >= kNodeCountMax)
      return corrupt("bad list entry");
    const uint64_t at = index == 0 ? gap : previous + 1 + gap;
    if (at >= positions)
      return corrupt("list entry past the lists");
    delta.changed[index] = {at, static_cast<uint32_t>(node)};
    previous = at;
  }
  if (!reader.empty())
    return corrupt("trailing bytes");
  return delta;
}

Result<Layout> apply_layout_delta(const Layout& base, const LayoutDelta& delta) {
  if (base.is_empty())
    return corrupt("the base is the empty layout");
  if (delta.partition_bits != base.partition_bits() || delta.width != base.width())
    return corrupt("partition bits or width differ from the base's");
  const std::vector<RingNode>& before = base.nodes();
  std::vector<bool> gone(before.size(), false);
  for (uint32_t index : delta.removed) {
    if (index >= before.size())
      return corrupt("removed index outside the base's node table");
    gone[index] = true;
  }
  std::vector<RingNode> nodes;
  nodes.reserve(before.size() + delta.upserts.size());
  std::vector<uint32_t> index_after(before.size(), kNone);
  size_t left = 0, right = 0;
  while (left < before.size() || right < delta.upserts.size()) {
    if (left < before.size() && gone[left]) {
      ++left;
    } else if (right == delta.upserts.size() ||
               (left < before.size() && before[left].id < delta.upserts[right].id)) {
      index_after[left] = static_cast<uint32_t>(nodes.size());
      nodes.push_back(before[left++]);
    } else if (left == before.size() || delta.upserts[right].id < before[left].id) {
      nodes.push_back(delta.upserts[right++]);
    } else {  // the same id: the upsert replaces it
      index_after[left++] = static_cast<uint32_t>(nodes.size());
      nodes.push_back(delta.upserts[right++]);
    }
  }
  std::vector<uint32_t> lists(base.lists().size());
  for (size_t position = 0; position < lists.size(); ++position)
    lists[position] = index_after[base.lists()[position]];
  for (const LayoutDelta::Entry& entry : delta.changed) {
    if (entry.position >= lists.size())
      return corrupt("list entry past the lists");
    lists[entry.position] = entry.node;
  }
  // A list still naming a removed node holds kNone: outside the table, so
  // create rejects it like every other broken invariant.
  auto layout = Layout::create(delta.partition_bits, delta.version, std::move(nodes), delta.width,
                               std::move(lists));
  if (!layout.ok())
    return corrupt(layout.status().message());
  return layout;
}

}  // namespace ringkv
