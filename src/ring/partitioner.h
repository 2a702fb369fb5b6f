// The partitioner: a key's md5 is a 128-bit point on the ring, and the ring is
// cut into Q = 2^partition_bits equal arcs (Dynamo §4.2, "strategy 3").
//
// Invariants:
//   1. partition_bits <= kPartitionBitsMax, so Q <= 2^20 and a partition index
//      fits in uint32_t.
//   2. The partition of a key is the top partition_bits bits of md5(key)
//      (the same as storage/data_key.h
//      `partition_of`), so partition p holds exactly the
//      points [p << (128 - b), (p + 1) << (128 - b)) and one (store, partition)
//      is one contiguous range of data keys whatever Q is.
//
// Q is fixed when a cluster is created and stored with its layout: changing it
// would re-home every key. Thread safety: an immutable value.
#pragma once

#include <cstdint>
#include <string_view>

#include "common/md5.h"
#include "common/status.h"

namespace ringkv {

// 2^20 partitions: a million arcs is more than tens of thousands of nodes need
// (a few dozen partitions per node), and keeps a layout's lists (width 3)
// under 12 MiB in memory.
inline constexpr uint32_t kPartitionBitsMax = 20;
// Q = 1024 suits clusters of up to a few hundred nodes.
inline constexpr uint32_t kPartitionBitsDefault = 10;

class Partitioner {
 public:
  // Fails with invalid_argument when partition_bits > kPartitionBitsMax.
  static Result<Partitioner> create(uint32_t partition_bits);

  uint32_t partition_bits() const { return partition_bits_; }
  uint32_t partition_count() const { return uint32_t{1} << partition_bits_; }

  uint32_t partition_of_key(std::string_view key) const;
  uint32_t partition_of_digest(const Md5Digest& digest) const;
  // The smallest ring point in `partition`. REQUIRES: partition < partition_count().
  Md5Digest first_point(uint32_t partition) const;
  // The largest ring point in `partition`. REQUIRES: partition < partition_count().
  Md5Digest last_point(uint32_t partition) const;

 private:
  explicit Partitioner(uint32_t partition_bits) : partition_bits_(partition_bits) {}
  uint32_t partition_bits_;
};

}  // namespace ringkv
