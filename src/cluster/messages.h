// Messages between nodes, as plain values. The core (node_core.h) sends and
// receives these; the transport (src/net) encodes them as Protocol Buffers
// frames and the simulator passes them as they are.
//
// Every request carries `op`, a number unique among the sender's open requests;
// the reply echoes it. Every message about a store carries the store's name
// and configuration (StoreSpec), so a node that missed the store's creation
// learns it from the first message about it and never refuses replication for
// an unknown store.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "cluster/cluster_state.h"
#include "common/status.h"
#include "common/store_config.h"
#include "version/sibling_set.h"

namespace ringkv {

using NodeId = std::string;  // a node's id in the layout

struct StoreSpec {
  std::string name;
  StoreConfig config;
  friend bool operator==(const StoreSpec&, const StoreSpec&) = default;
};

// The outcome of a request on the peer: ok, or a code and a sentence.
struct PeerStatus {
  Code code = Code::ok;
  std::string message;
  static PeerStatus from(const Status& status) { return {status.code(), status.message()}; }
  Status to_status() const { return code == Code::ok ? Status::Ok() : Status(code, message); }
  friend bool operator==(const PeerStatus&, const PeerStatus&) = default;
};

// Coordinator -> replica: merge `set` into your copy of the key, durably as
// the store promises, then acknowledge. Also read repair (op 0: no reply).
struct ReplicaWrite {
  uint64_t op = 0;
  StoreSpec store;
  std::string key;
  SiblingSet set;
  friend bool operator==(const ReplicaWrite&, const ReplicaWrite&) = default;
};
struct ReplicaWriteReply {
  uint64_t op = 0;
  PeerStatus status;
  friend bool operator==(const ReplicaWriteReply&, const ReplicaWriteReply&) = default;
};

// Coordinator -> replica: your copy of the key.
struct ReplicaRead {
  uint64_t op = 0;
  StoreSpec store;
  std::string key;
  friend bool operator==(const ReplicaRead&, const ReplicaRead&) = default;
};
struct ReplicaReadReply {
  uint64_t op = 0;
  PeerStatus status;
  SiblingSet set;  // empty when the key was never written here
  friend bool operator==(const ReplicaReadReply&, const ReplicaReadReply&) = default;
};

// A node outside the key's preference list -> a replica: coordinate this put
// (so the new version's dot belongs to a replica).
struct ForwardPut {
  uint64_t op = 0;
  StoreSpec store;
  std::string key;
  VersionVector seen;
  Version version;
  friend bool operator==(const ForwardPut&, const ForwardPut&) = default;
};
struct ForwardPutReply {
  uint64_t op = 0;
  PeerStatus status;
  Dot dot;
  VersionVector context;
  friend bool operator==(const ForwardPutReply&, const ForwardPutReply&) = default;
};

// The node that created a store -> every other member.
struct CreateStore {
  uint64_t op = 0;
  StoreSpec store;
  friend bool operator==(const CreateStore&, const CreateStore&) = default;
};
struct CreateStoreReply {
  uint64_t op = 0;
  PeerStatus status;
  friend bool operator==(const CreateStoreReply&, const CreateStoreReply&) = default;
};

// A node that is not yet a member -> any member: admit me. The member that
// admits it computes the next layout, persists it and answers with the whole
// state; every other member gets a ClusterUpdate.
struct JoinRequest {
  uint64_t op = 0;
  Member member;
  friend bool operator==(const JoinRequest&, const JoinRequest&) = default;
};
struct JoinReply {
  uint64_t op = 0;
  PeerStatus status;
  std::vector<Member> members;
  std::string layout;  // encode_layout()
  friend bool operator==(const JoinReply&, const JoinReply&) = default;
};
// A member -> the others: the current members and layout; adopted when its
// layout version is higher than the receiver's.
struct ClusterUpdate {
  std::vector<Member> members;
  std::string layout;  // encode_layout()
  friend bool operator==(const ClusterUpdate&, const ClusterUpdate&) = default;
};

using PeerMessage = std::variant<ReplicaWrite, ReplicaWriteReply, ReplicaRead, ReplicaReadReply,
                                 ForwardPut, ForwardPutReply, CreateStore, CreateStoreReply,
                                 JoinRequest, JoinReply, ClusterUpdate>;

// A short name for logs and traces ("replica_write", ...).
std::string_view message_name(const PeerMessage& message);

}  // namespace ringkv
