#include "common/store_config.h"

#include <tuple>

#include <fmt/format.h>

namespace ringkv {

bool wins_over(const StoreConfig& candidate, const StoreConfig& incumbent) {
  auto key = [](const StoreConfig& config) {
    return std::tuple(config.n, config.w, config.r, static_cast<int>(config.quorum),
                      static_cast<int>(config.conflicts), static_cast<int>(config.durability));
  };
  return key(candidate) > key(incumbent);
}

Status validate(const StoreConfig& config) {
  if (config.n < 1 || config.n > kReplicationMax) {
    return {Code::invalid_argument,
            fmt::format("n (replication factor) must be between 1 and {}, got {}", kReplicationMax,
                        config.n)};
  }
  if (config.r < 1 || config.r > config.n) {
    return {Code::invalid_argument,
            fmt::format("r (read quorum) must be between 1 and n={}, got {}", config.n, config.r)};
  }
  if (config.w < 1 || config.w > config.n) {
    return {Code::invalid_argument,
            fmt::format("w (write quorum) must be between 1 and n={}, got {}", config.n, config.w)};
  }
  return Status::Ok();
}

Status validate_store_name(std::string_view name) {
  if (name.empty() || name.size() > kStoreNameBytesMax) {
    return {Code::invalid_argument, fmt::format("store name must be 1 to {} bytes, got {}",
                                                kStoreNameBytesMax, name.size())};
  }
  if (name[0] == '.') {
    return {Code::invalid_argument, "store name must not start with '.'"};
  }
  for (const char character : name) {
    const bool allowed = (character >= 'a' && character <= 'z') ||
                         (character >= 'A' && character <= 'Z') ||
                         (character >= '0' && character <= '9') || character == '_' ||
                         character == '-' || character == '.';
    if (!allowed) {
      return {Code::invalid_argument,
              "store name may contain only letters, digits, '_', '-' and '.'"};
    }
  }
  return Status::Ok();
}

std::vector<std::string> guarantees(const StoreConfig& config) {
  std::vector<std::string> out;
  if (config.r + config.w > config.n) {
    if (config.quorum == QuorumMode::strict) {
      out.emplace_back(
          "r + w > n with strict quorums: a read that starts after a write was acknowledged "
          "sees it or a successor");
    } else {
      out.emplace_back(
          "r + w > n with sloppy quorums: reads usually see the latest acknowledged write, but "
          "not while stand-ins hold it during failures");
    }
  } else {
    out.emplace_back("r + w <= n: a read may miss an acknowledged write until replicas converge");
  }
  if (config.quorum == QuorumMode::sloppy) {
    out.emplace_back("sloppy quorum: writes are accepted while any w healthy nodes are reachable");
  } else {
    out.emplace_back(
        "strict quorum: writes are refused (503) unless w preference-list replicas"
        " are reachable");
  }
  if (config.conflicts == ConflictMode::siblings) {
    out.emplace_back(
        "siblings: concurrent writes are all kept and returned until a client merges"
        " them");
  } else {
    out.emplace_back(
        "lww: of concurrent writes only the one with the latest timestamp is"
        " returned; the others are lost knowingly");
  }
  if (config.durability == Durability::sync) {
    out.emplace_back("sync: a replica acknowledges only after its write is fsynced");
  } else {
    out.emplace_back(
        "periodic: acknowledged writes of the last sync interval may be lost on"
        " power failure of w replicas");
  }
  if (config.w == 1) {
    out.emplace_back("w = 1: an acknowledged write lives on one replica until it replicates");
  }
  return out;
}

std::string_view to_string(QuorumMode mode) {
  return mode == QuorumMode::sloppy ? "sloppy" : "strict";
}
std::string_view to_string(ConflictMode mode) {
  return mode == ConflictMode::siblings ? "siblings" : "lww";
}
std::string_view to_string(Durability durability) {
  return durability == Durability::sync ? "sync" : "periodic";
}

bool parse(std::string_view text, QuorumMode& out) {
  if (text == "sloppy") {
    out = QuorumMode::sloppy;
  } else if (text == "strict") {
    out = QuorumMode::strict;
  } else {
    return false;
  }
  return true;
}
bool parse(std::string_view text, ConflictMode& out) {
  if (text == "siblings") {
    out = ConflictMode::siblings;
  } else if (text == "lww") {
    out = ConflictMode::lww;
  } else {
    return false;
  }
  return true;
}
bool parse(std::string_view text, Durability& out) {
  if (text == "sync") {
    out = Durability::sync;
  } else if (text == "periodic") {
    out = Durability::periodic;
  } else {
    return false;
  }
  return true;
}

}  // namespace ringkv
