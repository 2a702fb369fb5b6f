// SimCluster: whole ringkv clusters in one process, from a seed
// (docs/ARCHITECTURE.md, "How it is tested").
//
// Every node is the production node, a ClusterNode (server/cluster_node.h),
// wired to deterministic versions of its physical world: its own MemoryEngine
// behind a write queue that runs the production queue's rules (CommitGroups:
// bounds, group commit, the fence) in virtual time; a peer link whose
// payloads travel as the production framing's bytes (wire/frame.h) and are
// decoded by the node's own receive path; a NodeClock over a virtual
// monotonic clock and a virtual wall clock. One seeded RNG and the virtual
// time drive everything: a simulated network that delays, drops,
// duplicates, reorders and partitions messages (one-way links too); disks
// with latency that fail writes on demand (which fences the node, as a
// failed fsync does); crashes that lose every unsynced write and restart the
// node under a new actor; clocks that run fast or slow or are stepped. Events
// run in (time, sequence) order, so the same seed gives the same run, bit
// for bit: trace_hash() digests every event to prove it.
//
// Clients are callbacks: put()/get()/create_store() return at once and call
// back when the node answers, or with unavailable when it crashed first.
//
// Thread safety: none; one thread.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cluster/node_core.h"
#include "common/random.h"
#include "server/cluster_node.h"
#include "server/commit_groups.h"
#include "storage/memory_engine.h"

namespace ringkv::sim {

struct NetworkFaults {
  uint64_t delay_min_ms = 1;
  uint64_t delay_max_ms = 10;
  double drop_percent = 0;
  double duplicate_percent = 0;
};

struct SimOptions {
  uint64_t seed = 1;
  uint32_t node_count = 5;
  uint32_t zone_count = 0;  // 0: no zones
  uint32_t partition_bits = 6;
  uint64_t disk_latency_min_ms = 0;
  uint64_t disk_latency_max_ms = 3;
  uint64_t periodic_sync_ms = 100;
  uint64_t tick_ms = 50;
  uint64_t request_timeout_ms = 2000;
  uint64_t anti_entropy_interval_ms = kAntiEntropyIntervalMsDefault;  // 0: off
  uint64_t hints_bytes_max = uint64_t{1} << 30;                       // 0: stand-ins take no hints
  uint64_t tombstone_grace_ms = uint64_t{10} * 24 * 3600 * 1000;
  uint64_t tombstone_sweep_interval_ms = kSweepIntervalMsDefault;  // 0: off
  uint64_t prune_delay_ms = kPruneDelayMsDefault;                  // clock pruning (node_core.h)
  // Nodes made but not started: start_spare() starts one and has it join.
  uint32_t spare_node_count = 0;
  uint64_t rebalance_settle_ms = 500;
  uint64_t drop_grace_ms = 3000;
  uint64_t transfer_chunk_bytes = 600;  // small: a partition takes several chunks
  CommitGroups::Options write_queue;    // each node's write queue (production's defaults)
  NetworkFaults network;
};

class SimCluster {
 public:
  explicit SimCluster(SimOptions options);
  ~SimCluster();

  uint64_t now() const { return now_; }
  Random& random() { return random_; }
  // Every node, spares included.
  const std::vector<NodeId>& node_ids() const { return ids_; }
  // Nodes started at least once (the clients' choice).
  std::vector<NodeId> started_ids() const;
  // The newest layout any up node holds (the cluster's, once gossip settled).
  Layout layout() const;
  // The newest target layout an up node holds (none: no move in progress).
  std::optional<Layout> target() const;

  using PutDone = std::function<void(const PutReply&)>;
  using GetDone = std::function<void(const GetReply&)>;
  using CreateDone = std::function<void(const CreateStoreDone&)>;
  // Client requests to `node`; when it is down, `done` gets unavailable
  // after a connect timeout (as a real client would).
  void put(const NodeId& node, std::string store, std::string key, VersionVector seen,
           Version version, PutDone done);
  void get(const NodeId& node, std::string store, std::string key, GetDone done);
  void create_store(const NodeId& node, std::string name, StoreConfig config, CreateDone done);
  using ChangeDone = std::function<void(const ClusterChangeDone&)>;
  void change(const NodeId& node, ClusterChange change, ChangeDone done);

  // Membership: starts a spare node, which joins through a member (again
  // every second until it holds a layout), as an owner or a standby.
  void start_spare(const NodeId& node, uint32_t capacity, bool auto_add);
  bool started(const NodeId& node) const;
  // Stops a node for good (after its removal): no restart at healing. A
  // removed node the production node refuses to restart (down too long to
  // come back with its data) is retired too, as its operator would.
  void retire(const NodeId& node);
  bool retired(const NodeId& node) const;
  // Runs events until `time` (virtual ms) or until nothing is left.
  void run_until(uint64_t time);
  // Runs `action` at `time` (>= now).
  void at(uint64_t time, std::function<void()> action);

