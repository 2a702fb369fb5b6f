// Node: one node's key-value service on top of its storage — the single-node
// replica logic (until the deterministic cluster core of the replication issue
// takes over coordination, this is where a put and a get are decided).
//
// A put is read-modify-write of the key's SiblingSet: read the record, apply
// SiblingSet::put with the client's context under this node's actor, write the
// record through the CommitQueue, and only when the CommitQueue reports it
// applied — and fsynced, for a `sync` store — answer the client. Writes to one
// key are serialised (a per-key queue), so no read-modify-write loses another.
// Reads see every acknowledged write.
//
// The context returned by a put covers exactly what the client had seen plus
// its new version — unless the same actor holds a concurrent sibling the
// client never saw, which a version vector cannot exclude while including the
// new dot; then the new dot is left out (a later put keeps its own earlier
// write as a sibling rather than silently superseding someone else's).
//
// Invariants:
//   1. At most one write per data key is in flight (busy_keys_).
//   2. A put is acknowledged only after CommitQueue completion with ok().
//   3. Once the CommitQueue fences, every later put fails with unavailable.
//   4. Client-edge limits hold after every put: at most kSiblingsMax siblings,
//      kRecordBytesMax record bytes and kActorsPerKeyMax actors per key.
//
// Thread safety: every method runs on the loop thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/commit_queue.h"
#include "storage/engine.h"
#include "storage/node_identity.h"
#include "storage/store_catalog.h"
#include "version/sibling_set.h"

namespace ringkv {

class Node {
 public:
  using Clock = std::function<uint64_t()>;  // wall time in ms, for lww timestamps
  using PutDone = std::function<void(Result<VersionVector>)>;

  // Opens identity and catalog. `random_actor` supplies a new actor id when needed.
  static Result<std::unique_ptr<Node>> open(Engine& engine, CommitQueue& commit_queue, Clock now_ms,
                                            const std::function<uint64_t()>& random_actor);

  using CreateDone = std::function<void(Result<StoreCatalog::Created>)>;
  // Creates a store durably through the CommitQueue (so a failed fsync fences
  // writes like any other). `done` runs on the loop thread; at once when the
  // request is invalid or an identical store exists. Creations of one name are
  // serialised, so two concurrent creations never both answer "created".
  void create_store(std::string_view name, const StoreConfig& config, CreateDone done);
  const StoreCatalog& catalog() const { return catalog_; }

  // The store named `name`; not_found (saying how to create it) when there is none.
  // The entry lives as long as the catalog (stores are never dropped).
  Result<const StoreEntry*> find_store(std::string_view name) const;

  // The key's sibling set (empty when never written). Fails with not_found for
  // an unknown store, corruption for an undecodable record, io_error.
  Result<SiblingSet> get(std::string_view store, std::string_view key);
  // Same, in a store already found with find_store().
  Result<SiblingSet> get(const StoreEntry& store, std::string_view key);

  // Writes `version` (a value or a tombstone) superseding what `seen` covers.
  // `done` runs later on the loop thread with the context for the client, or
  // with not_found (unknown store) / unavailable (fenced, overloaded, storage
  // failure: the write may or may not be stored) / corruption.
  void put(std::string_view store, std::string key, VersionVector seen, Version version,
           PutDone done);

  // Periodic durability: fsyncs everything written so far.
  void sync_periodic();
  // Ok, or why this node refuses writes.
  Status write_fence() const { return commit_queue_.fenced(); }
  const NodeIdentity& identity() const { return identity_; }
  const CommitQueue& commit_queue() const { return commit_queue_; }

  struct Stats {
    uint64_t puts_acknowledged = 0;
    uint64_t puts_failed = 0;
    uint64_t gets = 0;
    uint64_t keys_waiting = 0;  // puts queued behind a write to the same key
  };
  const Stats& stats() const { return stats_; }

 private:
  Node(Engine& engine, CommitQueue& commit_queue, Clock now_ms, NodeIdentity identity,
       StoreCatalog catalog);
  void write_key(const StoreEntry& store, std::string data_key, VersionVector seen, Version version,
                 PutDone done);
  void release_key(const std::string& data_key);

  Engine& engine_;
  CommitQueue& commit_queue_;
  Clock now_ms_;
  NodeIdentity identity_;
  StoreCatalog catalog_;
  // Store names being created -> creations waiting for that one to finish.
  std::unordered_map<std::string, std::vector<std::function<void()>>> creating_stores_;
  // Data keys with a write in flight -> writes waiting for it, in arrival order.
  std::unordered_map<std::string, std::deque<std::function<void()>>> busy_keys_;
  Stats stats_;
  std::string read_key_;  // the data key of the current get, storage reused across gets
};

}  // namespace ringkv
