// Coordinator: the client requests this node coordinates — puts (its own
// clients' and those other nodes forward to it), gets — from arrival to
// answer (Dynamo §4.5; "The path of a put" and "The path of a get" in
// docs/ARCHITECTURE.md; coordinator_put.cpp and coordinator_get.cpp).
//
// It owns every such request in flight as a typed value (node_core_ops.h):
// puts awaiting w acknowledgements, puts forwarded to a replica awaiting its
// answer, forwarded puts already taken (deduplication), gets awaiting r
// answers. The replica service (answering another coordinator's writes and
// reads) is the core's.
//
// Invariants:
//   1. Every request is answered exactly once: by its quorum, a refusal, or
//      its deadline (request_timeout_ms).
//   2. A put is acknowledged only after w replicas (and, for a strict store
//      during a move, w of the target's too) stored it as the store's
//      durability promises; the local copy counts only once written.
//   3. The key stays locked from numbering until the local copy is written,
//      so no later put numbers a dot from a record that lacks this one.
//   4. A forwarded put is coordinated at most once per (sender, op).
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_core_ops.h"
#include "common/status.h"
#include "storage/store_catalog.h"
#include "version/sibling_set.h"

namespace ringkv {

class NodeCore;

class Coordinator {
 public:
  explicit Coordinator(NodeCore& core) : core_(core) {}
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // A client's put and get (NodeCore::put and get).
  void put(uint64_t now_ms, RequestId request, std::string_view store, std::string key,
           VersionVector seen, Version version);
  void get(uint64_t now_ms, RequestId request, std::string_view store, std::string key);
  // Stand-in retries, then puts, forwards and gets past their deadline.
  void tick(uint64_t now_ms);

  void on_forward_put(uint64_t now_ms, const NodeId& from, ForwardPut message);
  void on_forward_reply(ForwardPutReply message);
  // True when `op` is a put of this coordinator (its replica acknowledgements
  // come here; others are hint deliveries).
  bool coordinates_put(uint64_t op) const { return puts_.count(op) != 0; }
  void put_acknowledged(uint64_t op, const NodeId& node, Status status);
  void get_answered(uint64_t op, const NodeId& node, Result<SiblingSet> answer);
  // True when no put this node started under a target other than
  // `target_digest` is still open (gossiped: receivers wait for it).
  bool writes_under(uint64_t target_digest) const;

 private:
  using Origin = core_ops::Origin;
  using PendingPut = core_ops::PendingPut;
  using PendingForward = core_ops::PendingForward;
  using PendingGet = core_ops::PendingGet;
  using ClientWrite = core_ops::ClientWrite;
  using Target = core_ops::Target;
  using ReadAnswer = core_ops::ReadAnswer;

  // The store a client's request names, or why this node cannot serve it
  // (no such store, or no layout yet).
  Result<const StoreEntry*> request_store(std::string_view name, uint64_t now_ms);
  // Coordinates a put here: a client's, or one another node forwarded
  // (`origin.from`); locks the key, then coordinate_locked_put().
  void coordinate_put(uint64_t now_ms, Origin origin, const StoreEntry& store, std::string key,
                      VersionVector seen, Version version, bool single_use_actor = false);
  // With the key locked: checks, numbers and sends the write, or returns
  // why it was refused (the caller answers and releases the key).
  Status coordinate_locked_put(uint64_t now_ms, Origin& origin, ClientWrite& write);
  // A strict store's write (read) needs `needed` replicas believed up: ok,
  // or unavailable naming the ones down.
  Status strict_reachable(const StoreEntry& store, const std::vector<NodeId>& replicas,
                          uint32_t needed, uint64_t now_ms, bool read) const;
  // Reads the key's set (or a stand-in's copy), picks the actor and applies
  // the client's put to the set.
  Status number_put(uint64_t now_ms, ClientWrite& write, const std::vector<Target>& targets);
  // Sends the write to its targets and issues the local copy; returns the
  // replica a local hint stands in for, if any.
  std::optional<NodeId> send_put_copies(uint64_t op, ClientWrite& write,
                                        const std::vector<Target>& targets, bool& local_write);
  // During a move: the target's new replicas get the write too.
  void send_put_extras(uint64_t op, const ClientWrite& write, const std::vector<NodeId>& replicas);
  // Where the copies of a write or read of `key` go: the replicas, with
  // stand-ins for those believed down when the store is sloppy.
  std::vector<Target> place(const StoreEntry& store, std::string_view key,
                            const std::vector<NodeId>& replicas);
  // The next node of `key`'s extended preference list that is believed up
  // and not in `exclude`.
  std::optional<NodeId> stand_in_for(const StoreEntry& store, std::string_view key,
                                     const std::vector<NodeId>& exclude);
  // Sends a silent replica's copy of a sloppy put to a stand-in (see PendingPut).
  void retry_with_stand_ins(uint64_t op);
  // "a, b, c" ("none" when empty), for messages that name nodes.
  static std::string node_list(const std::vector<NodeId>& nodes);
  void finish_put(uint64_t op, Status status);
  void answer_put(const Origin& origin, Status status, Dot dot, VersionVector context);
  void put_tick(uint64_t now_ms);

  void maybe_finish_get(uint64_t op);
  void read_repair(PendingGet& get);
  void get_tick(uint64_t now_ms);

  NodeCore& core_;
  std::map<uint64_t, PendingPut> puts_;
  std::map<uint64_t, PendingForward> forwards_;
  // Forwarded puts already coordinated, (from, op) -> when to forget it
  // (twice the request deadline: a duplicate cannot arrive later than that).
  std::map<std::pair<NodeId, uint64_t>, uint64_t> forwards_taken_;
  std::map<uint64_t, PendingGet> gets_;
};

}  // namespace ringkv