  // ---- faults ----
  void set_network(NetworkFaults faults) { options_.network = faults; }
  // Messages from `from` to `to` are dropped while blocked (one-way).
  void block(const NodeId& from, const NodeId& to) { blocked_.insert({from, to}); }
  void unblock(const NodeId& from, const NodeId& to) { blocked_.erase({from, to}); }
  void heal_network() { blocked_.clear(); }
  // Power failure: unsynced writes are lost; in-flight requests on the node
  // fail at their clients as unavailable.
  void crash(const NodeId& node);
  // A clean stop (SIGTERM): what was written is synced and the stop is
  // recorded, so restart() keeps the node's actor and its counters.
  void stop_clean(const NodeId& node);
  // Starts a crashed or fenced node again (a fenced one is stopped first). A
  // node whose disk is failing cannot record its new actor and stays down.
  void restart(const NodeId& node);
  // Starts the node again with an empty disk (a replaced drive): it comes
  // back under a new actor and must be refilled by handoff and anti-entropy.
  void restart_empty(const NodeId& node);
  bool is_up(const NodeId& node) const;
  // Writes the node handed to its disk that have not reached it yet.
  size_t writes_queued(const NodeId& node) const;
  // While set, the node's disk fails writes (the node fences itself).
  void set_disk_failing(const NodeId& node, bool failing);
  // While set, the node's disk is nearly full: its write queue refuses
  // writes as CommitQueue's space guard does (overloaded, no fence).
  void set_disk_nearly_full(const NodeId& node, bool full);
  bool is_fenced(const NodeId& node) const;
  // The node's clock runs at `rate` times real (virtual) time from now on,
  // continuously (no jump); 1.0 restores a true rate.
  void set_clock_rate(const NodeId& node, double rate);
  // Steps the node's wall clock by `delta_ms` (NTP or an operator). A
  // running node reads the wall clock only when it starts (NodeClock), so
  // the step shows at its next start.
  void step_wall_clock(const NodeId& node, int64_t delta_ms);
  // Sends `payload` from `from` to `to` through the simulated network as a
  // peer frame, whatever it holds (a malformed message, a forged one).
  void send_payload(const NodeId& from, const NodeId& to, std::string payload);
  // Frames the node's decoder refused (every incarnation).
  uint64_t frames_undecodable(const NodeId& node) const;
  // True when `observer` (up) believes `node` is down.
  bool believes_down(const NodeId& observer, const NodeId& node) const;

  // ---- inspection (for checkers) ----
  // The node's local copy of `key` (empty when none or unreadable).
  SiblingSet local_copy(const NodeId& node, std::string_view store, std::string_view key) const;
  // The node's recovery state (a node that came back with an empty disk).
  NodeCore::RecoveryView recovery(const NodeId& node) const;
  // The node's copy of `key` that would survive a crash now.
  SiblingSet durable_copy(const NodeId& node, std::string_view store, std::string_view key) const;
  // Both of the above include the node's hints for the key (any target);
  // this is its own replica copy alone (the data column).
  SiblingSet replica_copy(const NodeId& node, std::string_view store, std::string_view key,
                          bool durable = false) const;
  // ... and its hints for the key alone (any target).
  SiblingSet hint_copy(const NodeId& node, std::string_view store, std::string_view key) const;
  // Hints held by every node, not yet handed off.
  uint64_t hints_pending() const;
  // The node's Merkle roots for `store` (partition -> root) of the partitions
  // it replicates, as its core maintains them; empty when it is down.
  std::map<uint32_t, uint64_t> merkle_roots(const NodeId& node, std::string_view store);
  // The nodes of the key's preference list (layout(); with `in_target`,
  // target()'s, empty without one).
  std::vector<NodeId> replicas(std::string_view store, std::string_view key,
                               bool in_target = false) const;
  // "node store key" for every record a node holds outside the layout's
  // preference list of its key.
  std::vector<std::string> misplaced_records() const;
  // Every up node holds the same layout and no target.
  bool layout_settled() const;
  // One line per up node: its layout and target versions and transfers.
  std::string rebalance_report();
  uint64_t trace_hash() const { return trace_hash_; }
  struct Stats {
    uint64_t events = 0;
    uint64_t messages_sent = 0;
    uint64_t messages_dropped = 0;
    uint64_t messages_to_self = 0;  // dropped as the real transport drops them; must stay 0
    uint64_t frames_refused = 0;    // over the frame limit or undecodable; must stay 0
    uint64_t messages_duplicated = 0;
    uint64_t disk_writes = 0;     // batches the nodes' write queues took
    uint64_t writes_refused = 0;  // batches a full write queue refused (overloaded)
    uint64_t crashes = 0;
    uint64_t empty_restarts = 0;  // restarts with an empty disk
    uint64_t clean_stops = 0;     // stops that synced and kept the actor
    uint64_t read_repairs = 0;
    uint64_t hints_stored = 0;
    uint64_t hints_delivered = 0;
    uint64_t sloppy_writes = 0;
    uint64_t suspicions = 0;
    uint64_t ae_rounds = 0;
    uint64_t ae_keys_sent = 0;
    uint64_t ae_bytes_sent = 0;
    uint64_t ae_keys_repaired = 0;
    uint64_t tombstones_collected = 0;
    uint64_t clock_entries_pruned = 0;
    uint64_t layout_flips = 0;
    uint64_t transfer_keys = 0;
    uint64_t transfers_done = 0;
    uint64_t partitions_dropped = 0;
  };
  Stats stats() const;
  // Whether a ClockPrune named `actor` for (store, key) within (after_ms,
  // before_ms]: the members had agreed twice that none of its versions was
  // live anywhere, and dropped its entry (a client's context may bring it
  // back later with a lower counter).
  bool pruned_between(const std::string& store, const std::string& key, ActorId actor,
                      uint64_t after_ms, uint64_t before_ms) const {
    auto found = pruned_ms_.find({store, key, actor});
    if (found == pruned_ms_.end())
      return false;
    return std::any_of(found->second.begin(), found->second.end(),
                       [&](uint64_t at) { return at > after_ms && at <= before_ms; });
  }

