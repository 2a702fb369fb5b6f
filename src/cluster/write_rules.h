// Write rules: how a coordinator turns a client's put into a new sibling set,
// and the client-edge limits it enforces (docs/ARCHITECTURE.md). Shared by every
// coordinator (the cluster core and the single-node server) so that one put
// means the same thing everywhere.
//
// apply_client_put() reads nothing and writes nothing: it takes the key's
// current set and returns the set to store, the new version's dot and the
// context for the client, or an error that leaves the set untouched.
//
// The context returned covers exactly what the client had seen plus its new
// version — unless the same actor holds a concurrent sibling the client never
// saw, which a version vector cannot exclude while including the new dot; then
// the new dot is left out (a later put keeps its own earlier write as a
// sibling rather than silently superseding someone else's).
#pragma once

#include <string>

#include "common/status.h"
#include "common/store_config.h"
#include "version/sibling_set.h"

namespace ringkv {

struct ClientPutResult {
  Dot dot;                // the new version's dot
  VersionVector context;  // for the client (see above)
  std::string record;     // the new set, encoded (record_codec.h)
};

// Applies a client put of `version` (a value or a tombstone, timestamp set)
// that saw `seen` to `set` under `actor`. On success `set` is the new set.
// Fails with invalid_argument (a forged counter), unavailable (the key's clock
// names kActorsPerKeyMax actors) or too_large (siblings or record bytes over
// the limits of common/limits.h); then `set` is unchanged.
//
// `counter_floor` (0: none): when `actor` holds no live value of the key (no
// entry, or only tombstones, which the put then supersedes as a collection
// would), the new dot's counter is at least this. A node that collects tombstones forgets
// the counters it used for a deleted key; a floor above any counter it could
// have used (the coordinator passes its clock in ms x 1024) keeps a new
// version's dot distinct from every old one that a client's context may
// still name.
Result<ClientPutResult> apply_client_put(SiblingSet& set, const StoreConfig& config,
                                         VersionVector seen, ActorId actor, Version version,
                                         uint64_t counter_floor = 0);

// How many replicas a copy must agree with before it may serve (a moved
// partition's new copy, a lost disk's refill), of `reachable` candidates. A
// strict store's acknowledged write is on w replicas: any n - w + 1 include
// one of them. A sloppy store's copy needs one; what it misses comes back by
// hinted handoff and anti-entropy.
size_t replicas_to_compare(const StoreConfig& config, size_t reachable);

}  // namespace ringkv
