// NodeCore: everything one node decides, as a deterministic state machine
// (docs/ARCHITECTURE.md; etcd raft's Ready is the model).
//
// Events in: client requests (put, get, create store), peer messages, the
// completion of a storage write, and ticks; each carries the current time.
// Effects out (take_effects(), cluster/effects.h): messages to peers, writes
// to storage, and replies to clients. The core has no sockets, threads, clocks
// or randomness; one driver runs it, ClusterNode (server/cluster_node.h),
// which `ringkv serve` wires to RocksDB, TCP and the system clocks and the
// simulator (sim/) to deterministic versions of each. Its settings:
// cluster/node_core_options.h.
//
// Reads of local records are synchronous calls on the Engine interface (a
// RocksDB get is a memtable or block-cache lookup); writes are effects because
// they wait for group commit and fsync.
//
// Coordination (Dynamo §4.5; docs/ARCHITECTURE.md, "The path of a put" and
// "The path of a get"): a put is coordinated by a replica of the key (a
// node outside the list forwards it), written locally and sent to the other
// replicas at once, and answered when w have it durably; a get asks all n and
// answers with the merge of the first r, then repairs stale replicas; a store
// is created locally, then on every other member.
//
// Replica service: a ReplicaWrite merges into the local copy and is
// acknowledged after that write completed (durably, for a `sync` store); a
// ReplicaRead answers the local copy. Writes to one key are serialised, so no
// read-modify-write loses another.
//
// Invariants:
//   1. A reply or acknowledgement of a write follows the completion of that
//      write (WriteEffect's rule), never precedes it.
//   2. A failed local write fences the node: every later write (coordinated or
//      replicated) fails with unavailable until the node restarts; a restart
//      after that takes a new actor (storage/node_identity.h), so no dot is
//      ever reused.
//   3. At most one write per key is in flight on this node.
//   4. Every client request is answered exactly once.
//
// Thread safety: none; one thread drives it.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "cluster/anti_entropy.h"
#include "cluster/clock_pruner.h"
#include "cluster/cluster_state.h"
#include "cluster/coordinator.h"
#include "cluster/effects.h"
#include "cluster/gossiper.h"
#include "cluster/hinted_handoff.h"
#include "cluster/key_locks.h"
#include "cluster/merkle_trees.h"
#include "cluster/messages.h"
#include "cluster/node_core_ops.h"
#include "cluster/node_core_options.h"
#include "cluster/node_core_views.h"
#include "cluster/rebalancer.h"
#include "cluster/recovery.h"
#include "cluster/store_creation.h"
#include "cluster/tombstone_collector.h"
#include "cluster/write_rules.h"
#include "common/limits.h"
#include "common/random.h"
#include "ring/assignment.h"
#include "ring/layout.h"
#include "ring/preference_list.h"
#include "storage/engine.h"
#include "storage/merkle.h"
#include "storage/store_catalog.h"
#include "version/sibling_set.h"

namespace ringkv {

// ---- the core ----

class NodeCore {
 public:
  // `reads` serves local reads (and must see every completed write);
  // `catalog` is the node's store catalog as loaded from it.
  NodeCore(NodeCoreOptions options, Engine& reads, StoreCatalog catalog);
  NodeCore(const NodeCore&) = delete;
  NodeCore& operator=(const NodeCore&) = delete;

  // The layout alone (the simulator and tests; no addresses). Until a layout
  // is set, requests fail with unavailable.
  void set_layout(Layout layout);
  const Layout* layout() const { return layout_ ? &*layout_ : nullptr; }

  // Membership (cluster_state.h). A node starts with the state it persisted
  // (adopt_cluster), or forms a cluster of itself (form_cluster: persisted,
  // then adopted), or is admitted by a member: the driver sends a
  // JoinRequest and the JoinReply is adopted (persisted first) here.
  void adopt_cluster(ClusterState state);
  void form_cluster(uint64_t now_ms, Member self, uint32_t partition_bits);
  const std::vector<Member>& members() const { return members_; }

