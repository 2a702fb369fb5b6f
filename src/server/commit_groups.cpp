// The write queue's rules; see commit_groups.h.
#include "server/commit_groups.h"

#include <algorithm>

namespace ringkv {
namespace {

size_t batch_bytes(const WriteBatch& batch) {
  size_t bytes = 0;
  for (const WriteOp& op : batch)
    bytes += op.key.size() + op.value.size();
  return bytes;
}

}  // namespace

Status CommitGroups::admit(WriteBatch& batch, bool durable, WriteQueue::Completion& done) {
  if (!fence_.ok())
    return fence_;
  // Batches that only erase (a moved partition's drop, delivered hints,
  // collected tombstones) pass: they are how space comes back.
  if (!space_refusal_.ok() && !batch.empty() &&
      !std::all_of(batch.begin(), batch.end(), [](const WriteOp& op) { return op.erase; })) {
    ++stats_.refused_for_space;
    return space_refusal_;
  }
  const size_t bytes = batch_bytes(batch);
  if (queue_.size() >= options_.queued_max ||
      (!queue_.empty() && queued_bytes_ + bytes > options_.queued_bytes_max))
    return Status(Code::overloaded, "storage write queue is full; retry shortly");
  const bool sync_only = batch.empty();
  queued_bytes_ += bytes;
  queue_.push_back(Item{std::move(batch), bytes, durable, sync_only, std::move(done)});
  return Status::Ok();
}

CommitGroups::Group CommitGroups::take_group() {
  Group group;
  size_t bytes = 0;
  while (!queue_.empty() && (group.items.empty() || bytes < options_.group_bytes_max)) {
    bytes += queue_.front().bytes;
    queued_bytes_ -= queue_.front().bytes;
    group.items.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  group.fence = fence_;
  for (Item& item : group.items) {
    group.durable = group.durable || item.durable;
    if (item.sync_only)
      continue;
    group.writes = true;
    for (WriteOp& op : item.batch)
      group.combined.push_back(std::move(op));
  }
  // A group of sync requests alone (periodic durability) syncs the WAL only
  // if something is unsynced.
  group.sync = !group.writes && unsynced_writes_;
  return group;
}

Status CommitGroups::commit(Engine& engine, Group& group) {
  if (!group.fence.ok())
    return group.fence;
  if (group.writes)
    return engine.write(group.combined, group.durable);
  if (group.sync)
    return engine.sync();
  return Status::Ok();
}

void CommitGroups::finish(const Group& group, const Status& status) {
  if (status.ok()) {
    const bool synced = group.writes ? group.durable : group.sync;
    stats_.groups += group.writes ? 1 : 0;
    stats_.syncs += synced ? 1 : 0;
    unsynced_writes_ = !synced && (unsynced_writes_ || group.writes);
  } else if (fence_.ok()) {
    fence_ =
        Status(Code::unavailable, "this node refuses writes since its storage failed (" +
                                      status.to_string() + "); fix the disk and restart the node");
  }
  stats_.batches += group.items.size();
}

}  // namespace ringkv
