// ClusterNode: the node — the node core (cluster/node_core.h) wired to a
// write queue, a peer link and a clock (docs/ARCHITECTURE.md, "One wiring").
//
// It feeds the core client requests (from HttpApi), peer frames' payloads
// (from the link), write completions (from the write queue) and ticks
// (every 50 ms), and carries out the core's effects: messages are encoded
// (wire/peer_codec.h) and handed to the link, writes go through the write
// queue (group commit; fsync for durable ones), replies go to the waiting
// callbacks, member changes update the link's address book.
//
// The same class runs in `ringkv serve` (server/serve.cpp: the CommitQueue's
// writer thread, the TCP PeerTransport, the NodeClock over the system
// clocks) and in the simulator (sim/sim_cluster.cpp: a virtual-time queue
// over a MemoryEngine, a simulated network of frames, the NodeClock over
// virtual clocks), so the simulator proves the program people run.
//
// Start-up (open() then the caller runs until ready()):
//   - a node that persisted a cluster state adopts it (a restart rejoins the
//     same cluster, whatever its command line says about joining);
//   - otherwise, without contacts it forms a new cluster of itself;
//   - otherwise it asks the contacts in turn, every second, to admit it.
//
// Thread safety: every method on the node's thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/node_core.h"
#include "net/peer_link.h"
#include "server/write_queue.h"
#include "storage/engine.h"
#include "storage/node_identity.h"
#include "storage/store_catalog.h"

namespace ringkv {

// Everything a node is started with, in one place; serve.cpp fills it from
// the command line (server/serve_config.h), the simulator from its options.
struct ClusterNodeOptions {
  Member self;                                      // id, addresses, capacity, zone
  std::vector<std::string> join;                    // contacts (HOST:PORT of peers), tried in turn
  uint32_t partition_bits = kPartitionBitsDefault;  // for a new cluster
  bool auto_add = true;                             // join as an owner (else a standby)
  // Called only when this node forms a new cluster: the client API token
  // the cluster starts with (serve --auth: its secret is then in
  // DATA/admin.token), none, or an error that stops the start.
  std::function<Result<std::optional<ApiToken>>()> first_token;
  // When an earlier run of this node was last known alive (NodeClock's
  // previous_ms(); 0: never ran): a node removed from its cluster may
  // restart with its data only after a short stop (open()).
  uint64_t last_alive_ms = 0;
  // The core's settings (timeouts, gossip, handoff, anti-entropy, sweeps,
  // rebalancing). open() sets core.self, core.actor and core.fresh_directory
  // from `self` and the node's identity; core.generation must rise at every
  // start (the NodeClock's start_ms does).
  NodeCoreOptions core;
};

class ClusterNode {
 public:
  using Clock = std::function<uint64_t()>;  // the node's time in ms (server/node_clock.h)
  // The core's replies, as they are (request ids are the node's own).
  using PutDone = std::function<void(PutReply)>;
  using GetDone = std::function<void(GetReply)>;
  using CreateDone = std::function<void(CreateStoreDone)>;
  using ChangeDone = std::function<void(ClusterChangeDone)>;

  // Opens identity, catalog and cluster state. `link` may be null (a node
  // that never talks to peers: a one-node cluster in tests).
  static Result<std::unique_ptr<ClusterNode>> open(Engine& engine, WriteQueue& write_queue,
                                                   net::PeerLink* link, Clock now_ms,
                                                   const std::function<uint64_t()>& random_actor,
                                                   ClusterNodeOptions options);

  // True once the node is a member of a cluster (it knows a layout).
  bool ready() const { return core_->layout() != nullptr; }
  // Asks the next contact to admit this node (call every second until ready()).
  void try_join();

  // The client API (HttpApi). Callbacks run on the loop thread, possibly
  // before the call returns.
  const StoreCatalog& catalog() const { return core_->catalog(); }
  Result<const StoreEntry*> find_store(std::string_view name) const;
  void create_store(std::string_view name, const StoreConfig& config, CreateDone done);
  void get(std::string_view store, std::string key, GetDone done);
  void put(std::string_view store, std::string key, VersionVector seen, Version version,
           PutDone done);
  // An operator's change (POST /v1/cluster/changes): planned, and unless
  // `dry_run` committed and spread.
  void change_cluster(const ClusterChange& change, bool dry_run, ChangeDone done);
  // Adds or revokes a client API token (NodeCore::change_tokens).
  void change_tokens(const TokenChange& change, ChangeDone done);