  // Client requests. `version.timestamp_ms` is set from `now_ms` here.
  void put(uint64_t now_ms, RequestId request, std::string_view store, std::string key,
           VersionVector seen, Version version);
  void get(uint64_t now_ms, RequestId request, std::string_view store, std::string key);
  void create_store(uint64_t now_ms, RequestId request, std::string_view name,
                    const StoreConfig& config);
  // An operator's change (or, with `dry_run`, its plan): validated against
  // the members, committed (persisted, then spread) and answered with
  // ClusterChangeDone.
  void change_cluster(uint64_t now_ms, RequestId request, const ClusterChange& change,
                      bool dry_run);

  void receive(uint64_t now_ms, const NodeId& from, PeerMessage message);
  void write_done(uint64_t now_ms, uint64_t write_id, Status status);
  // Expires requests whose deadline passed. Call at least every 100 ms.
  void tick(uint64_t now_ms);

  // Everything the core wants done since the last call, in order.
  // Messages this node addressed to itself are handled here first (as if
  // they had arrived from the network), so no SendEffect ever names this
  // node: the transport drops such frames, and the simulator does too.
  std::vector<Effect> take_effects();

  const StoreCatalog& catalog() const { return catalog_; }
  Status write_fence() const { return fence_; }
  // Local writes refused for load and not yet issued again (a coordinator's
  // own copy, whose dot the other replicas may already hold). A stop with
  // any is not clean: after it the node must take a new actor, or it would
  // number another version with that dot.
  size_t unissued_writes() const { return retry_writes_.size(); }
  const NodeCoreOptions& options() const { return options_; }
  // This node's actor: one per epoch (a drop of a moved partition keeps it).
  ActorId actor() const { return options_.actor; }

  // What the core reports (node_core_views.h): how it sees each member,
  // its rebalancing, its recovery, its counters.
  using PeerView = core_views::PeerView;
  using Counts = core_views::Counts;
  using NodeView = core_views::NodeView;
  using RebalanceView = core_views::RebalanceView;
  using RecoveryView = core_views::RecoveryView;
  using Stats = core_views::Stats;
  std::vector<PeerView> peer_views(uint64_t now_ms) const { return gossiper_.peer_views(now_ms); }
  // The Merkle root of every partition of `store` this node replicates
  // (trees are built from the data where needed).
  std::vector<std::pair<uint32_t, uint64_t>> merkle_roots(const StoreEntry& store);
  Counts store_counts(const StoreEntry& store);
  // True when this node believes `node` is down (failure detector, or it let
  // a request expire and has not spoken since).
  bool is_down(const NodeId& node, uint64_t /*now_ms*/) const { return gossiper_.is_down(node); }

  // The cluster state as this node holds it (empty members in the
  // simulator's layout-only mode), and the target layout data moves to.
  ClusterState cluster_state() const;
  const Layout* target() const { return target_ ? &*target_ : nullptr; }
  RebalanceView rebalance_view(uint64_t now_ms) { return rebalancer_.view(now_ms); }

  RecoveryView recovery_view() const { return recovery_.view(); }

  Stats stats() const;

 private:
  using Continuation = std::function<void(Status)>;

  // Admits `bytes` of replication work from `from` (ok), or refuses it as
  // overloaded when that source is over inbound_bytes_per_source_max;
  // release_inbound() gives the bytes back once the work is done.
  Status admit_inbound(const NodeId& from, uint64_t bytes);
  void release_inbound(const NodeId& from, uint64_t bytes);
  // About the bytes `key` and `set` take in a message or a record.
  static uint64_t approx_bytes(std::string_view key, const SiblingSet& set);

  // Preference list of `key` for `store` (node ids); empty without a layout.
  std::vector<NodeId> replicas_of(const StoreEntry& store, std::string_view key);
  bool is_self(const NodeId& node) const { return node == options_.self; }
  uint64_t next_op() { return ++last_op_; }
  void send(const NodeId& to, PeerMessage message);
  uint64_t issue_write(WriteBatch batch, bool durable, Continuation done);
  // issue_write() for a write that must happen once its effects escaped (a
  // coordinator's own copy of a version whose dot is already on its way to
  // the other replicas): a refusal for load is retried every
  // kWriteRetryMs until the write is taken; `done` sees success or a real
  // failure only. The caller keeps the key locked meanwhile, so no later put
  // numbers a dot from a record that lacks this one.
  void issue_write_until_taken(WriteBatch batch, bool durable, Continuation done);
  void fence(const Status& status);

