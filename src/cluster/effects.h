// The node core's driver interface (cluster/node_core.h): what the core asks
// its driver to do (effects) and what it answers clients with. ClusterNode
// (server/cluster_node.h) carries out every effect; a new effect type
// without a handler there does not compile (std::visit over an overload set).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/messages.h"
#include "ring/assignment.h"
#include "storage/engine.h"
#include "storage/store_catalog.h"
#include "version/sibling_set.h"

namespace ringkv {

using RequestId = uint64_t;  // a client request, numbered by the driver

// ---- effects ----

struct SendEffect {
  NodeId to;
  PeerMessage message;
};

// Write `batch` to the node's engine. The driver must call
// NodeCore::write_done(id, status) after the batch is applied and, when
// `durable`, synced to disk — and must report a failure rather than success
// if either went wrong. Writes complete in the order they were issued.
struct WriteEffect {
  uint64_t id = 0;
  WriteBatch batch;
  bool durable = true;
};

struct PutReply {
  RequestId request = 0;
  Status status;
  Dot dot;                // on success: the new version's dot
  VersionVector context;  // on success: for the client
};

struct GetReply {
  RequestId request = 0;
  Status status;
  SiblingSet set;  // on success: every concurrent version (empty: never written)
  const StoreEntry* store = nullptr;
};

struct CreateStoreDone {
  RequestId request = 0;
  Status status;
  const StoreEntry* store = nullptr;
  bool created = false;  // false: an identical store existed
};

// The members changed (a join, an update, a start): the driver updates its
// address book before it runs the effects that follow.
struct MembersChanged {
  std::vector<Member> members;
  std::string cluster_id;  // the handshake states it (net/peer_link.h set_cluster)
};

// An operator's change to the owners' table (POST /v1/cluster/changes).
// Nodes to add must be members already (started with --join, standby).
struct ClusterChange {
  struct Add {
    NodeId id;
    std::optional<uint32_t> capacity;  // default: the capacity it joined with
    std::optional<std::string> zone;   // default: the zone it joined with
  };
  std::vector<Add> add;
  std::vector<NodeId> remove;
  std::vector<std::pair<NodeId, uint32_t>> capacity;
  bool cancel = false;  // restore the current layout's table (stop a move)
};

// An operator's change to the client API tokens (POST/DELETE /v1/tokens):
// a token to add (the server drew its id and secret and hashes the secret;
// the core never sees a secret), or the id of one to revoke. Answered with a
// ClusterChangeDone (no plan).
struct TokenChange {
  std::optional<ApiToken> create;
  std::string revoke;
};

struct ClusterChangeDone {
  RequestId request = 0;
  Status status;
  bool committed = false;
  // On success: the plan from the current layout to the new owners' table
  // (moves against the lower bound, balance); none when the table equals
  // the layout's (nothing to move).
  std::optional<AssignmentPlan> plan;
};

using Effect = std::variant<SendEffect, WriteEffect, PutReply, GetReply, CreateStoreDone,
                            MembersChanged, ClusterChangeDone>;

}  // namespace ringkv