  // A frame's payload from a peer (the link's callback): decoded, or
  // dropped and counted in frames_undecodable() when the decoder refuses it.
  void receive_frame(const std::string& from, std::string_view bytes);
  // The link refused a node of another cluster that dialled this one.
  void other_cluster_contact(const std::string& from);
  // Expires requests past their deadline, and records the node's time now
  // and then (call every 50 ms).
  void tick();
  // Periodic durability: fsyncs everything written so far.
  void sync_periodic();

  Status write_fence() const { return core_->write_fence(); }
  // Why stopping now would not be a clean stop (writes may have been lost):
  // the write queue's fence, the core's, or writes still waiting for room
  // in the queue; ok when it would be clean.
  Status unclean_stop_reason() const;
  size_t unissued_writes() const { return core_->unissued_writes(); }
  const NodeIdentity& identity() const { return identity_; }
  ActorId actor() const { return core_->actor(); }
  const WriteQueue& write_queue() const { return write_queue_; }
  const std::vector<Member>& members() const { return core_->members(); }
  const std::vector<ApiToken>& tokens() const { return core_->tokens(); }
  const std::string& cluster_id() const { return core_->cluster_id(); }
  const Layout* layout() const { return core_->layout(); }
  const Layout* target() const { return core_->target(); }
  ClusterState cluster_state() const { return core_->cluster_state(); }
  NodeCore::RebalanceView rebalance_view() { return core_->rebalance_view(now_ms_()); }
  NodeCore::Stats stats() const { return core_->stats(); }
  // Whether this node's failure detector believes `peer` down now.
  bool believes_down(const NodeId& peer) const { return core_->is_down(peer, now_ms_()); }
  NodeCore::RecoveryView recovery() const { return core_->recovery_view(); }
  // How this node sees every member now (failure detector, hints held for it).
  std::vector<NodeCore::PeerView> peer_views() const { return core_->peer_views(now_ms_()); }
  // The hints this node holds, over every target.
  struct HintTotals {
    uint64_t count = 0;
    uint64_t bytes = 0;
  };
  HintTotals hint_totals() const {
    HintTotals out;
    for (const NodeCore::PeerView& view : peer_views()) {
      out.count += view.hints;
      out.bytes += view.hint_bytes;
    }
    return out;
  }
  // The Merkle root of every partition of `store` this node replicates.
  NodeCore::Counts store_counts(const StoreEntry& store) { return core_->store_counts(store); }
  std::vector<std::pair<uint32_t, uint64_t>> merkle_roots(const StoreEntry& store) {
    return core_->merkle_roots(store);
  }
  uint64_t frames_undecodable() const { return frames_undecodable_; }

 private:
  ClusterNode(Engine& engine, WriteQueue& write_queue, net::PeerLink* link, Clock now_ms,
              NodeIdentity identity, StoreCatalog catalog, ClusterNodeOptions options);
  // Rejoins the cluster this node's disk says it belongs to.
  void rejoin(ClusterState state);
  void run_effects();
  void run_effect(Effect& effect);
  // Hands a reply to the callback waiting for it (none: already answered).
  template <typename Reply, typename Done>
  void reply(std::map<RequestId, Done>& waiting, Reply& reply);
  // Logs a fence (critical) the first time the core reports one.
  void report_fence();

  WriteQueue& write_queue_;
  net::PeerLink* link_;
  Clock now_ms_;
  NodeIdentity identity_;
  ClusterNodeOptions options_;
  std::unique_ptr<NodeCore> core_;
  RequestId last_request_ = 0;
  std::map<RequestId, PutDone> puts_;
  std::map<RequestId, GetDone> gets_;
  std::map<RequestId, CreateDone> creates_;
  std::map<RequestId, ChangeDone> changes_;
  size_t next_contact_ = 0;
  uint64_t join_op_ = 0;
  uint64_t frames_undecodable_ = 0;
  uint64_t next_alive_record_ms_ = 0;
  uint64_t refusals_logged_ = 0;  // peer_messages_refused when last logged
  uint64_t next_refusal_log_ms_ = 0;
  bool running_effects_ = false;
  bool fence_logged_ = false;
};

}  // namespace ringkv
