// NodeContext: what the node core's components share — the node's settings,
// its view of the cluster (members, layout, target), its local storage
// (reads, the catalog, the Merkle trees, key locks), the effects it emits,
// and the services every component uses on them: send a message, issue a
// write, lock a key, read or merge a local copy, find a key's replicas.
//
// NodeCore inherits it privately: only NodeCore and its components (its
// friends, each holding the NodeCore) see it. What a component owns alone
// lives in that component; what is here is shared, and written only where
// its comment says.
//
// Invariants:
//   1. Effects leave in the order they were emitted; a message to self
//      never becomes an effect (send() loops it back).
//   2. Every issued write's continuation runs exactly once, when its
//      completion arrives (write_done); a failed write fences the node.
//   3. At most one write per key is in flight (with_key/release_key).
//
// Thread safety: none; the core's thread drives it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cluster/cluster_state.h"
#include "cluster/effects.h"
#include "cluster/key_locks.h"
#include "cluster/merkle_trees.h"
#include "cluster/messages.h"
#include "cluster/node_core_options.h"
#include "cluster/node_core_views.h"
#include "common/random.h"
#include "ring/layout.h"
#include "ring/preference_list.h"
#include "storage/engine.h"
#include "storage/store_catalog.h"
#include "version/sibling_set.h"

namespace ringkv {

struct NodeContext {
  using Continuation = std::function<void(Status)>;
  using Stats = core_views::Stats;

  // `reads` serves local reads (and must see every completed write);
  // `catalog` is the node's store catalog as loaded from it.
  NodeContext(NodeCoreOptions options, Engine& reads, StoreCatalog catalog);
  NodeContext(const NodeContext&) = delete;
  NodeContext& operator=(const NodeContext&) = delete;

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
  // `background`: a bulk write (a transfer's chunk) whose latency is not
  // counted as foreground (foreground_write_ms_x256_).
  uint64_t issue_write(WriteBatch batch, bool durable, Continuation done, bool background = false);
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
  // Merges every entry into the local copies as one durable write, together
  // with `extra` (a transfer's checkpoint, so it is never durable without
  // the data before it). The keys are locked together (in key order) and
  // read with one scan of their range, not one read each. `done` hears how
  // many keys changed, or why nothing was written.
  using ChunkDone = std::function<void(Status, uint64_t changed)>;
  void merge_chunk_locally(const StoreEntry& store, std::vector<AeEntry> entries, WriteBatch extra,
                           ChunkDone done);

  bool is_member(const NodeId& node) const { return member_ids_.count(node) != 0; }
  // Whether the cluster state has an entry for `node`, in any role (a
  // removed node keeps its entry, and may still hand data over or answer).
  bool has_entry(const NodeId& node) const {
    return std::any_of(members_.begin(), members_.end(),
                       [&](const Member& member) { return member.id == node; });
  }

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

  // Folds member `from`'s per-key answers into `agreed` and stops waiting
  // for it; false when it was not awaited (not asked, or a duplicate).
  static bool fold_agreement(const NodeId& from, const std::vector<bool>& answers,
                             std::vector<NodeId>& waiting, std::vector<bool>& agreed);

  // Advances a sweep's (store, partition) cursors by one; the store when
  // this node is the first replica of that partition (it sweeps it), else
  // nullptr. `partition` receives the partition.
  const StoreEntry* next_swept_partition(size_t& store_cursor, uint32_t& partition_cursor,
                                         uint32_t& partition);

  // Counts the next slice of this node's records into data_keys_/data_bytes_
  // (at most kCountRowsPerStep rows, from count_cursor_), until all are
  // counted: a node with a large disk starts gossiping at once instead of
  // holding its core for a scan of every record.
  void count_step();
  static constexpr size_t kCountRowsPerStep = 8192;
  // Whether `data_key` is already in data_keys_/data_bytes_, so that a write
  // or drop of it must be applied to them (later records are counted as the
  // count reaches them).
  bool counted(std::string_view data_key) const {
    return counts_complete_ || data_key < count_cursor_;
  }

  // Strict stores' client reads and writes carry the coordinator's layout
  // version (0 for other stores); a replica with a newer layout refuses them.
  uint64_t fenced_version(const StoreEntry& store) const;
  uint64_t fenced_target(const StoreEntry& store) const;

