// A store's configuration: fixed at creation, never changed afterwards.
//
// A cluster hosts many named stores; each chooses its own point on the
// consistency / availability / cost curve: replication `n`, read
// quorum `r`, write quorum `w`, quorum mode, conflict mode and durability.
//
// Invariants of a valid config (validate() checks them):
//   1. 1 <= n <= kReplicationMax
//   2. 1 <= r <= n and 1 <= w <= n
// `r + w > n` is allowed but not required; guarantees() says what a config gives.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace ringkv {

// More replicas than this buys nothing a user would want and costs every write.
inline constexpr uint32_t kReplicationMax = 16;
// Store names are path segments and log fields: short and plain.
inline constexpr size_t kStoreNameBytesMax = 64;

enum class QuorumMode : uint8_t { sloppy = 0, strict = 1 };
enum class ConflictMode : uint8_t { siblings = 0, lww = 1 };
enum class Durability : uint8_t { sync = 0, periodic = 1 };

struct StoreConfig {
  uint32_t n = 3;
  uint32_t r = 2;
  uint32_t w = 2;
  QuorumMode quorum = QuorumMode::sloppy;
  ConflictMode conflicts = ConflictMode::siblings;
  Durability durability = Durability::sync;

  friend bool operator==(const StoreConfig&, const StoreConfig&) = default;
};

// Ok, or invalid_argument with a sentence naming the field and the allowed range.
Status validate(const StoreConfig& config);

// Of two configurations created at once under one name, the one every node
// keeps: the greater by (n, w, r, quorum, conflicts, durability), so the
// store with more copies wins. A total order: every node decides alike.
bool wins_over(const StoreConfig& candidate, const StoreConfig& incumbent);

// Ok, or invalid_argument: 1..64 bytes of [A-Za-z0-9_.-], not starting with '.'.
Status validate_store_name(std::string_view name);

// Human-readable statements of what this configuration guarantees or risks,
// e.g. "r + w > n: a read sees the latest acknowledged write when quorums are strict".
std::vector<std::string> guarantees(const StoreConfig& config);

std::string_view to_string(QuorumMode mode);
std::string_view to_string(ConflictMode mode);
std::string_view to_string(Durability durability);
bool parse(std::string_view text, QuorumMode& out);
bool parse(std::string_view text, ConflictMode& out);
bool parse(std::string_view text, Durability& out);

}  // namespace ringkv
