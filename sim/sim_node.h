// Internal to the simulator (sim_cluster.cpp, sim_inspect.cpp): a simulated
// node — the production ClusterNode and the deterministic world it is wired
// to (a write queue in virtual time, a peer link into the simulated
// network, virtual clocks). See sim_cluster.h.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "net/peer_link.h"
#include "server/cluster_node.h"
#include "server/commit_groups.h"
#include "server/node_clock.h"
#include "sim/sim_cluster.h"
#include "storage/memory_engine.h"

namespace ringkv::sim {

inline void add_core_stats(NodeCore::Stats& into, const NodeCore::Stats& from) {
  into.read_repairs += from.read_repairs;
  into.hints_stored += from.hints_stored;
  into.hints_delivered += from.hints_delivered;
  into.sloppy_writes += from.sloppy_writes;
  into.suspicions += from.suspicions;
  into.ae_rounds += from.ae_rounds;
  into.ae_keys_sent += from.ae_keys_sent;
  into.ae_bytes_sent += from.ae_bytes_sent;
  into.ae_keys_repaired += from.ae_keys_repaired;
  into.tombstones_collected += from.tombstones_collected;
  into.clock_entries_pruned += from.clock_entries_pruned;
  into.layout_flips += from.layout_flips;
  into.transfer_keys += from.transfer_keys;
  into.transfers_done += from.transfers_done;
  into.partitions_dropped += from.partitions_dropped;
}

struct SimCluster::SimNode {
  NodeId id;
  uint64_t index = 0;
  MemoryEngine engine;
  // The production node and its simulated world; all null while it is down.
  std::unique_ptr<SimWriteQueue> queue;
  std::unique_ptr<SimLink> link;
  std::optional<NodeClock> clock;
  std::unique_ptr<ClusterNode> node;
  bool up = false;
  uint64_t incarnation = 0;         // events of an earlier incarnation are ignored
  NodeCore::Stats before;           // earlier incarnations' counters
  uint64_t undecodable_before = 0;  // ... and frames their decoders refused
  // The node's monotonic clock: local = base_local + (now - base_real) * rate;
  // its wall clock is that plus wall_offset (a step changes the offset).
  double clock_rate = 1.0;
  uint64_t clock_base_real = 0;
  uint64_t clock_base_local = 0;
  int64_t wall_offset = 0;
  std::map<RequestId, PutDone> puts;
  std::map<RequestId, GetDone> gets;
  std::map<RequestId, CreateDone> creates;
  std::map<RequestId, ChangeDone> changes;
  bool spare = false;    // not in the initial cluster
  bool started = false;  // started at least once
  bool retired = false;  // stopped for good
  uint32_t capacity = 1;
  bool auto_add = true;
  bool disk_nearly_full = false;  // its queue refuses writes (CommitQueue's space guard)
};

// The node's write queue: the production rules (CommitGroups) in virtual
// time. A group goes to the disk a random latency after the previous one;
// its writes are visible to reads a little before the completions reach the
// node, and completions keep their order (as the CommitQueue posts them).
class SimCluster::SimWriteQueue final : public WriteQueue {
 public:
  SimWriteQueue(SimCluster& cluster, SimNode& node, CommitGroups::Options options)
      : cluster_(cluster), node_(node), incarnation_(node.incarnation), groups_(options) {}

  void submit(WriteBatch batch, bool durable, Completion done) override {
    const bool sync_only = batch.empty();
    // As CommitQueue's space guard sets it from the free space it sees.
    groups_.set_space_refusal(node_.disk_nearly_full
                                  ? Status(Code::overloaded, "this node's disk is nearly full")
                                  : Status::Ok());
    Status refusal = groups_.admit(batch, durable, done);
    if (!refusal.ok()) {
      if (refusal.code() == Code::overloaded)
        ++cluster_.stats_.writes_refused;
      cluster_.on_node(node_.id, incarnation_, cluster_.now_,
                       [done = std::move(done), refusal] { done(refusal); });
      return;
    }
    if (!sync_only)
      ++cluster_.stats_.disk_writes;
    if (!busy_) {
      busy_ = true;
      schedule_group();
    }
  }
  Status fenced() const override { return groups_.fence(); }
  Status refusing() const override { return groups_.space_refusal(); }
  Stats stats() const override { return groups_.stats(); }
  size_t queued() const { return groups_.queued(); }

  // A clean stop: every queued batch reaches the disk now; their completions
  // are never run (as `ringkv serve` drains its queue after the loop stopped).
  Status drain() {
    while (!groups_.empty()) {
      CommitGroups::Group group = groups_.take_group();
      const Status status = CommitGroups::commit(node_.engine, group);
      groups_.finish(group, status);
      if (!status.ok())
        return status;
    }
    return groups_.fence();
  }

 private:
  void schedule_group() {
    const SimOptions& options = cluster_.options_;
    const uint64_t at =
        std::max(cluster_.now_, disk_free_at_) +
        cluster_.random_.between(options.disk_latency_min_ms, options.disk_latency_max_ms);
    disk_free_at_ = at;
    cluster_.on_node(node_.id, incarnation_, at, [this] { commit_group(); });
  }

  void commit_group() {
    CommitGroups::Group group = groups_.take_group();
    const Status status = CommitGroups::commit(node_.engine, group);
    groups_.finish(group, status);
    cluster_.trace("write", node_.index, status.ok() ? group.items.size() : ~group.items.size());
    const uint64_t completed_at =
        std::max(cluster_.now_ + cluster_.random_.between(0, 3), completion_free_at_);
    completion_free_at_ = completed_at;
    for (CommitGroups::Item& item : group.items) {
      cluster_.on_node(node_.id, incarnation_, completed_at,
                       [done = std::move(item.done), status] { done(status); });
    }
    if (groups_.empty())
      busy_ = false;
    else
      schedule_group();
  }

  SimCluster& cluster_;
  SimNode& node_;
  uint64_t incarnation_;
  CommitGroups groups_;
  bool busy_ = false;
  uint64_t disk_free_at_ = 0;
  uint64_t completion_free_at_ = 0;
};

// The node's peer link: an address book, and payloads handed to the
// simulated network (addresses are node ids).
class SimCluster::SimLink final : public net::PeerLink {
 public:
  SimLink(SimCluster& cluster, NodeId self) : cluster_(cluster), self_(std::move(self)) {}

  void set_address(const std::string& peer, const std::string& host_port) override {
    addresses_[peer] = host_port;
  }
  bool send(const std::string& peer, std::string payload) override {
    auto found = addresses_.find(peer);
    if (found == addresses_.end())
      return false;  // as the transport drops it
    cluster_.send_frame(self_, found->second, std::move(payload));
    return true;
  }
  void set_cluster(const std::string& cluster_id) override { cluster_id_ = cluster_id; }
  // What this node states in the handshake (the transport's hello).
  const std::string& cluster_id() const { return cluster_id_; }

 private:
  SimCluster& cluster_;
  NodeId self_;
  std::string cluster_id_;
  std::map<std::string, std::string> addresses_;
};

}  // namespace ringkv::sim
