// Hints: writes a stand-in holds for a replica that was down (sloppy quorum,
// Dynamo §4.6), in the `hints` column family until handed off.
//
//   hint key   = varint length + target node id | varint length + store name | key bytes
//   hint value = u64 big-endian stored_at_ms | record (record_codec.h)
//
// Keys sort by target first, so one target's hints are one range (handoff
// scans it); the store is named, not numbered, because store ids are local to
// each node. `stored_at_ms` is when the hint was first stored (merges keep
// it), by the stand-in's clock. Format in docs/FORMATS.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/data_key.h"

namespace ringkv {

struct HintKey {
  std::string target;
  std::string store;
  std::string key;
};

std::string encode_hint_key(std::string_view target, std::string_view store, std::string_view key);
std::optional<HintKey> decode_hint_key(std::string_view bytes);
// Every hint for `target`.
KeyRange hints_for(std::string_view target);

struct HintValue {
  uint64_t stored_at_ms = 0;
  std::string_view record;
};
std::string encode_hint_value(uint64_t stored_at_ms, std::string_view record);
// Rejects a value too short to hold its header (the record is checked by decode_record).
std::optional<HintValue> decode_hint_value(std::string_view bytes);

}  // namespace ringkv
