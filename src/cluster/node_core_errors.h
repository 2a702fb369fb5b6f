// Errors (and the deadline scan) the node core's request paths share
// (node_core.cpp, coordinator_put.cpp, coordinator_get.cpp): each error says what
// went wrong and what to do.
#pragma once

#include <fmt/format.h>

#include <map>
#include <string_view>
#include <vector>

#include "cluster/node_core.h"

namespace ringkv::core_errors {

inline Status unknown_store(std::string_view store) {
  return {Code::not_found,
          fmt::format("no store named '{}'; create it first with PUT /v1/stores/{}", store, store)};
}

inline PutReply put_failed(RequestId request, Status status) {
  PutReply out;
  out.request = request;
  out.status = std::move(status);
  return out;
}

inline ForwardPutReply forward_failed(uint64_t op, PeerStatus status) {
  ForwardPutReply out;
  out.op = op;
  out.status = std::move(status);
  return out;
}

inline GetReply get_failed(RequestId request, Status status) {
  GetReply out;
  out.request = request;
  out.status = std::move(status);
  return out;
}

// A quorum larger than the cluster: refused rather than quietly weakened.
inline Status too_few_nodes(const StoreEntry& store, std::string_view quorum, uint32_t needed) {
  return {Code::unavailable,
          fmt::format("store '{}' needs {} = {} replicas but the cluster has fewer nodes; add "
                      "nodes (ringkv serve --join) or use a store with a smaller {}",
                      store.name, quorum, needed, quorum)};
}

// The ops of `pending` whose deadline has passed (collected first: answering
// an op erases it).
template <typename Pending>
std::vector<uint64_t> expired_ops(const std::map<uint64_t, Pending>& pending, uint64_t now_ms) {
  std::vector<uint64_t> out;
  for (const auto& [op, entry] : pending) {
    if (entry.deadline <= now_ms)
      out.push_back(op);
  }
  return out;
}

// Drops the ops of `pending` whose deadline has passed, answering nobody
// (checks and rounds whose starter simply tries again later).
template <typename Pending>
void forget_expired(std::map<uint64_t, Pending>& pending, uint64_t now_ms) {
  std::erase_if(pending, [&](const auto& entry) { return entry.second.deadline <= now_ms; });
}

inline Status no_layout() {
  return {Code::unavailable,
          "this node does not know the cluster layout yet; retry shortly or ask another node"};
}

}  // namespace ringkv::core_errors
