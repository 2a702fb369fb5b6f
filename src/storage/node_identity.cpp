#include "storage/node_identity.h"

#include "common/bytes.h"

namespace ringkv {
namespace {

constexpr std::string_view kActorKey = "node/actor";
constexpr std::string_view kCleanKey = "node/clean_shutdown";

}  // namespace

Result<NodeIdentity> open_identity(Engine& engine, const std::function<uint64_t()>& random_actor) {
  auto stored = engine.get(Column::meta, kActorKey);
  if (!stored.ok())
    return stored.status();
  auto clean = engine.get(Column::meta, kCleanKey);
  if (!clean.ok())
    return clean.status();
  NodeIdentity identity;
  if (stored.value() && clean.value()) {
    ByteReader reader(*stored.value());
    if (!reader.u64_be(identity.actor) || !reader.empty() || identity.actor == 0) {
      return Status(Code::corruption, "stored node actor id is corrupt");
    }
  } else {
    identity.fresh_directory = !stored.value().has_value();
    identity.new_actor = true;
    do {
      identity.actor = random_actor();
    } while (identity.actor == 0);
  }
  // The clean mark is consumed: a crash from now on must bump the actor again.
  WriteBatch batch;
  std::string actor_bytes;
  ByteWriter(actor_bytes).u64_be(identity.actor);
  batch.push_back({Column::meta, std::string(kActorKey), actor_bytes});
  batch.push_back({Column::meta, std::string(kCleanKey), "", /*erase=*/true});
  if (Status status = engine.write(batch, /*sync=*/true); !status.ok())
    return status;
  return identity;
}

WriteOp actor_record(ActorId actor) {
  std::string actor_bytes;
  ByteWriter(actor_bytes).u64_be(actor);
  return {Column::meta, std::string(kActorKey), std::move(actor_bytes), false};
}

Status mark_clean_shutdown(Engine& engine) {
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kCleanKey), "1"});
  return engine.write(batch, /*sync=*/true);
}

}  // namespace ringkv
