// Partition arithmetic on md5 points; see partitioner.h.
#include "ring/partitioner.h"

#include <string>

#include "common/check.h"

namespace ringkv {

Result<Partitioner> Partitioner::create(uint32_t partition_bits) {
  if (partition_bits > kPartitionBitsMax) {
    return Status(Code::invalid_argument, "partition bits " + std::to_string(partition_bits) +
                                              " is over the maximum " +
                                              std::to_string(kPartitionBitsMax));
  }
  return Partitioner(partition_bits);
}

uint32_t Partitioner::partition_of_key(std::string_view key) const {
  return partition_of_digest(md5(key));
}

uint32_t Partitioner::partition_of_digest(const Md5Digest& digest) const {
  // The same arithmetic as storage's partition_of (a unit test checks they
  // agree); repeated here because the ring depends on common only.
  if (partition_bits_ == 0)
    return 0;
  const uint32_t top = (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) |
                       (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
  return top >> (32 - partition_bits_);
}

Md5Digest Partitioner::first_point(uint32_t partition) const {
  RINGKV_ASSERT(partition < partition_count(), "a partition index within the ring");
  Md5Digest point{};
  // The partition index occupies the top partition_bits bits (at most 20, so
  // the first three bytes); every lower bit is zero.
  const uint32_t top = partition_bits_ == 0 ? 0 : partition << (32 - partition_bits_);
  point[0] = static_cast<uint8_t>(top >> 24);
  point[1] = static_cast<uint8_t>(top >> 16);
  point[2] = static_cast<uint8_t>(top >> 8);
  point[3] = static_cast<uint8_t>(top);
  return point;
}

Md5Digest Partitioner::last_point(uint32_t partition) const {
  RINGKV_ASSERT(partition < partition_count(), "a partition index within the ring");
  Md5Digest point = first_point(partition);
  const uint32_t low_mask = partition_bits_ == 0 ? UINT32_MAX : UINT32_MAX >> partition_bits_;
  point[0] |= static_cast<uint8_t>(low_mask >> 24);
  point[1] |= static_cast<uint8_t>(low_mask >> 16);
  point[2] |= static_cast<uint8_t>(low_mask >> 8);
  point[3] |= static_cast<uint8_t>(low_mask);
  for (size_t index = 4; index < point.size(); ++index)
    point[index] = 0xff;
  return point;
}

}  // namespace ringkv
