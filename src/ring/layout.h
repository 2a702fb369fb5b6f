// The layout: every partition's replica list, and the node table it refers to.
//
// A layout is the cluster's placement decision as one versioned value. It is
// computed deterministically (ring/assignment.h), spread by gossip, and a node
// that sees a higher version adopts it (docs/ARCHITECTURE.md, "Membership and rebalancing"), so it
// has exactly one byte encoding (docs/FORMATS.md, "Ring layout").
//
// Invariants (checked by Layout::create and by decode_layout):
//   1. partition_bits <= kPartitionBitsMax; partition_count() = 2^partition_bits.
//   2. Nodes are sorted by id, strictly (no duplicates): the table's order is
//      canonical, so two nodes given the same nodes in any order hold the same
//      layout. Ids are 1..kNodeIdBytesMax bytes, zones 0..kZoneBytesMax bytes
//      (the empty zone is a zone like any other), at most kNodeCountMax nodes.
//   3. Capacity is an integer weight in [1, kCapacityMax]. Integers, not
//      doubles, so quotas are exact integer arithmetic and every node computes
//      the same assignment bit for bit.
//   4. Either the table is empty and so are the lists (the "empty layout", the
//      previous layout of a new cluster), or there are Q lists of `width`
//      (1..min(kReplicationMax, nodes)) distinct node indexes each: the
//      replica list of every partition (ring/replica_lists.h); a store with
//      n <= width uses the first n entries (preference_list.h for n > width).
//   5. A leaving node stays in the table until no list names it; assignment
//      gives it no entries (its data is handed over before it goes).
//
// Thread safety: an immutable value once created; copy freely.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ring/partitioner.h"

namespace ringkv {

// Bounds checked before anything is allocated while decoding; see layout.h.
inline constexpr size_t kNodeIdBytesMax = 255;
inline constexpr size_t kZoneBytesMax = 255;
inline constexpr uint32_t kNodeCountMax = 65536;
inline constexpr uint32_t kCapacityMax = 1'000'000;

enum class NodeState : uint8_t {
  active = 0,   // takes partitions in proportion to its capacity
  leaving = 1,  // takes none; hands its partitions over, then is removed
};

std::string_view to_string(NodeState state);

struct RingNode {
  std::string id;
  uint32_t capacity = 1;
  std::string zone;
  NodeState state = NodeState::active;

  bool operator==(const RingNode&) const = default;
};

class ByteReader;
class ByteWriter;
// One node table entry in the layout encoding (docs/FORMATS.md): id,
// capacity, zone, state. read_ring_node range-checks capacity and state (not
// the id and zone: Layout::create does).
void write_ring_node(ByteWriter& writer, const RingNode& node);
[[nodiscard]] bool read_ring_node(ByteReader& reader, RingNode& node);

// Checks one node against invariants 2 and 3 (not sortedness); the message
// names the node.
Status validate(const RingNode& node);

// The width of the lists the cluster plans: its stores' default n.
inline constexpr uint32_t kLayoutWidthDefault = 3;

class Layout {
 public:
  // The layout of a cluster with no nodes yet: version 0, no lists.
  static Layout empty(uint32_t partition_bits);
  // Validates every invariant above; `nodes` must already be sorted by id;
  // `lists` is Q × width, partition-major.
  static Result<Layout> create(uint32_t partition_bits, uint64_t version,
                               std::vector<RingNode> nodes, uint32_t width,
                               std::vector<uint32_t> lists);

  uint32_t partition_bits() const { return partition_bits_; }
  uint32_t partition_count() const { return uint32_t{1} << partition_bits_; }
  uint64_t version() const { return version_; }
  bool is_empty() const { return nodes_.empty(); }
  const std::vector<RingNode>& nodes() const { return nodes_; }
  // Entries per list; 0 for the empty layout.
  uint32_t width() const { return width_; }
  // Q × width node indexes, partition-major; empty for the empty layout.
  const std::vector<uint32_t>& lists() const { return lists_; }
  // REQUIRES: !is_empty() and partition < partition_count().
  std::span<const uint32_t> list(uint32_t partition) const {
    return {lists_.data() + size_t{partition} * width_, width_};
  }

  // The index of the node with `id`, if present (binary search).
  std::optional<uint32_t> node_index(std::string_view id) const;
  // Lists that name each node (by node index): the replicas it holds of a
  // store with n = width.
  std::vector<uint32_t> list_counts() const;
  // Distinct zones among nodes that some list names.
  uint32_t listed_zone_count() const;

  // Whether it was read from format 1 (owners walked into lists): exact for
  // stores with n = 1 and 3, and n = 2 unless the owners spanned exactly two
  // zones; not for n > 3 (see ring_walk.h). Not part of the value.
  bool read_from_owners() const { return read_from_owners_; }
  void set_read_from_owners() { read_from_owners_ = true; }

  bool operator==(const Layout& other) const {
    return partition_bits_ == other.partition_bits_ && version_ == other.version_ &&
           nodes_ == other.nodes_ && width_ == other.width_ && lists_ == other.lists_;
  }

 private:
  Layout(uint32_t partition_bits, uint64_t version, std::vector<RingNode> nodes, uint32_t width,
         std::vector<uint32_t> lists)
      : partition_bits_(partition_bits),
        version_(version),
        nodes_(std::move(nodes)),
        width_(width),
        lists_(std::move(lists)) {}

  uint32_t partition_bits_ = kPartitionBitsDefault;
  uint64_t version_ = 0;
  std::vector<RingNode> nodes_;
  uint32_t width_ = 0;
  std::vector<uint32_t> lists_;
  bool read_from_owners_ = false;
};

// The canonical encoding (docs/FORMATS.md, "Ring layout", format 2).
std::string encode_layout(const Layout& layout);
// Rejects, with `corruption`, anything encode_layout would not produce:
// truncation, an unknown format or state, out-of-range fields, unsorted or
// duplicate ids, list entries outside the table or repeated within a list,
// trailing bytes. Counts are checked against the bytes left before anything
// is allocated. Also reads format 1 (one owner per partition, written before
// the lists): its lists are the ones its ring walk gave (ring/ring_walk.h),
// kLayoutWidthDefault wide.
Result<Layout> decode_layout(std::string_view bytes);

}  // namespace ringkv
