// Data keys: where a (store, key) record lives in the data column family.
//
//   data key = store id (u32 big-endian) | md5(key) (16 bytes) | key bytes
//
// The partition of a key is a prefix of its md5 (the ring's top bits), so for
// any partition count Q = 2^b one (store, partition) is one contiguous key
// range: streaming a partition, building its Merkle tree and dropping it after
// a move are single range operations (docs/ARCHITECTURE.md). Because the partition is
// not written into the key, the layout on disk does not depend on Q.
// The md5 comes before the key so that keys sort by ring position, not by name.
// Format in docs/FORMATS.md: do not change without a format version bump.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/md5.h"

namespace ringkv {

using StoreId = uint32_t;

struct DataKey {
  StoreId store = 0;
  Md5Digest digest{};
  std::string key;
};

std::string encode_data_key(StoreId store, std::string_view key);
// Same, into `out` (replacing its contents, reusing its storage).
void encode_data_key(StoreId store, std::string_view key, std::string& out);
// Same, with the key's md5 already computed.
std::string encode_data_key(StoreId store, const Md5Digest& digest, std::string_view key);
std::optional<DataKey> decode_data_key(std::string_view bytes);

struct KeyRange {
  std::string begin;  // inclusive
  std::string end;    // exclusive; empty = to the end of the column
};

// Every record of `store`.
KeyRange store_range(StoreId store);
// Every record of `store` in `partition` when the ring has 2^partition_bits
// partitions. REQUIRES: partition_bits <= 32 and partition < 2^partition_bits.
KeyRange partition_range(StoreId store, uint32_t partition, uint32_t partition_bits);
// The partition of `digest` when the ring has 2^partition_bits partitions.
uint32_t partition_of(const Md5Digest& digest, uint32_t partition_bits);

}  // namespace ringkv
