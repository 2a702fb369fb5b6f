// ClusterNode: the driver that runs the node core (cluster/node_core.h) on
// real storage and sockets — the real driver of the core (docs/ARCHITECTURE.md); sim/ is the other.
//
// It feeds the core client requests (from HttpApi), peer frames (from the
// PeerTransport), write completions (from the CommitQueue, posted back to the
// loop thread) and ticks (every 50 ms), and carries out the core's effects:
// messages are encoded (wire/peer_codec.h) and handed to the transport,
// writes go through the CommitQueue (group commit; fsync for durable ones),
// replies go to the waiting callbacks, member changes update the transport's
// address book.
//
// Start-up (open() then the caller runs the loop until ready()):
//   - a node that persisted a cluster state adopts it (a restart rejoins the
//     same cluster, whatever its command line says about joining);
//   - otherwise, without contacts it forms a new cluster of itself;
//   - otherwise it asks the contacts in turn, every second, to admit it.
//
// Thread safety: every method on the loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cluster/node_core.h"
#include "net/peer_transport.h"
#include "server/commit_queue.h"
#include "storage/engine.h"
#include "storage/node_identity.h"
#include "storage/store_catalog.h"

namespace ringkv {

struct ClusterNodeOptions {
  Member self;                                      // id, addresses, capacity, zone
  std::vector<std::string> join;                    // contacts (HOST:PORT of peers), tried in turn
  uint32_t partition_bits = kPartitionBitsDefault;  // for a new cluster
  uint64_t request_timeout_ms = kRequestTimeoutMsDefault;
  uint64_t generation = 0;                   // this start (wall-clock ms): rises at every restart
  uint64_t seed = 0;                         // the core's random choices
  uint64_t anti_entropy_interval_ms = 1000;  // 0: off
  bool auto_add = true;                      // join as an owner (else a standby)
  uint64_t transfer_bytes_per_sec = uint64_t{64} << 20;
  uint64_t drop_grace_ms = 30'000;
  uint64_t sweep_interval_ms = 10'000;  // tombstone collection and clock pruning
  uint64_t prune_delay_ms = 10 * 60 * 1000;
};

class ClusterNode {
 public:
  using Clock = std::function<uint64_t()>;  // wall time in ms
  using PutDone = std::function<void(Result<VersionVector>)>;
  using GetDone = std::function<void(Result<SiblingSet>, const StoreEntry*)>;
  using CreateDone = std::function<void(Result<StoreCatalog::Created>)>;
  using ChangeDone = std::function<void(ClusterChangeDone)>;

  // Opens identity, catalog and cluster state. `transport` may be null (a
  // node that never talks to peers: a one-node cluster in tests).
  static Result<std::unique_ptr<ClusterNode>> open(Engine& engine, CommitQueue& commit_queue,
                                                   net::PeerTransport* transport, Clock now_ms,
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

  // A frame from a peer (the transport's callback).
  void receive_frame(const std::string& from, std::string bytes);
  // Expires requests past their deadline (call every 50 ms).
  void tick();
  // Periodic durability: fsyncs everything written so far.
  void sync_periodic();

  Status write_fence() const { return core_->write_fence(); }
  size_t unissued_writes() const { return core_->unissued_writes(); }
  const NodeIdentity& identity() const { return identity_; }
  ActorId actor() const { return core_->actor(); }
  const CommitQueue& commit_queue() const { return commit_queue_; }
  const std::vector<Member>& members() const { return core_->members(); }
  const Layout* layout() const { return core_->layout(); }
  const Layout* target() const { return core_->target(); }
  ClusterState cluster_state() const { return core_->cluster_state(); }
  NodeCore::RebalanceView rebalance_view() { return core_->rebalance_view(now_ms_()); }
  const NodeCore::Stats& stats() const { return core_->stats(); }
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
  ClusterNode(Engine& engine, CommitQueue& commit_queue, net::PeerTransport* transport,
              Clock now_ms, NodeIdentity identity, StoreCatalog catalog,
              ClusterNodeOptions options);
  void run_effects();
  // Logs a fence (critical) the first time the core reports one.
  void report_fence();

  CommitQueue& commit_queue_;
  net::PeerTransport* transport_;
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
  bool running_effects_ = false;
  bool fence_logged_ = false;
};

}  // namespace ringkv
