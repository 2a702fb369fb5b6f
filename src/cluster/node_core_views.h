// What the node core reports about itself (cluster/node_core.h): how it
// sees its peers, its rebalancing and recovery progress, and its counters.
// GET /v1/cluster, /metrics, the CLI's status and the simulator read these.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cluster/messages.h"

namespace ringkv::core_views {

// How this node sees a member (GET /v1/cluster).
struct PeerView {
  NodeId id;
  bool alive = true;  // not suspected
  double phi = 0;
  uint64_t generation = 0;
  uint64_t heartbeat = 0;
  uint64_t hints = 0;  // hints this node holds for it
  uint64_t hint_bytes = 0;
};

// The records of `store` this node holds (a scan of its range).
struct Counts {
  uint64_t keys = 0;
  uint64_t bytes = 0;
};

// Rebalancing as this node sees it (GET /v1/cluster).
struct NodeView {
  NodeId id;
  uint64_t partitions = 0;  // (store, partition)s it replicates (its heartbeat)
  uint64_t keys = 0;
  uint64_t bytes = 0;
  bool ready = false;        // holds everything the target gives it
  uint64_t moves_total = 0;  // (store, partition)s it receives for the target
  uint64_t moves_done = 0;
  uint64_t moved_bytes = 0;
};

struct RebalanceView {
  uint64_t layout_version = 0;
  uint64_t target_version = 0;  // 0: no move in progress
  uint32_t active = 0;          // this node's transfers streaming or verifying
  uint32_t pending = 0;         // ... waiting to start
  uint32_t done = 0;
  uint64_t bytes_left = 0;                  // estimate: pending and active transfers' source bytes
  uint64_t rate_bytes_per_sec = 0;          // what the adaptive throttle allows streaming now
  uint64_t rate_ceiling_bytes_per_sec = 0;  // its ceiling (--transfer-mib-per-sec)
  // What a finished change still leaves on this node: (store, partition)s
  // it holds data of but no longer replicates (dropped after the grace
  // period and a handover), and hints it holds for nodes that left (sent
  // on to the keys' new replicas). A change is settled when the layout
  // reached its target and both are zero on every node.
  uint32_t drops_pending = 0;
  uint64_t hints_for_leavers = 0;
  // (store, partition)s whose current replica list includes a node this
  // node believes down (a dead node to rebuild or wait for).
  std::vector<std::pair<std::string, uint32_t>> under_replicated;
  std::vector<NodeView> nodes;
};

// A node whose data directory was lost and that the layout already
// places data on is *recovering*: it answers no read (a replica read gets
// `unavailable`, its own copy is not counted when it coordinates) until it
// has synchronised every (store, partition) it replicates with every other
// replica of it (Merkle rounds until the roots agree). Writes it stores as
// usual. Survives restarts (meta "node/recovering").
struct RecoveryView {
  bool recovering = false;
  uint64_t partitions_done = 0;
  uint64_t partitions_total = 0;
};

struct Stats {
  uint64_t puts_acknowledged = 0;
  uint64_t puts_failed = 0;
  uint64_t puts_forwarded = 0;
  uint64_t gets_answered = 0;
  uint64_t gets_failed = 0;
  uint64_t replica_writes = 0;
  uint64_t read_repairs = 0;  // replicas sent a merged set after a read
  uint64_t keys_waiting = 0;  // writes queued behind another write to their key
  uint64_t gossip_rounds = 0;
  uint64_t suspicions = 0;            // members newly suspected
  uint64_t recoveries = 0;            // suspected members seen alive again
  uint64_t hints_stored = 0;          // hint writes taken as a stand-in
  uint64_t hints_refused = 0;         // over hints_bytes_max
  uint64_t hints_delivered = 0;       // hints handed off and deleted
  uint64_t hints_rerouted = 0;        // hints sent to a key's new replica, not its old
  uint64_t hints_corrupt = 0;         // unreadable hints skipped by handoff
  uint64_t sloppy_writes = 0;         // puts that used a stand-in
  uint64_t single_use_actors = 0;     // puts no replica could coordinate
  uint64_t stand_in_actors = 0;       // actors drawn for writes numbered by a stand-in
  uint64_t ae_rounds = 0;             // anti-entropy comparisons started
  uint64_t ae_rounds_in_sync = 0;     // ... that found the copies equal
  uint64_t ae_keys_sent = 0;          // keys sent to a peer by anti-entropy
  uint64_t ae_bytes_sent = 0;         // tree hashes and records sent by anti-entropy
  uint64_t ae_keys_repaired = 0;      // local copies anti-entropy changed
  uint64_t merkle_builds = 0;         // trees built from a scan of the data
  uint64_t merkle_scan_failures = 0;  // scans that failed (a maintained tree is kept, none made)
  uint64_t tombstone_checks = 0;      // keys this node asked every member about
  uint64_t tombstones_collected = 0;  // tombstone records deleted here
  uint64_t prune_checks = 0;          // keys whose clocks this node asked about
  uint64_t clock_entries_pruned = 0;  // superseded actor entries dropped here
  uint64_t layout_changes = 0;        // states adopted with a new layout or table
  uint64_t layout_flips = 0;          // targets this node committed as the layout
  uint64_t transfer_chunks = 0;       // stream chunks merged here
  uint64_t transfer_backoffs = 0;     // times the throttle halved its rate
  uint64_t transfer_keys = 0;         // keys received by streaming
  uint64_t transfer_bytes = 0;        // their bytes
  uint64_t transfers_done = 0;        // (store, partition)s received and verified
  uint64_t transfers_lost = 0;        // ... with no surviving replica to copy from
  uint64_t stream_chunks_served = 0;  // chunks sent to a new replica
  uint64_t partitions_dropped = 0;    // copies dropped after they moved away
  uint64_t recoveries_started = 0;    // times this node found its data lost
  uint64_t recoveries_done = 0;       // ... and finished refilling it
  uint64_t reads_refused_recovering = 0;  // replica reads answered "recovering"
  uint64_t inbound_refused = 0;           // peer requests over their source's byte budget
  uint64_t store_configs_replaced = 0;    // a concurrent creation's winning config adopted
  uint64_t foreign_cluster_contacts = 0;  // nodes of another cluster that dialled this one
  uint64_t peer_messages_refused = 0;     // from a non-member, or a state of another cluster
  std::string last_refused_sender;        // ... the sender of the latest one
  uint64_t extra_writes = 0;              // writes also sent to a new replica during a move
  uint64_t generation_jumps = 0;       // own heartbeat heard with a newer generation: moved past it
  uint64_t heartbeats_refused = 0;     // generation or counter beyond any clock (Gossiper)
  uint64_t layout_deltas_sent = 0;     // cluster updates whose layout went as a delta
  uint64_t layout_deltas_applied = 0;  // ... received and applied here
  uint64_t layout_deltas_refused = 0;  // ... received for another base or giving another digest
};

}  // namespace ringkv::core_views