 private:
  struct SimNode;
  class SimWriteQueue;
  class SimLink;
  struct Event {
    uint64_t time;
    uint64_t sequence;
    std::function<void()> action;
  };
  struct Later {
    bool operator()(const Event& left, const Event& right) const {
      return left.time != right.time ? left.time > right.time : left.sequence > right.sequence;
    }
  };

  SimNode& node(const NodeId& id);
  // The node's monotonic clock, and its wall clock (what NodeClock reads).
  uint64_t local_now(const SimNode& node) const;
  uint64_t local_wall(const SimNode& node) const;
  const SimNode& node(const NodeId& id) const;
  void start(SimNode& node);
  // Whether the node's disk says its cluster removed it.
  bool removed_from_cluster(SimNode& node);
  // Whether the running nodes count `id` as a member that is not removed
  // (its removal was cancelled).
  bool member_again(const NodeId& id) const;
  ClusterNodeOptions node_options(const SimNode& node, uint64_t generation);
  // Runs `action` at `time` if the node's incarnation then is `incarnation`.
  void on_node(const NodeId& id, uint64_t incarnation, uint64_t time, std::function<void()> action);
  void schedule_join(const NodeId& id, uint64_t incarnation);
  void schedule_tick(const NodeId& id, uint64_t incarnation);
  void schedule_sync(const NodeId& id, uint64_t incarnation);
  // A node's link hands a payload to the network (`to` is an address).
  void send_frame(const NodeId& from, const std::string& to, std::string payload);
  void trace(std::string_view what, uint64_t a = 0, uint64_t b = 0);
  // Takes the node down: `clean` drains its write queue first.
  void stop_node(SimNode& node);
  void fail_pending_clients(SimNode& node);
  // Answers a request to a node that is down, after a connect timeout.
  template <typename Reply, typename Done>
  void refuse_later(RequestId request, Done done);
  // Registers a client request to an up node; the returned callback hands
  // the node's reply to `done` (once, and not after a crash).
  template <typename Reply, typename Done>
  std::function<void(Reply)> client_request(SimNode& node, std::map<RequestId, Done>& waiting,
                                            RequestId request, Done done, std::string_view what);
  SiblingSet copy_of(const NodeId& id, std::string_view store, std::string_view key, bool durable,
                     bool with_hints = true, bool with_data = true) const;

  SimOptions options_;
  Random random_;
  uint64_t now_ = 0;
  uint64_t sequence_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  std::vector<NodeId> ids_;
  Layout initial_layout_;
  std::map<NodeId, std::unique_ptr<SimNode>> nodes_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  uint64_t trace_hash_ = 0xcbf29ce484222325ULL;
  Stats stats_;
  std::map<std::tuple<std::string, std::string, ActorId>, std::vector<uint64_t>> pruned_ms_;
  RequestId last_request_ = 0;
};

}  // namespace ringkv::sim
