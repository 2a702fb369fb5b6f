// StoreCreation: the creation of a store on every member, and of a store a
// peer's message names on this node (the rules are in store_creation.cpp).
//
// It owns the creations this node coordinates (awaiting members' answers)
// and the names whose catalog entry is being written here, with the work
// waiting for each. The catalog itself is the core's.
//
// Invariants:
//   1. A store is in the catalog only after its entry was written durably.
//   2. One catalog write per store name is in flight; work naming that store
//      waits for it and then runs against the result.
//   3. Every client's creation is answered exactly once.
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_core_ops.h"
#include "common/status.h"
#include "storage/store_catalog.h"

namespace ringkv {

class NodeCore;

class StoreCreation {
 public:
  explicit StoreCreation(NodeCore& core) : core_(core) {}
  StoreCreation(const StoreCreation&) = delete;
  StoreCreation& operator=(const StoreCreation&) = delete;

  // A client's creation (NodeCore::create_store).
  void create_store(uint64_t now_ms, RequestId request, std::string_view name,
                    const StoreConfig& config);
  // Makes sure the store of a peer's message exists here, then runs `then`
  // with it (or with the failure).
  void ensure_store(const StoreSpec& spec, std::function<void(Result<const StoreEntry*>)> then);
  void on_create_store(const NodeId& from, CreateStore message);
  void on_create_reply(const NodeId& from, const CreateStoreReply& message);
  // Answers creations past their deadline; asks again the members that did
  // not answer.
  void tick(uint64_t now_ms);

 private:
  using PendingCreate = core_ops::PendingCreate;

  void create_acknowledged(uint64_t op, const NodeId& member);
  // A member answered a CreateStore (ok, or already_exists: it keeps a winning config).
  void create_replied(uint64_t op, const NodeId& member, const PeerStatus& status);
  void answer_create(PendingCreate& pending);

  NodeCore& core_;
  std::map<uint64_t, PendingCreate> creates_;  // op -> a creation awaiting members
  // Store names being written here -> work waiting for the write.
  std::unordered_map<std::string, std::vector<std::function<void()>>> creating_;
};

}  // namespace ringkv
