// The node core's pending operations (cluster/node_core.h), as typed
// values: each request, exchange or move the core has started and not
// finished is one of these, kept in a table by its op number, so a reader
// can see what state an operation carries and what completes it (replies
// matched by op, deadlines checked on ticks). Internal to the core.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cluster/effects.h"
#include "cluster/messages.h"
#include "cluster/write_rules.h"
#include "storage/store_catalog.h"
#include "version/sibling_set.h"
#include "version/version_vector.h"

namespace ringkv::core_ops {

// Who is waiting for a coordinated put: a client here, or a forwarding node.
struct Origin {
  RequestId request = 0;  // client request (when from is empty)
  NodeId from;            // forwarding node
  uint64_t op = 0;        // its op
};

struct PendingPut {
  Origin origin;
  uint32_t needed = 0;          // w
  uint32_t replicas = 0;        // nodes asked (n, plus stand-ins added later)
  std::vector<NodeId> waiting;  // nodes asked that have not answered
  uint32_t acks = 0;
  uint32_t failures = 0;
  Status last_failure;
  Dot dot;
  VersionVector context;
  uint64_t deadline = 0;
  // Sloppy stores: when w is not reached by `retry_at`, every silent
  // replica also gets a stand-in (the coordinator's failure detector may
  // not have caught up with a crash yet).
  uint64_t retry_at = UINT64_MAX;
  const StoreEntry* store = nullptr;
  std::string key;
  SiblingSet set;
  std::vector<NodeId> asked;  // every node sent the write
  // A strict store during a move (joint quorum): the target's replicas of
  // the key, of which `joint_needed` must acknowledge too, so that a read
  // of either replica set after the flip meets the write.
  std::vector<NodeId> joint;
  uint32_t joint_needed = 0;
  std::vector<NodeId> joint_only;  // of those, the ones outside the current list
  uint64_t target_digest = 0;      // the target when the put started (0: none)
  std::vector<NodeId> acked;       // nodes that acknowledged
  std::vector<NodeId> failed;      // nodes that refused
};

struct PendingForward {
  RequestId request = 0;
  NodeId to;
  uint64_t deadline = 0;
};

struct ReadAnswer {
  NodeId node;
  SiblingSet set;
};

// Where one copy of a write (or a read) goes: a replica, or a stand-in
// holding a hint for the replica `hint_for` (sloppy quorum).
struct Target {
  NodeId node;
  NodeId hint_for;
};

struct PendingGet {
  RequestId request = 0;
  const StoreEntry* store = nullptr;
  std::string key;
  uint32_t needed = 0;    // r
  uint32_t replicas = 0;  // n
  std::vector<NodeId> asked;
  std::set<NodeId> stand_ins;  // asked for their hints: not read-repaired
  // A strict store during a move: r of the target's replicas must answer
  // too (joint quorum); `joint_only` are those outside the current list.
  std::vector<NodeId> joint;
  uint32_t joint_needed = 0;
  std::set<NodeId> joint_only;
  std::vector<NodeId> failed;
  std::vector<ReadAnswer> answers;
  uint32_t failures = 0;
  Status last_failure;
  bool replied = false;
  uint64_t deadline = 0;
};

// A store creation being spread: the client is answered when every member
// has it or at the deadline; members that have not acknowledged are asked
// again every second until they do (so none keeps answering 404).
struct PendingCreate {
  RequestId request = 0;
  const StoreEntry* store = nullptr;
  StoreConfig config;             // as asked (the store's may be replaced: ensure_store)
  Status refused = Status::Ok();  // a member holds the name with a winning config
  bool created = false;
  bool answered = false;
  std::vector<NodeId> waiting;  // members that have not acknowledged
  uint64_t deadline = 0;
  uint64_t next_retry = 0;
};

struct HintTotals {
  uint64_t count = 0;
  uint64_t bytes = 0;
};

struct PendingHandoff {
  NodeId target;
  std::string hint_key;
  std::string value;  // as sent: deleted only if still the same
  uint64_t deadline = 0;
  NodeId sent_to;  // the target, or for a node that left, a new replica of the key
};

// A client write this node coordinates, once it holds the key's lock.
struct ClientWrite {
  const StoreEntry& store;
  std::string key;
  std::string data_key;
  VersionVector seen;
  Version version;
  bool single_use_actor = false;
  // Filled by number_put():
  bool stand_in_numbered = false;
  ActorId actor = 0;
  SiblingSet set{};          // the key's set with the new version
  std::string old_record{};  // the local record it replaces (Merkle upkeep)
  ClientPutResult applied{};
};

// Anti-entropy. A Merkle round also verifies a streamed partition
// (transfer) and hands a dropped one over (handover).
enum class AePurpose : uint8_t { regular, transfer, handover, recovery };

struct PendingAe {
  const StoreEntry* store = nullptr;
  uint32_t partition = 0;
  NodeId peer;
  uint64_t deadline = 0;
  std::vector<uint32_t> leaves;  // sent in AeSync
  AePurpose purpose = AePurpose::regular;
  bool complete = true;  // every differing leaf was in `leaves`
};

// Tombstone collection.
struct PendingReap {
  const StoreEntry* store = nullptr;
  std::vector<std::string> keys;
  std::vector<uint64_t> hashes;
  std::vector<bool> agreed;
  std::vector<NodeId> waiting;
  uint64_t deadline = 0;
};

// Clock pruning (clock_pruner.cpp).
struct PendingPrune {
  std::string store;
  std::vector<std::string> keys;
  std::vector<std::vector<ActorId>> actors;  // per key, ascending
  std::vector<bool> agreed;
  std::vector<NodeId> waiting;
  uint64_t deadline = 0;
  bool confirming = false;  // the second check, prune_delay_ms after the first
};

// Rebalancing (rebalancer.cpp).
struct Transfer {
  enum class Phase : uint8_t { pending, streaming, merging, verifying, done };
  const StoreEntry* store = nullptr;
  uint32_t partition = 0;
  Phase phase = Phase::pending;
  std::string after;      // checkpoint: the last data key merged (durably recorded)
  bool streamed = false;  // the whole range arrived: verify
  bool stays = false;     // a current replica too (a shrinking list): verify only
  // Current replicas compared with since every node knew the target
  // `verified_for` (not only the source: a write acknowledged before the
  // move may be on others only). See verifications_needed().
  std::vector<NodeId> verified;
  uint64_t verified_for = 0;
  NodeId source;
  uint64_t op = 0;  // the request in flight
  uint64_t deadline = 0;
  uint64_t next_at = 0;
};

struct Handover {
  const StoreEntry* store = nullptr;
  uint32_t partition = 0;
  std::vector<NodeId> owners;  // current replicas still to hand over to
  uint64_t op = 0;
  uint64_t deadline = 0;
  uint64_t layout_version = 0;  // the layout `owners` came from
  // Leaves of the partition (-> this node's leaf hash when sent) that the
  // current owner has merged durably, and those in the round in flight.
  // This node's copy is frozen during a handover, so a leaf that differs
  // again differs by the owner's newer keys: it is not sent again, and a
  // round that finds only such leaves completes. (Resending them made the
  // handover endless once the owner's new keys spread over more leaves
  // than one round sends.)
  std::map<uint32_t, uint64_t> synced, sending;
};

}  // namespace ringkv::core_ops
