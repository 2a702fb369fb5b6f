// Fuzzes the HTTP API's JSON request bodies (server/api_bodies.h): each
// input is given to all three parsers. Invariants: no crash and no exception
// on any bytes; a parse that fails sets a non-empty error; a store config
// that parses (valid or not) is written by store_config_json(), serialized,
// and parses back to the same config, which validates alike and gives the
// same guarantees(); a change that parses is not empty and its capacities
// are within 1..kCapacityMax; a token request that parses names a store
// exactly when its scope is read or write.
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <string>
#include <string_view>

#include "ring/layout.h"
#include "server/api_bodies.h"

namespace {

void check_store_config(std::string_view body) {
  ringkv::StoreConfig config;
  std::string error;
  if (!ringkv::parse_store_config(body, config, error)) {
    if (error.empty())
      std::abort();
    return;
  }
  const std::string written = boost::json::serialize(ringkv::store_config_json(config));
  // Every field must come from the written body: none starts out right.
  using ringkv::ConflictMode, ringkv::Durability, ringkv::QuorumMode;
  ringkv::StoreConfig again;
  again.n = config.n + 1;
  again.r = config.r + 1;
  again.w = config.w + 1;
  again.quorum = config.quorum == QuorumMode::sloppy ? QuorumMode::strict : QuorumMode::sloppy;
  again.conflicts =
      config.conflicts == ConflictMode::siblings ? ConflictMode::lww : ConflictMode::siblings;
  again.durability =
      config.durability == Durability::sync ? Durability::periodic : Durability::sync;
  std::string again_error;
  if (!ringkv::parse_store_config(written, again, again_error) || !(again == config))
    std::abort();
  const ringkv::Status valid = ringkv::validate(config);
  const ringkv::Status valid_again = ringkv::validate(again);
  if (valid.ok() != valid_again.ok() || valid.message() != valid_again.message() ||
      ringkv::guarantees(config) != ringkv::guarantees(again))
    std::abort();
}

void check_change(std::string_view body) {
  ringkv::ClusterChange change;
  std::string error;
  if (!ringkv::parse_change(body, change, error)) {
    if (error.empty())
      std::abort();
    return;
  }
  if (change.cancel || (change.add.empty() && change.remove.empty() && change.capacity.empty()))
    std::abort();
  for (const ringkv::ClusterChange::Add& add : change.add) {
    if (add.capacity && (*add.capacity < 1 || *add.capacity > ringkv::kCapacityMax))
      std::abort();
  }
  for (const auto& [id, capacity] : change.capacity) {
    if (capacity < 1 || capacity > ringkv::kCapacityMax)
      std::abort();
  }
}

void check_token_request(std::string_view body) {
  ringkv::TokenRequest request;
  std::string error;
  if (!ringkv::parse_token_request(body, request, error)) {
    if (error.empty())
      std::abort();
    return;
  }
  if ((request.scope == ringkv::TokenScope::admin) != request.store.empty())
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    check_store_config(body);
    check_change(body);
    check_token_request(body);
  } catch (...) {
    std::abort();  // a parser threw: the server would answer 500, not 400
  }
  return 0;
}