  // Runs `work` when no other write to `data_key` is in flight on this node.
  void with_key(const std::string& data_key, std::function<void()> work);
  // The refusal for a key whose wait queue is full (KeyLocks::kWaitersMax), or ok.
  // Callers check it before with_key() so that one hot key cannot grow
  // memory without bound: the writer hears 503 overloaded and retries.
  Status key_wait_room(const std::string& data_key) const;
  void release_key(const std::string& data_key);
  // The local copy of `key`; `raw`, when given, receives its record bytes
  // (empty when absent) for the Merkle tree.
  Result<SiblingSet> read_local(const StoreEntry& store, std::string_view key,
                                std::string* raw = nullptr);

  // Merges `set` into the local copy of `key`, durably as the store promises.
  void merge_locally(const StoreEntry& store, std::string key, SiblingSet set, Continuation done,
                     bool force_sync = false, bool anti_entropy = false);

  // Membership.
  bool is_member(const NodeId& node) const { return member_ids_.count(node) != 0; }
  // The answer for a request naming a store this node does not have:
  // not_found once a peer agreed on the store names, else unavailable.
  Status store_missing(std::string_view name, uint64_t now_ms) const;
  // Recomputes member_ids_ and others_ after the members or the layout changed.
  void refresh_membership();
  // A removed node that neither the layout nor the target names any more
  // may still hold data and hints it is handing over (see .cpp).
  bool may_still_hand_over(const NodeId& id) const;
  uint64_t stores_digest() const;

  const PreferenceTable& table_for(uint32_t n);
  MerkleTree& tree_for(const StoreEntry& store, uint32_t partition);
  // A data write of `key` (replacing `old_record`, empty for none, with
  // `new_record`, null for a delete) was issued / completed. Hashes are
  // computed only while the key's tree exists. The write is visible to scans
  // before its completion arrives, so a tree built meanwhile may already
  // hold the new entry: the completion trades out what that build saw.
  void data_write_issued(const StoreEntry& store, std::string_view key, const std::string& data_key,
                         std::string_view old_record, const std::string* new_record);
  void data_write_done(const StoreEntry& store, const std::string& data_key, bool ok);
  // The layout's partition bits (none before the node has a layout).
  std::optional<uint32_t> partition_bits() const;

  // tick()'s part: writes refused for load issued again.
  void retry_refused_writes(uint64_t now_ms);
  // True when nothing moves and the layout has been still long enough that
  // no chunk or handover read before a collection is merged after it.
  bool data_settled() const;
  // Folds member `from`'s per-key answers into `agreed` and stops waiting
  // for it; false when it was not awaited (not asked, or a duplicate).
  static bool fold_agreement(const NodeId& from, const std::vector<bool>& answers,
                             std::vector<NodeId>& waiting, std::vector<bool>& agreed);
  // True when this node believes another member down (it might hold a hint
  // for any key: no collection then).
  bool any_other_down(uint64_t now_ms) const;
  // Advances a sweep's (store, partition) cursors by one; the store when
  // this node is the first replica of that partition (it sweeps it), else
  // nullptr. `partition` receives the partition.
  const StoreEntry* next_swept_partition(size_t& store_cursor, uint32_t& partition_cursor,
                                         uint32_t& partition);

  // The target's list of `key` when it differs from `replicas` (the
  // layout's), for a strict store's joint quorum; empty otherwise.
  std::vector<NodeId> joint_list(const StoreEntry& store, std::string_view key,
                                 const std::vector<NodeId>& replicas);
  void broadcast_state();
  void load_counts();
  uint64_t replicated_partitions();
  // Merges `state` into ours and adopts the result when it differs.
  void merge_state(ClusterState state);

  MemberRole role_of(const NodeId& node) const;

