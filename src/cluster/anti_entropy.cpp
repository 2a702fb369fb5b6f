// AntiEntropy (anti_entropy.h): Merkle-tree anti-entropy (Dynamo §4.7).
//
// Every anti_entropy_interval_ms the node takes the next (store, partition)
// it replicates (round robin) and a random other replica of it believed up,
// and compares trees (storage/merkle.h): branches, then the leaves of
// differing branches, then both send their keys of the differing leaves
// (at most anti_entropy_leaves_max per round) and merge what they get. One
// round is in flight at a time: that is the throttle. Trees are built from a
// scan of the partition the first time they are needed, kept up to date by
// every data write that completes, and dropped every merkle_rebuild_ms so
// they are rebuilt from what is really on disk (the trees are the
// MerkleTrees component's, cluster/merkle_trees.h).
#include "cluster/anti_entropy.h"

#include <algorithm>
#include <memory>

#include <fmt/format.h>

#include "cluster/node_core.h"
#include "cluster/node_core_errors.h"
#include "common/md5.h"
#include "storage/data_key.h"
#include "storage/record_codec.h"

namespace ringkv {

bool AntiEntropy::in_leaves(std::string_view key, uint32_t partition,
                            const std::vector<uint32_t>& leaves) const {
  const Md5Digest digest = md5(key);
  const uint32_t bits = core_.layout_->partition_bits();
  return partition_of(digest, bits) == partition &&
         std::find(leaves.begin(), leaves.end(), merkle_leaf_of(digest, bits)) != leaves.end();
}

std::vector<AeEntry> AntiEntropy::entries_in(const StoreEntry& store, uint32_t partition,
                                             const std::vector<uint32_t>& leaves, uint64_t& bytes) {
  std::vector<AeEntry> out;
  const uint32_t bits = core_.layout_->partition_bits();
  for (uint32_t leaf : leaves) {
    const KeyRange range = merkle_leaf_range(store.id, partition, bits, leaf);
    (void)core_.reads_.scan(Column::data, range.begin, range.end,
                            [&](std::string_view data_key, std::string_view record) {
                              auto decoded = decode_data_key(data_key);
                              auto set = decode_record(record);
                              if (decoded && set.ok()) {
                                bytes += decoded->key.size() + record.size();
                                out.push_back({std::move(decoded->key), std::move(*set)});
                              }
                              return true;
                            });
  }
  return out;
}

void AntiEntropy::start_round(uint64_t op, const StoreEntry& store, uint32_t partition,
                              const NodeId& peer, uint64_t deadline, AePurpose purpose) {
  const MerkleTree& tree = core_.tree_for(store, partition);
  rounds_[op] = PendingAe{&store, partition, peer, deadline, {}, purpose, true};
  core_.send(peer, AeRoots{op,
                           core_.spec_of(store),
                           partition,
                           core_.layout_->partition_bits(),
                           {tree.branches().begin(), tree.branches().end()}});
}

void AntiEntropy::tick(uint64_t now_ms) {
  if (core_.options_.anti_entropy_interval_ms == 0 || !core_.layout_ || now_ms < next_round_ms_)
    return;
  next_round_ms_ = now_ms + core_.options_.anti_entropy_interval_ms;
  if (now_ms >= next_rebuild_ms_) {
    core_.merkle_.rebuild_all();
    next_rebuild_ms_ = now_ms + core_.options_.merkle_rebuild_ms;
  }
  core_errors::forget_expired(rounds_, now_ms);
  for (const auto& [op, pending] : rounds_) {
    if (pending.purpose == AePurpose::regular)
      return;  // one round at a time
  }
  const std::vector<const StoreEntry*> stores = core_.catalog_.list();
  if (stores.empty())
    return;
  const uint32_t partitions = core_.layout_->partition_count();
  for (uint64_t tries = 0; tries < uint64_t{stores.size()} * partitions; ++tries) {
    const StoreEntry* store = stores[store_cursor_ % stores.size()];
    const uint32_t partition = partition_cursor_ % partitions;
    if (++partition_cursor_ >= partitions) {
      partition_cursor_ = 0;
      ++store_cursor_;
    }
    if (!core_.rebalancer_.replicates(*store, partition, /*in_target=*/false))
      continue;
    std::vector<NodeId> peers;
    for (uint32_t index : core_.table_for(store->config.n).nodes(partition)) {
      const NodeId& id = core_.layout_->nodes()[index].id;
      if (!core_.is_self(id) && !core_.is_down(id, now_ms))
        peers.push_back(id);
    }
    if (peers.empty())
      continue;
    const NodeId peer = peers[core_.random_.below(peers.size())];
    ++core_.stats_.ae_rounds;
    core_.stats_.ae_bytes_sent += kMerkleBranches * sizeof(uint64_t);
    start_round(core_.next_op(), *store, partition, peer,
                now_ms + core_.options_.request_timeout_ms, AePurpose::regular);
    return;
  }
}

void AntiEntropy::on_roots(const NodeId& from, AeRoots message) {
  const uint64_t op = message.op;
  if (!core_.layout_ || message.partition_bits != core_.layout_->partition_bits()) {
    core_.send(from, AeLeaves{op, {Code::unavailable, "not the same partition count"}, {}});
    return;
  }
  const StoreSpec spec = message.store;
  core_.stores_.ensure_store(
      spec, [this, from, message = std::move(message)](Result<const StoreEntry*> entry) {
        if (!entry.ok()) {
          core_.send(from, AeLeaves{message.op, PeerStatus::from(entry.status()), {}});
          return;
        }
        const MerkleTree& tree = core_.tree_for(**entry, message.partition);
        AeLeaves out;
        out.op = message.op;
        for (uint32_t branch = 0; branch < kMerkleBranches; ++branch) {
          if (tree.branches()[branch] != message.branches[branch]) {
            const auto leaves = tree.leaves_of(branch);
            out.branches.push_back({branch, {leaves.begin(), leaves.end()}});
            core_.stats_.ae_bytes_sent += leaves.size() * sizeof(uint64_t);
          }
        }
        core_.send(from, std::move(out));
      });
}

void AntiEntropy::on_leaves(const NodeId& from, AeLeaves message) {
  auto found = rounds_.find(message.op);
  if (found == rounds_.end() || found->second.peer != from)
    return;
  const PendingAe& pending = found->second;
  if (message.status.code != Code::ok || message.branches.empty()) {
    const PendingAe ended = std::move(found->second);
    rounds_.erase(found);
    round_ended(ended, message.op, message.status.code == Code::ok, /*in_sync=*/true);
    return;
  }
  const MerkleTree& tree = core_.tree_for(*pending.store, pending.partition);
  core_ops::Handover* handover =
      pending.purpose == AePurpose::handover ? core_.rebalancer_.handover_for(message.op) : nullptr;
  std::vector<uint32_t> leaves;
  bool complete = true;
  for (const AeBranch& branch : message.branches) {
    for (uint32_t index = 0; index < kMerkleLeavesPerBranch; ++index) {
      const uint32_t leaf = branch.index * kMerkleLeavesPerBranch + index;
      if (tree.leaf(leaf) != branch.leaves[index]) {
        if (handover != nullptr) {
          auto synced = handover->synced.find(leaf);
          if (synced != handover->synced.end() && synced->second == tree.leaf(leaf))
            continue;  // the owner holds our copy of it; it has newer keys
        }
        if (leaves.size() < core_.options_.anti_entropy_leaves_max)
          leaves.push_back(leaf);
        else
          complete = false;
      }
    }
  }
  if (leaves.empty()) {  // equal by now (writes landed meanwhile)
    const PendingAe ended = std::move(found->second);
    rounds_.erase(found);
    round_ended(ended, message.op, /*ok=*/true, /*in_sync=*/true);
    return;
  }
  // Whole leaves, up to anti_entropy_bytes_max of records (at least one
  // leaf): the peer takes the rest in later rounds, at its own pace.
  uint64_t bytes = 0;
  std::vector<AeEntry> entries;
  size_t kept = 0;
  for (; kept < leaves.size(); ++kept) {
    if (kept > 0 && bytes >= core_.options_.anti_entropy_bytes_max)
      break;
    for (AeEntry& entry : entries_in(*pending.store, pending.partition, {leaves[kept]}, bytes))
      entries.push_back(std::move(entry));
  }
  if (kept < leaves.size()) {
    leaves.resize(kept);
    complete = false;
  }
  bytes += leaves.size() * sizeof(uint32_t);
  if (handover != nullptr) {
    handover->sending.clear();
    for (uint32_t leaf : leaves)
      handover->sending[leaf] = tree.leaf(leaf);
  }
  core_.stats_.ae_keys_sent += entries.size();
  core_.stats_.ae_bytes_sent += bytes;
  found->second.leaves = leaves;
  found->second.complete = complete;
  core_.send(from, AeSync{message.op, core_.spec_of(*pending.store), pending.partition,
                          core_.layout_->partition_bits(), std::move(leaves), std::move(entries),
                          pending.purpose == AePurpose::handover});
}

void AntiEntropy::on_sync(const NodeId& from, AeSync message) {
  const uint64_t op = message.op;
  if (!core_.layout_ || message.partition_bits != core_.layout_->partition_bits()) {
    core_.send(from, AeSyncReply{op, {Code::unavailable, "not the same partition count"}, {}});
    return;
  }
  uint64_t inbound = 0;
  for (const AeEntry& theirs : message.entries)
    inbound += core_.approx_bytes(theirs.key, theirs.set);
  if (Status admitted = core_.admit_inbound(from, inbound); !admitted.ok()) {
    core_.send(from, AeSyncReply{op, PeerStatus::from(admitted), {}});
    return;
  }
  const StoreSpec spec = message.store;
  core_.stores_.ensure_store(spec, [this, from, inbound, message = std::move(message)](
                                       Result<const StoreEntry*> entry) mutable {
    if (!entry.ok()) {
      core_.release_inbound(from, inbound);
      core_.send(from, AeSyncReply{message.op, PeerStatus::from(entry.status()), {}});
      return;
    }
    // What we hold before merging theirs: after both merges, both hold the union.
    // (A handover's sender drops its copy next: it needs none of ours.)
    uint64_t bytes = 0;
    std::vector<AeEntry> ours = message.handover
                                    ? std::vector<AeEntry>{}
                                    : entries_in(**entry, message.partition, message.leaves, bytes);
    core_.stats_.ae_keys_sent += ours.size();
    core_.stats_.ae_bytes_sent += bytes;
    // A handover is answered once every entry is merged durably (the
    // sender deletes its copy after); a regular round at once.
    struct Reply {
      uint64_t op;
      std::vector<AeEntry> ours;
      uint32_t left = 1;  // the merges below, plus this function's own
      Status failed;
    };
    auto reply = std::make_shared<Reply>(Reply{message.op, std::move(ours), 1, Status::Ok()});
    const NodeId to = from;
    auto finish = [this, reply, to] {
      core_.send(to,
                 AeSyncReply{reply->op, PeerStatus::from(reply->failed),
                             reply->failed.ok() ? std::move(reply->ours) : std::vector<AeEntry>{}});
    };
    const bool handover = message.handover;
    if (!handover)
      finish();
    // When the last merge is done: the source's bytes are free again, and a
    // handover hears its answer.
    auto merged = [this, reply, handover, finish, to, inbound] {
      if (--reply->left != 0)
        return;
      core_.release_inbound(to, inbound);
      if (handover)
        finish();
    };
    for (AeEntry& theirs : message.entries) {
      if (!in_leaves(theirs.key, message.partition, message.leaves))
        continue;
      ++reply->left;
      core_.merge_locally(
          **entry, std::move(theirs.key), std::move(theirs.set),
          [reply, merged](Status status) {
            if (!status.ok())
              reply->failed = status;
            merged();
          },
          /*force_sync=*/handover, /*anti_entropy=*/true);
    }
    merged();
  });
}

void AntiEntropy::on_sync_reply(const NodeId& from, AeSyncReply message) {
  auto found = rounds_.find(message.op);
  if (found == rounds_.end() || found->second.peer != from)
    return;
  const PendingAe pending = found->second;
  rounds_.erase(found);
  round_ended(pending, message.op, message.status.code == Code::ok, /*in_sync=*/false);
  // A handover's sender is about to drop its copy: nothing to merge back.
  if (message.status.code != Code::ok || pending.purpose == AePurpose::handover)
    return;
  for (AeEntry& theirs : message.entries) {
    if (in_leaves(theirs.key, pending.partition, pending.leaves)) {
      core_.merge_locally(
          *pending.store, std::move(theirs.key), std::move(theirs.set), [](Status) {},
          /*force_sync=*/false, /*anti_entropy=*/true);
    }
  }
}

}  // namespace ringkv

namespace ringkv {

void AntiEntropy::round_ended(const PendingAe& pending, uint64_t op, bool ok, bool in_sync) {
  switch (pending.purpose) {
    case AePurpose::regular:
      if (ok && in_sync)
        ++core_.stats_.ae_rounds_in_sync;
      break;
    case AePurpose::transfer:
      core_.rebalancer_.transfer_compared(pending, op, ok && in_sync);
      break;
    case AePurpose::recovery:
      core_.recovery_.compared(op, ok && in_sync);
      break;
    case AePurpose::handover:
      if (!ok) {
        core_.rebalancer_.handover_refused(op);  // the drop sweep tries again later
        break;
      }
      // In sync, or a sync round that covered every differing leaf (the
      // owner answered after merging it durably): the owner holds our copy.
      core_.rebalancer_.handover_compared(pending, op, in_sync || pending.complete);
      break;
  }
}

}  // namespace ringkv