  StoreSpec spec_of(const StoreEntry& store) const { return {store.name, store.config}; }

  // ---- settings and local storage ----
  NodeCoreOptions options_;
  Engine& reads_;
  StoreCatalog catalog_;
  MerkleTrees merkle_;      // the trees of what this node holds (merkle_trees.h)
  KeyLocks key_locks_;      // one write per key in flight (key_locks.h)
  std::string key_buffer_;  // read_local()'s scratch
  // The records this node holds, counted below count_cursor_ (count_step)
  // and kept by data_write_issued() and the Rebalancer's drops.
  uint64_t data_keys_ = 0;
  uint64_t data_bytes_ = 0;
  std::string count_cursor_;      // data keys before it are counted
  bool counts_complete_ = false;  // ... and all are

  // ---- the cluster as this node sees it ----
  // Written by the Membership component (membership.h) alone.
  std::optional<Layout> layout_;
  std::optional<uint32_t> layout_self_;  // this node's index in layout_, if any
  uint64_t layout_since_ms_ = 0;         // when this node adopted its current layout
  std::optional<Layout> target_;         // where data is moving (cluster_state.h)
  uint64_t target_digest_ = 0;           // digest64 of its encoding; 0: none
  uint64_t state_digest_ = 0;            // digest64 of the encoded cluster state
  std::string cluster_id_;               // empty until formed or joined (cluster_state.h)
  // The id of the first state with one this node wrote or adopted: set
  // before the write completes, so two clusters' states never both are.
  std::string claimed_cluster_id_;
  std::vector<Member> members_;
  std::vector<ApiToken> tokens_;    // the cluster's client API tokens (cluster_state.h)
  std::set<NodeId> member_ids_;     // every member, self included (refresh_membership)
  std::vector<NodeId> others_;      // every member but self, in id order
  bool lingering_removed_ = false;  // member_ids_ holds a removed node still handing over
  // Preference tables by n, built on first use for the current layout.
  std::map<uint32_t, PreferenceTable> tables_;
  bool peer_state_seen_ = false;  // a state from a peer was merged (not only our own)
  // options_.fresh_directory, unless the node then adopted a cluster state
  // from its own disk (an actor lost but the state kept is no lost directory).
  bool fresh_directory_ = false;
  // This run formed a new cluster from an empty directory (form_cluster). If
  // a node that is no member of it gossips to it naming it, the old cluster
  // still counts on it: its data was lost and it founded a second cluster
  // by mistake (started without --join). It refuses writes (Gossiper).
  bool formed_fresh_ = false;

  // ---- effects, writes and inbound work ----
  Status fence_ = Status::Ok();  // not ok: every write refused (fence())
  std::vector<Effect> effects_;
  std::vector<PeerMessage> loopback_;  // sent to self; handled by take_effects()
  uint64_t last_op_ = 0;
  uint64_t last_write_ = 0;
  struct ChunkMerge;  // merge_chunk_locally()'s state
  void write_chunk(const std::shared_ptr<ChunkMerge>& chunk);
  struct PendingWrite {
    Continuation done;
    uint64_t issued_ms = 0;
    bool background = false;  // a transfer's chunk: not a client's write
  };
  std::unordered_map<uint64_t, PendingWrite> writes_;  // write id -> continuation
  // The latency of this node's foreground writes (issue to completion, ms
  // x 256), an exponentially weighted mean over about 16 writes: what the
  // rebalancer's throttle watches (rebalancer.h).
  uint64_t foreground_write_ms_x256_ = 0;
  uint64_t foreground_write_last_ms_ = 0;  // when the last one completed
  struct RetryWrite {
    uint64_t due_ms = 0;
    WriteBatch batch;
    bool durable = false;
    Continuation done;
  };
  std::vector<RetryWrite> retry_writes_;      // refused for load; re-issued by tick()
  std::map<NodeId, uint64_t> inbound_bytes_;  // admit_inbound()

  // ---- time, randomness, counters ----
  uint64_t now_ms_ = 0;  // of the event being handled
  Random random_;
  // Single-use actors come from the start's seed, not from a counter: a
  // counter restarts at 0 with the node, and a clean restart keeps the actor,
  // so a counter-derived id would repeat (and with it a dot).
  Random single_use_random_;
  Stats stats_;
};

}  // namespace ringkv
