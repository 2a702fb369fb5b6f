// NodeCoreOptions: the node core's settings (cluster/node_core.h), with
// their defaults. ClusterNodeOptions (server/cluster_node.h) carries them;
// `ringkv serve` sets the ones its flags name (server/serve_config.h, whose
// defaults are these).
#pragma once

#include <cstdint>

#include "cluster/failure_detector.h"
#include "cluster/messages.h"
#include "common/limits.h"
#include "version/version_vector.h"

namespace ringkv {

inline constexpr uint64_t kAntiEntropyIntervalMsDefault = 1000;
inline constexpr uint64_t kTransferMibPerSecDefault = 64;
inline constexpr uint64_t kDropGraceMsDefault = 30'000;
inline constexpr uint64_t kSweepIntervalMsDefault = 10'000;
inline constexpr uint64_t kPruneDelayMsDefault = 10 * 60 * 1000;

struct NodeCoreOptions {
  NodeId self;
  ActorId actor = 0;  // this incarnation's actor (node_identity.h)
  uint64_t request_timeout_ms = kRequestTimeoutMsDefault;  // a client request's deadline
  uint64_t store_create_timeout_ms = 2000;
  uint64_t store_create_retry_ms = 1000;  // re-ask members that did not acknowledge

  // Gossip and failure detection (gossiper.cpp).
  uint64_t generation = 0;  // this start of the node; must rise at every restart
  uint64_t seed = 0;        // the core's random choices (gossip partners)
  uint64_t gossip_interval_ms = 500;
  uint32_t gossip_fanout = 2;  // members gossiped with per round
  FailureDetectorOptions failure_detector;

  // Sloppy quorum and hinted handoff (hinted_handoff.cpp).
  uint64_t hints_bytes_max = uint64_t{1} << 30;  // a stand-in refuses new hints beyond this
  // After a replica has been suspected this long, no new hints are taken for
  // it (writes to its keys need w other replicas); hints already held are
  // kept until delivered, never dropped (an acknowledged write may live only
  // there).
  uint64_t hint_window_ms = 3 * 3600 * 1000;
  uint64_t handoff_interval_ms = 200;  // how often handoff looks for work
  // A sloppy put short of w after this long also sends each silent
  // replica's copy to a stand-in (0: a quarter of request_timeout_ms).
  uint64_t sloppy_retry_ms = 0;

  // Anti-entropy (anti_entropy.cpp): one (store, partition) this
  // node replicates is compared with another replica per interval (0: off).
  uint64_t anti_entropy_interval_ms = kAntiEntropyIntervalMsDefault;
  uint32_t anti_entropy_leaves_max = 32;  // Merkle leaves exchanged per round
  // ... and at most this many bytes of records sent per round (whole
  // leaves; at least one): the rest waits for the next round.
  uint64_t anti_entropy_bytes_max = 8 << 20;
  // Trees are dropped and rebuilt from the data this often, so that silent
  // corruption on disk is found too.
  uint64_t merkle_rebuild_ms = 3600 * 1000;

  // Tombstone collection (tombstone_collector.cpp): a record of tombstones
  // only, all older than the grace period, is deleted once every member
  // agrees (see TombstoneCheck). One partition is looked at per interval, by
  // the first replica of its preference list (0: off).
  uint64_t tombstone_grace_ms = uint64_t{10} * 24 * 3600 * 1000;
  uint64_t tombstone_sweep_interval_ms = kSweepIntervalMsDefault;
  uint32_t tombstone_batch_max = 64;  // keys per check
  // Clock pruning (clock_pruner.cpp) rides on the same sweep: an entry
  // of an actor with no live version is dropped from a key's record once
  // every member agreed twice, this far apart. It must exceed the age of
  // any message still deliverable (the peer transport drops frames older
  // than its frame_age_max), so that no message from before the first
  // agreement can bring a superseded version back.
  uint64_t prune_delay_ms = kPruneDelayMsDefault;
  uint32_t handoff_in_flight_max = 16;   // hints in flight per target
  uint64_t handoff_bytes_max = 8 << 20;  // ... and their bytes (at least one hint)
  // Replication work a peer asks of this node (replica writes, hints,
  // anti-entropy merges) that is not finished yet, in bytes per source:
  // over this, the peer's next request is refused as overloaded and it
  // retries later, so one source cannot fill the write queue. A request
  // is always taken when nothing of its source is in flight.
  uint64_t inbound_bytes_per_source_max = 64 << 20;

  // Rebalancing (rebalancer.cpp).
  // A new target waits this long before data moves, so that joins close
  // together become one move.
  uint64_t rebalance_settle_ms = 2000;
  uint64_t transfer_chunk_bytes = 256 * 1024;  // per StreamRequest
  // The throttle: bytes per second a node pulls, over all its transfers.
  uint64_t transfer_bytes_per_sec = kTransferMibPerSecDefault << 20;
  uint32_t transfers_max = 4;  // (store, partition)s streamed or verified at once per node
  // A former owner keeps its copy this long after the layout flipped (so
  // the flip has spread), then hands it over once more and drops it.
  uint64_t drop_grace_ms = kDropGraceMsDefault;
  uint64_t rebalance_interval_ms = 100;  // how often transfers and drops look for work
  // This start found no data directory (NodeIdentity::fresh_directory). If
  // the cluster it then hears of already places data on it, its data was
  // lost: it recovers (recovery.cpp) before its reads count.
  bool fresh_directory = false;
};

}  // namespace ringkv
