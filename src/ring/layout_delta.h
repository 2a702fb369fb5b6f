// A layout as the changes from another: what gossip sends instead of a whole
// layout when the receiver holds the one it was planned from.
//
// A layout at 10,000 nodes and 2^16 partitions encodes to ~600 KB (2^20:
// ~6.5 MB) and every member needs each new one; a change (a join, a weight)
// moves a few hundred list entries. The delta names the node-table changes
// (removed ids, added or changed entries) and the list entries that differ
// once the base's node indexes are mapped onto the new table by id, so a
// join costs its node entry plus its moved entries (tens of bytes).
//
// Encoding (docs/FORMATS.md, "Layout delta"):
//   u8      format (1)
//   u8      partition bits (the base's: a delta never changes Q)
//   u64be   version of the result
//   varint  removed count, then per removed node its base index as the gap
//           from the previous one plus one (strictly ascending)
//   varint  upsert count, then per node a layout node entry (ids strictly
//           ascending): replaces the base's node of that id, else is added
//   u8      width (the base's: a delta never changes it)
//   varint  changed entry count, then per entry its position
//           (partition × width + column) as the gap from the previous one
//           plus one, and the node index in the result's table
//
// decode_layout_delta checks the syntax alone (peers' messages are checked
// before any base is at hand); apply_layout_delta checks it against the base
// and the result against every layout invariant (Layout::create). Who sends
// a delta names the digest of the base and of the result (cluster/messages.h
// ClusterUpdate), so a receiver never applies one to the wrong base.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "ring/layout.h"

namespace ringkv {

struct LayoutDelta {
  uint32_t partition_bits = 0;
  uint64_t version = 0;
  std::vector<uint32_t> removed;  // base indexes, ascending
  std::vector<RingNode> upserts;  // ids ascending
  uint32_t width = 0;
  struct Entry {
    uint64_t position = 0;  // partition × width + column
    uint32_t node = 0;      // index in the result's node table
    bool operator==(const Entry&) const = default;
  };
  std::vector<Entry> changed;  // positions ascending
  bool operator==(const LayoutDelta&) const = default;
};

// The delta that turns `base` into `next`; nullopt when none can
// (different partition bits or widths, or either is the empty layout): send
// the whole layout.
std::optional<std::string> encode_layout_delta(const Layout& base, const Layout& next);

// Rejects, with `corruption`, anything encode_layout_delta would not write:
// truncation, an unknown format, out-of-range fields, gaps that overflow,
// unsorted ids, trailing bytes; counts are checked against the bytes left
// before allocating.
Result<LayoutDelta> decode_layout_delta(std::string_view bytes);

// `base` with `delta` applied. Rejects (corruption) a delta of other
// partition bits or width, a removed index outside the base, an entry
// outside the lists, and a result that breaks a layout invariant (a list
// still naming a removed node, a node twice in a list).
Result<Layout> apply_layout_delta(const Layout& base, const LayoutDelta& delta);

}  // namespace ringkv
