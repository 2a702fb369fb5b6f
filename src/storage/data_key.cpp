#include "storage/data_key.h"

#include "common/bytes.h"
#include "common/check.h"

namespace ringkv {

namespace {

void write_data_key(StoreId store, const Md5Digest& digest, std::string_view key,
                    std::string& out) {
  out.clear();
  out.reserve(4 + digest.size() + key.size());
  ByteWriter writer(out);
  writer.u32_be(store);
  writer.bytes(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  writer.bytes(key);
}

}  // namespace

std::string encode_data_key(StoreId store, std::string_view key) {
  return encode_data_key(store, md5(key), key);
}

void encode_data_key(StoreId store, std::string_view key, std::string& out) {
  write_data_key(store, md5(key), key, out);
}

std::string encode_data_key(StoreId store, const Md5Digest& digest, std::string_view key) {
  std::string out;
  write_data_key(store, digest, key, out);
  return out;
}

std::optional<DataKey> decode_data_key(std::string_view bytes) {
  ByteReader reader(bytes);
  DataKey out;
  std::string_view digest;
  if (!reader.u32_be(out.store) || !reader.bytes(out.digest.size(), digest))
    return std::nullopt;
  for (size_t index = 0; index < out.digest.size(); ++index) {
    out.digest[index] = static_cast<uint8_t>(digest[index]);
  }
  out.key.assign(bytes.substr(4 + out.digest.size()));
  if (out.key.empty() || md5(out.key) != out.digest)
    return std::nullopt;
  return out;
}

KeyRange store_range(StoreId store) {
  KeyRange range;
  ByteWriter(range.begin).u32_be(store);
  if (store != UINT32_MAX)
    ByteWriter(range.end).u32_be(store + 1);
  return range;
}

uint32_t partition_of(const Md5Digest& digest, uint32_t partition_bits) {
  RINGKV_ASSERT(partition_bits <= 32, "partition bits at most 32");
  if (partition_bits == 0)
    return 0;
  const uint32_t top = (uint32_t{digest[0]} << 24) | (uint32_t{digest[1]} << 16) |
                       (uint32_t{digest[2]} << 8) | uint32_t{digest[3]};
  return static_cast<uint32_t>(top >> (32 - partition_bits));
}

KeyRange partition_range(StoreId store, uint32_t partition, uint32_t partition_bits) {
  RINGKV_ASSERT(partition_bits <= 32, "partition bits at most 32");
  RINGKV_ASSERT(partition_bits == 32 || partition < (uint64_t{1} << partition_bits),
                "a partition within the partition count");
  if (partition_bits == 0)
    return store_range(store);
  const auto first = static_cast<uint32_t>(uint64_t{partition} << (32 - partition_bits));
  KeyRange range;
  ByteWriter begin(range.begin);
  begin.u32_be(store);
  begin.u32_be(first);
  const uint64_t next = (uint64_t{partition} + 1) << (32 - partition_bits);
  if (next > UINT32_MAX) {
    range.end = store_range(store).end;  // the last partition ends where the store ends
  } else {
    ByteWriter end(range.end);
    end.u32_be(store);
    end.u32_be(static_cast<uint32_t>(next));
  }
  return range;
}

}  // namespace ringkv
