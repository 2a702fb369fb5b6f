// NodeIdentity: the actor id under which this node's writes are versioned.
//
// Actor identity is sacred (docs/ARCHITECTURE.md; Riak's "KV679" lost writes by
// reusing counters): a dot (actor, counter) must never name two different
// writes. A node whose data directory was wiped gets a new actor because the
// id lives in that directory. A node that stopped uncleanly may have handed out
// dots for writes that a crash then dropped (periodic durability, or a read of
// a write before its fsync); it too takes a new actor, so no counter is reused.
// Only after a clean shutdown (mark_clean_shutdown) is the actor kept.
//
//   meta "node/actor"          -> u64 big-endian
//   meta "node/clean_shutdown" -> present only between a clean stop and the next start
//
// Thread safety: call from one thread.
#pragma once

#include <cstdint>
#include <functional>

#include "common/status.h"
#include "storage/engine.h"
#include "version/version_vector.h"

namespace ringkv {

struct NodeIdentity {
  ActorId actor = 0;
  bool new_actor = false;        // true when this start created the actor
  bool fresh_directory = false;  // true when there was no actor at all before
};

// Loads or creates the actor id (durably). `random_actor` supplies new ids.
Result<NodeIdentity> open_identity(Engine& engine, const std::function<uint64_t()>& random_actor);
// Records a clean stop (durably). Call after every acknowledged write is durable.
Status mark_clean_shutdown(Engine& engine);

// The write that records `actor` as the node's actor.
WriteOp actor_record(ActorId actor);

}  // namespace ringkv
