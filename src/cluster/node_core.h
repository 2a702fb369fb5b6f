// NodeCore: everything one node decides, as a deterministic state machine
// (docs/ARCHITECTURE.md; etcd raft's Ready is the model).
//
// Events in: client requests (put, get, create store, cluster change), peer
// messages, the completion of a storage write, and ticks; each carries the
// current time. Effects out (take_effects(), cluster/effects.h): messages to
// peers, writes to storage, replies to clients. The core has no sockets,
// threads, clocks or randomness; one driver runs it, ClusterNode
// (server/cluster_node.h), in `ringkv serve` and in the simulator alike.
// Local reads are synchronous Engine calls; writes are effects because they
// wait for group commit and fsync.
//
// The core routes: each peer message to the one component that handles it
// (receive(): an exhaustive dispatch, a missing case does not compile), each
// tick to every component, each write completion to its continuation. The
// components own their state (membership.h, coordinator.h, gossiper.h,
// store_creation.h, hinted_handoff.h, rebalancer.h, tombstone_collector.h,
// clock_pruner.h, anti_entropy.h, recovery.h); what they share is the
// NodeContext (node_context.h). The core itself keeps the replica service (a
// ReplicaWrite merged into the local copy and acknowledged once written; a
// ReplicaRead answered from it).
//
// Invariants:
//   1. A reply or acknowledgement of a write follows the completion of that
//      write (WriteEffect's rule), never precedes it.
//   2. A failed local write fences the node: every later write fails with
//      unavailable until the node restarts, under a new actor
//      (storage/node_identity.h), so no dot is ever reused.
//   3. At most one write per key is in flight on this node.
//   4. Every client request is answered exactly once.
//
// Thread safety: none; one thread drives it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cluster/anti_entropy.h"
#include "cluster/clock_pruner.h"
#include "cluster/coordinator.h"
#include "cluster/gossiper.h"
#include "cluster/hinted_handoff.h"
#include "cluster/membership.h"
#include "cluster/node_context.h"
#include "cluster/rebalancer.h"
#include "cluster/recovery.h"
#include "cluster/store_creation.h"
#include "cluster/tombstone_collector.h"

namespace ringkv {

class NodeCore : private NodeContext {
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
  void form_cluster(uint64_t now_ms, Member self, uint32_t partition_bits,
                    std::optional<ApiToken> first_token = std::nullopt);
  const std::vector<Member>& members() const { return members_; }
  const std::vector<ApiToken>& tokens() const { return tokens_; }
  const std::string& cluster_id() const { return cluster_id_; }  // empty: in none yet

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
  // Adds or revokes a client API token (Membership::change_tokens).
  void change_tokens(uint64_t now_ms, RequestId request, const TokenChange& change);

  // A message from `from`, the sender the connection authenticated. A node
  // in a cluster hears only nodes its cluster state has an entry for (a
  // removed one too: it hands over what it holds, and the others ask it
  // before they collect tombstones), and join requests from anyone; the
  // rest is counted in peer_messages_refused and dropped. A node in no
  // cluster yet (joining, or back with an empty directory) has nothing to
  // guard and hears everyone: the members that count on it send it hints
  // before it knows them.
  // A removed member that neither the layout nor the target names any more
  // is heard only for what handing over needs (allowed_from_former_member):
  // its certificate stays valid, so it must not keep a member's powers.
  void receive(uint64_t now_ms, const NodeId& from, PeerMessage message);
  // A node of another cluster dialled this one: it counts this node as its
  // member (the transport refused it; net/peer_link.h).
  void other_cluster_contact(uint64_t now_ms, const NodeId& from);
  void write_done(uint64_t now_ms, uint64_t write_id, Status status);
  // Expires requests whose deadline passed. Call at least every 100 ms.
  void tick(uint64_t now_ms);

  // Everything the core wants done since the last call, in order. Messages
  // to itself are handled here first, as if from the network: no SendEffect
  // names this node (the transport drops such frames, the simulator too).
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
  // Replica service (node_core.cpp). Strict stores' requests carry the
  // coordinator's layout version and target digest; a replica whose layout
  // is newer refuses them (check_layout).
  Status check_layout(const NodeId& from, uint64_t layout_version, uint64_t target_digest);
  void on_replica_write(const NodeId& from, ReplicaWrite message);
  void on_replica_read(const NodeId& from, ReplicaRead message);
  // Who is heard for what (receive): a removed member no layout names, and
  // the messages such a node may still send.
  bool former_member(const NodeId& node) const;
  static bool allowed_from_former_member(const PeerMessage& message);

  // Rules that span components. True when nothing moves and the layout has
  // been still long enough that no chunk or handover read before a
  // collection is merged after it.
  bool data_settled() const;
  // True when this node believes another member down (it might hold a hint
  // for any key: no collection then).
  bool any_other_down(uint64_t now_ms) const;
  uint64_t replicated_partitions();

  friend class Membership;
  friend class Gossiper;
  friend class Coordinator;
  friend class StoreCreation;
  friend class HintedHandoff;
  friend class Rebalancer;
  friend class TombstoneCollector;
  friend class ClockPruner;
  friend class AntiEntropy;
  friend class Recovery;

  // The components, each owning its state (see each header).
  Membership membership_{*this};
  Gossiper gossiper_{*this, options_.failure_detector};
  Coordinator coordinator_{*this};
  StoreCreation stores_{*this};
  HintedHandoff handoff_{*this};
  Rebalancer rebalancer_{*this};
  TombstoneCollector tombstones_{*this};
  ClockPruner pruner_{*this};
  AntiEntropy anti_entropy_{*this};
  Recovery recovery_{*this};
};

}  // namespace ringkv
