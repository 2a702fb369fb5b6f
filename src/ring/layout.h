// The layout: which node owns each partition, and the node table it refers to.
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
//   4. Either the table is empty and so is the owner table (the "empty layout",
//      the previous layout of a new cluster), or owners has one entry per
//      partition, each an index into nodes.
//   5. A leaving node stays in the table until it owns nothing; assignment
//      gives it no partitions (its data is handed over before it goes).
//
// Thread safety: an immutable value once created; copy freely.
#pragma once

#include <cstdint>
#include <optional>
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

// Checks one node against invariants 2 and 3 (not sortedness); the message
// names the node.
Status validate(const RingNode& node);

class Layout {
 public:
  // The layout of a cluster with no nodes yet: version 0, no owners.
  static Layout empty(uint32_t partition_bits);
  // Validates every invariant above; `nodes` must already be sorted by id.
  static Result<Layout> create(uint32_t partition_bits, uint64_t version,
                               std::vector<RingNode> nodes, std::vector<uint32_t> owners);

  uint32_t partition_bits() const { return partition_bits_; }
  uint32_t partition_count() const { return uint32_t{1} << partition_bits_; }
  uint64_t version() const { return version_; }
  bool is_empty() const { return nodes_.empty(); }
  const std::vector<RingNode>& nodes() const { return nodes_; }
  // One node index per partition; empty for the empty layout.
  const std::vector<uint32_t>& owners() const { return owners_; }
  // REQUIRES: !is_empty() and partition < partition_count().
  uint32_t owner(uint32_t partition) const { return owners_[partition]; }
  const RingNode& owner_node(uint32_t partition) const { return nodes_[owners_[partition]]; }

  // The index of the node with `id`, if present (binary search).
  std::optional<uint32_t> node_index(std::string_view id) const;
  // Partitions owned per node index.
  std::vector<uint32_t> partition_counts() const;
  // Distinct zones among nodes that own at least one partition.
  uint32_t owning_zone_count() const;

  bool operator==(const Layout&) const = default;

 private:
  Layout(uint32_t partition_bits, uint64_t version, std::vector<RingNode> nodes,
         std::vector<uint32_t> owners)
      : partition_bits_(partition_bits),
        version_(version),
        nodes_(std::move(nodes)),
        owners_(std::move(owners)) {}

  uint32_t partition_bits_ = kPartitionBitsDefault;
  uint64_t version_ = 0;
  std::vector<RingNode> nodes_;
  std::vector<uint32_t> owners_;
};

// The canonical encoding (docs/FORMATS.md, "Ring layout", format 1).
std::string encode_layout(const Layout& layout);
// Rejects, with `corruption`, anything encode_layout would not produce:
// truncation, an unknown format or state, out-of-range fields, unsorted or
// duplicate ids, owner indexes outside the table, trailing bytes. Counts are
// checked against the bytes left before anything is allocated.
Result<Layout> decode_layout(std::string_view bytes);

}  // namespace ringkv
