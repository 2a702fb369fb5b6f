// Node file: the node table an operator writes for `ringkv ring plan`, as TOML.
//
//   [[node]]
//   id = "node-a1"      # required: 1..255 bytes, unique in the file
//   capacity = 2        # required: integer weight 1..kCapacityMax
//   zone = "zone-a"     # optional: failure zone, "" when absent
//   state = "active"    # optional: "active" (default) or "leaving"
//
// Parsing is pure: it takes the file's text, not its path, so the ring keeps no
// I/O (the CLI reads the file). Every error is a value that names the line and,
// once the id is known, the node, so the operator can go straight to the fix.
// The parser rejects anything it does not understand (unknown fields, other
// top-level keys) rather than ignoring it: a typo such as `capacty = 4` would
// otherwise silently plan with the default weight.
//
// Thread safety: a pure function; call from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"
#include "ring/layout.h"

namespace ringkv {

// Bounds the text the parser accepts: a node table of kNodeCountMax nodes
// takes well under this, and the limit keeps a wrong file (a log, a dump) from
// being read whole.
inline constexpr size_t kNodeFileBytesMax = 16 * 1024 * 1024;

// Parses `text` into a node table in file order. `source_name` (usually the
// path) prefixes every message: "<source_name> line <L>: <what>".
// Fails with invalid_argument for: a TOML syntax error, a top-level key other
// than `node`, a `node` that is not an array of tables, no nodes, an unknown
// field, a missing or non-string id, a duplicate id (naming both lines), a
// capacity that is not an integer in 1..kCapacityMax, a zone or id over 255
// bytes, an unknown state, more than kNodeCountMax nodes; and with too_large
// for text over kNodeFileBytesMax.
Result<std::vector<RingNode>> parse_node_file(std::string_view text, std::string_view source_name);

}  // namespace ringkv