  // Strict stores' client reads and writes carry the coordinator's layout
  // version (0 for other stores); a replica with a newer layout refuses them.
  uint64_t fenced_version(const StoreEntry& store) const;
  uint64_t fenced_target(const StoreEntry& store) const;
  Status check_layout(const NodeId& from, uint64_t layout_version, uint64_t target_digest);
  void on_replica_write(const NodeId& from, ReplicaWrite message);
  void on_replica_read(const NodeId& from, ReplicaRead message);
  void on_join_request(const NodeId& from, JoinRequest message);
  // Merges a peer's state into ours (a join reply, a cluster update).
  void merge_received(std::vector<Member> members, std::string_view layout_bytes);
  // Applies an operator's change to `state` (member roles, capacities,
  // zones, under a new member version), or says why it is refused.
  Status apply_change(const ClusterChange& change, ClusterState& state) const;
  void persist_and_adopt(ClusterState state, std::function<void(Status)> then);

  StoreSpec spec_of(const StoreEntry& store) const { return {store.name, store.config}; }

  friend class HintedHandoff;
  friend class Rebalancer;
  friend class TombstoneCollector;
  friend class ClockPruner;
  friend class AntiEntropy;
  friend class Recovery;
  friend class Coordinator;
  friend class Gossiper;
  friend class StoreCreation;

  NodeCoreOptions options_;
  Engine& reads_;
  StoreCatalog catalog_;
  std::optional<Layout> layout_;
  std::vector<Member> members_;
  std::set<NodeId> member_ids_;     // every member, self included (refresh_membership)
  std::vector<NodeId> others_;      // every member but self, in id order
  bool lingering_removed_ = false;  // member_ids_ holds a removed node still handing over
  // Preference tables by n, built on first use for the current layout.
  std::map<uint32_t, PreferenceTable> tables_;
  Status fence_ = Status::Ok();
  std::vector<Effect> effects_;
  std::vector<PeerMessage> loopback_;  // sent to self; handled by take_effects()
  bool peer_state_seen_ = false;       // a state from a peer was merged (not only our own)
  // options_.fresh_directory, unless the node then adopted a cluster state
  // from its own disk (an actor lost but the state kept is no lost directory).
  bool fresh_directory_ = false;
  // This run formed a new cluster from an empty directory (form_cluster). If
  // a node that is no member of it gossips to it naming it, the old cluster
  // still counts on it: its data was lost and it founded a second cluster
  // by mistake (started without --join). It refuses writes (on_gossip).
  bool formed_fresh_ = false;
  uint64_t last_op_ = 0;
  uint64_t last_write_ = 0;
  uint64_t now_ms_ = 0;

  std::unordered_map<uint64_t, Continuation> writes_;  // write id -> continuation
  struct RetryWrite {
    uint64_t due_ms = 0;
    WriteBatch batch;
    bool durable = false;
    Continuation done;
  };
  std::vector<RetryWrite> retry_writes_;  // refused for load; re-issued by tick()
  KeyLocks key_locks_;                    // one write per key in flight (key_locks.h)

  Stats stats_;

  Random random_;
  // Single-use actors come from the start's seed, not from a counter: a
  // counter restarts at 0 with the node, and a clean restart keeps the actor,
  // so a counter-derived id would repeat (and with it a dot).
  Random single_use_random_;

  Gossiper gossiper_{*this, options_.failure_detector};
  Coordinator coordinator_{*this};
  StoreCreation stores_{*this};
  HintedHandoff handoff_{*this};
  Rebalancer rebalancer_{*this};
  TombstoneCollector tombstones_{*this};
  ClockPruner pruner_{*this};
  AntiEntropy anti_entropy_{*this};
  Recovery recovery_{*this};

  MerkleTrees merkle_;                        // the trees of what this node holds (merkle_trees.h)
  std::map<NodeId, uint64_t> inbound_bytes_;  // admit_inbound()

  std::optional<Layout> target_;         // where data is moving (cluster_state.h)
  std::optional<uint32_t> layout_self_;  // this node's index in layout_, if any
  uint64_t target_digest_ = 0;           // digest64 of its encoding; 0: none
  uint64_t layout_since_ms_ = 0;         // when this node adopted its current layout
  uint64_t state_digest_ = 0;            // digest64 of the encoded cluster state
  bool counts_loaded_ = false;           // data_keys_/data_bytes_ counted (load_counts)
  uint64_t data_keys_ = 0;
  uint64_t data_bytes_ = 0;
  std::string key_buffer_;
};

}  // namespace ringkv
