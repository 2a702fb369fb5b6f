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
// the store promises, then acknowledge. Also read repair (op 0: no reply) and
// hint handoff. With `hint_for` set, the receiver is a stand-in for that
// replica (sloppy quorum): it merges the set into its hint for that replica
// instead, durably, and hands it off when the replica is back.
struct ReplicaWrite {
  uint64_t op = 0;
  StoreSpec store;
  std::string key;
  SiblingSet set;
  NodeId hint_for;
  bool sync = false;  // merge durably even in a periodic store (handoff deletes its hint after)
  // The coordinator's layout version and target digest, on a strict
  // store's client writes (0: no check). A replica with a newer layout, or
  // one that knows a target the coordinator does not, refuses it: the
  // coordinator's quorum might not meet the new replicas'.
  uint64_t layout_version = 0;
  uint64_t target_digest = 0;
  friend bool operator==(const ReplicaWrite&, const ReplicaWrite&) = default;
};
struct ReplicaWriteReply {
  uint64_t op = 0;
  PeerStatus status;
  friend bool operator==(const ReplicaWriteReply&, const ReplicaWriteReply&) = default;
};

// Coordinator -> replica: your copy of the key (with `hint_for`: a stand-in's
// hint for that replica, empty when it holds none).
struct ReplicaRead {
  uint64_t op = 0;
  StoreSpec store;
  std::string key;
  NodeId hint_for;
  uint64_t layout_version = 0;  // as in ReplicaWrite, on a strict store's reads
  uint64_t target_digest = 0;
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
// With `auto_add` (the default) the node is added to the owners' table at
// once (a layout change); without, it joins as a standby member and holds
// nothing until an operator adds it. A member asking again with the same
// entry (a restart with its data directory) changes nothing.
struct JoinRequest {
  uint64_t op = 0;
  Member member;
  bool auto_add = true;
  friend bool operator==(const JoinRequest&, const JoinRequest&) = default;
};
struct JoinReply {
  uint64_t op = 0;
  PeerStatus status;
  std::vector<Member> members;
  std::string layout;  // encode_layout()
  std::string cluster_id;
  std::vector<ApiToken> tokens;  // the cluster's client API tokens (hashes)
  friend bool operator==(const JoinReply&, const JoinReply&) = default;
};
// A member -> the others: its whole cluster state (cluster id, members,
// layout and API tokens), merged into the receiver's (merge_cluster_states) and adopted when
// that changes anything; refused when the cluster id is another cluster's.
// When the receiver said by gossip which state and layout it holds and the
// sender kept those, the update carries only what changed since:
// - `state_base` (its state digest): `members` lists only the entries that
//   differ from that state's. Entries merge one by one and only grow
//   (cluster_state.h), so the receiver merges the entries it has with these;
// - `layout_base` (its layout's digest): `layout` is a delta
//   (ring/layout_delta.h) giving the layout of digest `layout_digest`; a
//   receiver whose layout is not the base, or whose result has another
//   digest, drops the update (counted) and gets a whole one next round.
// At 10,000 nodes a whole update is ~1.2 MB; one after a join ~200 bytes.
struct ClusterUpdate {
  std::vector<Member> members;
  std::string layout;  // encode_layout(), or encode_layout_delta() when layout_base != 0
  std::string cluster_id;
  std::vector<ApiToken> tokens;
  uint64_t layout_base = 0;    // 0: `layout` is whole
  uint64_t layout_digest = 0;  // with a base: digest64 of the encoded result
  uint64_t state_base = 0;     // 0: `members` are all of them
  friend bool operator==(const ClusterUpdate&, const ClusterUpdate&) = default;
};

// Gossip, push-pull, every gossip interval with a few random members: the
// sender's view of every member's heartbeat and its layout version. The
// receiver takes every heartbeat newer than its own view (feeding its failure
// detector), answers a push with its own view (reply = true), and sends a
// ClusterUpdate when the sender's state digest differs from its own. A
// heartbeat also carries its node's rebalancing progress and its own counts
// (for GET /v1/cluster), as of that counter.
struct Heartbeat {
  NodeId node;
  uint64_t generation = 0;   // the node's start; higher at every restart
  uint64_t counter = 0;      // rises every gossip round within a generation
  uint64_t target = 0;       // digest of the target layout the node knows (0: none)
  uint64_t ready = 0;        // digest of the target whose data it holds in full (0: none)
  uint64_t partitions = 0;   // (store, partition)s it replicates
  uint64_t keys = 0;         // records in its data column
  uint64_t bytes = 0;        // their bytes
  uint64_t moves_total = 0;  // (store, partition)s it receives for the target
  uint64_t moves_done = 0;   // ... of which received and verified
  uint64_t moved_bytes = 0;  // bytes it received by streaming for the target
  uint64_t hints = 0;        // hints it holds (for any node)
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};
struct Gossip {
  bool reply = false;
  uint64_t state_digest = 0;  // of the sender's encoded cluster state
  std::vector<Heartbeat> heartbeats;
  // Of the sender's store names and configurations: a receiver whose own differs sends it
  // every store it has (CreateStore), so a node that joined late learns
  // every store and moves every store's data.
  uint64_t stores_digest = 0;
  // digest64 of the sender's encoded layout (0: none): a ClusterUpdate to it
  // may carry the layout as a delta from that one.
  uint64_t layout_digest = 0;
  friend bool operator==(const Gossip&, const Gossip&) = default;
};

// Anti-entropy (Merkle trees, storage/merkle.h), between two replicas of one
// (store, partition), started by either on a slow schedule:
//   AeRoots     A -> B  A's 16 branch hashes;
//   AeLeaves    B -> A  B's 16 leaf hashes of every branch that differs
//                       (none: the copies agree, done);
//   AeSync      A -> B  the leaves that differ and A's keys in them;
//   AeSyncReply B -> A  B's keys in those leaves (as they were before B
//                       merged A's), which A merges.
// Both sides merge (never overwrite), durably as the store promises.
struct AeEntry {
  std::string key;
  SiblingSet set;
  friend bool operator==(const AeEntry&, const AeEntry&) = default;
};
struct AeBranch {
  uint32_t index = 0;
  std::vector<uint64_t> leaves;  // kMerkleLeavesPerBranch hashes
  friend bool operator==(const AeBranch&, const AeBranch&) = default;
};
struct AeRoots {
  uint64_t op = 0;
  StoreSpec store;
  uint32_t partition = 0;
  uint32_t partition_bits = 0;
  std::vector<uint64_t> branches;  // kMerkleBranches hashes
  friend bool operator==(const AeRoots&, const AeRoots&) = default;
};
struct AeLeaves {
  uint64_t op = 0;
  PeerStatus status;
  std::vector<AeBranch> branches;  // only those that differ
  friend bool operator==(const AeLeaves&, const AeLeaves&) = default;
};
struct AeSync {
  uint64_t op = 0;
  StoreSpec store;
  uint32_t partition = 0;
  uint32_t partition_bits = 0;
  std::vector<uint32_t> leaves;
  std::vector<AeEntry> entries;
  // A former owner handing its copy over before it drops it: the receiver
  // answers only after every entry is merged durably.
  bool handover = false;
  friend bool operator==(const AeSync&, const AeSync&) = default;
};
struct AeSyncReply {
  uint64_t op = 0;
  PeerStatus status;
  std::vector<AeEntry> entries;
  friend bool operator==(const AeSyncReply&, const AeSyncReply&) = default;
};

// Tombstone collection (tombstone_collector.cpp): the first replica of a
// partition asks every member about keys whose records hold only tombstones
// older than the grace period; a member agrees to a key when its own copy is
// absent or exactly that record (`hashes`: merkle_entry_hash of key and
// record) and it holds no hint for the key. Only keys every member agreed to
// are reaped, each member deleting its copy only if it is still that record.
struct TombstoneCheck {
  uint64_t op = 0;
  StoreSpec store;
  std::vector<std::string> keys;
  std::vector<uint64_t> hashes;
  friend bool operator==(const TombstoneCheck&, const TombstoneCheck&) = default;
};
struct TombstoneCheckReply {
  uint64_t op = 0;
  std::vector<bool> agreed;  // per key of the check
  friend bool operator==(const TombstoneCheckReply&, const TombstoneCheckReply&) = default;
};
struct TombstoneReap {
  StoreSpec store;
  std::vector<std::string> keys;
  std::vector<uint64_t> hashes;
  friend bool operator==(const TombstoneReap&, const TombstoneReap&) = default;
};

// Clock pruning (clock_pruner.cpp): the first replica of a partition
// asks every member about keys whose records keep entries of actors with no
// live version (`actors`, per key). A member agrees to a key when none of
// those actors has a live version in its copy (or it has no copy), it holds
// no hint for the key, and no data moves. Keys every member agreed to twice,
// prune_delay_ms apart, are pruned: each member drops those entries from its
// copy where they still hold no live version.
struct PruneCheck {
  uint64_t op = 0;
  StoreSpec store;
  std::vector<std::string> keys;
  std::vector<std::vector<ActorId>> actors;  // per key
  friend bool operator==(const PruneCheck&, const PruneCheck&) = default;
};
struct PruneCheckReply {
  uint64_t op = 0;
  std::vector<bool> agreed;  // per key of the check
  friend bool operator==(const PruneCheckReply&, const PruneCheckReply&) = default;
};
struct ClockPrune {
  StoreSpec store;
  std::vector<std::string> keys;
  std::vector<std::vector<ActorId>> actors;  // per key
  friend bool operator==(const ClockPrune&, const ClockPrune&) = default;
};

// Partition streaming (rebalancer.cpp): a new replica of a (store,
// partition) pulls it from a current replica in key order, a chunk of at
// most `bytes_max` at a time, starting after data key `after` (empty: from
// the start). It merges each chunk durably and records `last` as its
// checkpoint before asking for the next, so a crash of either side resumes
// from there.
struct StreamRequest {
  uint64_t op = 0;
  StoreSpec store;
  uint32_t partition = 0;
  uint32_t partition_bits = 0;
  std::string after;  // a data key (storage/data_key.h); empty: the start
  uint64_t bytes_max = 0;
  friend bool operator==(const StreamRequest&, const StreamRequest&) = default;
};
struct StreamChunk {
  uint64_t op = 0;
  PeerStatus status;
  std::vector<AeEntry> entries;
  std::string last;   // the data key of the last entry (the next `after`)
  bool done = false;  // nothing after `last`
  friend bool operator==(const StreamChunk&, const StreamChunk&) = default;
};

using PeerMessage =
    std::variant<ReplicaWrite, ReplicaWriteReply, ReplicaRead, ReplicaReadReply, ForwardPut,
                 ForwardPutReply, CreateStore, CreateStoreReply, JoinRequest, JoinReply,
                 ClusterUpdate, Gossip, AeRoots, AeLeaves, AeSync, AeSyncReply, TombstoneCheck,
                 TombstoneCheckReply, TombstoneReap, StreamRequest, StreamChunk, PruneCheck,
                 PruneCheckReply, ClockPrune>;

// For the last branch of an `if constexpr` chain over PeerMessage's types:
// `static_assert(kNoHandlerFor<T>, ...)` makes a type without a branch a
// compile error, so a new message cannot be silently ignored.
template <typename T>
inline constexpr bool kNoHandlerFor = false;

// A short name for logs and traces ("replica_write", ...).
std::string_view message_name(const PeerMessage& message);

}  // namespace ringkv
