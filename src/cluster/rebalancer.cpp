// Rebalancer (rebalancer.h), rebalancing: moving data from the current layout to the
// target layout (cluster_state.h) while clients keep reading and writing.
//
// The target is plan_assignment(layout, owners' table), the same on every
// node. Once it has been stable for rebalance_settle_ms (joins close
// together make one move):
//   1. Receipts. For every store and partition, every node in the target's
//      preference list but not in the current one must receive a copy. Each
//      node works out its own receipts and, for the flip, everyone's.
//   2. Streaming. A receiver pulls each of its (store, partition)s from a
//      current replica believed up, in data-key order, one chunk of at most
//      transfer_chunk_bytes at a time (StreamRequest/StreamChunk), at most
//      transfers_max at once, throttled to transfer_bytes_per_sec. Each chunk
//      is merged durably, then its last key is written as a checkpoint (meta
//      key "transfer/..."), so a crash of either side resumes from there.
//   3. Verification. Once every node knows the target (so every coordinator
//      also writes to the new replicas; a strict store's waits for w of both
//      sets, the joint quorum of coordinator_put.cpp), a
//      streamed partition is compared by Merkle rounds (the anti-entropy
//      messages) with every current replica that is up; differences are
//      synced and each comparison repeated until the trees agree. A strict
//      store's copy also waits until n - w + 1 current replicas were
//      compared, so it holds every write acknowledged before (see
//      verifications_needed in rebalancer_flip.cpp, which holds steps 3
//      and 4).
//   4. Ready and flip. A node whose receipts are all verified publishes the
//      target's digest as `ready` in its heartbeat. Any node that sees every
//      receiver ready and every owner (and every leaving node it believes up)
//      knowing the target commits the target as the layout; two nodes doing
//      so at once commit the same state.
//   5. Drop (rebalancer_drop.cpp). A node holding data of a (store,
//      partition) it replicates neither in the layout nor in the target
//      waits drop_grace_ms after the layout changed (so the flip has
//      spread), refuses new writes to it, hands it over once more to every
//      current replica (a Merkle round whose sync the receiver answers only
//      once merged durably), and deletes the partition with one range
//      delete.
// A removed node that is down cannot be a source: its partitions are copied
// from the surviving replicas; one with no surviving replica at all (n = 1)
// waits for it to come back until it is gone (down for prune_delay_ms,
// Membership::gone), then is recorded as lost (transfers_lost) rather than
// blocking the move forever.
#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core.h"
#include "common/bytes.h"
#include "common/md5.h"
#include "storage/data_key.h"
#include "storage/node_identity.h"
#include "storage/record_codec.h"

namespace ringkv {
namespace {

constexpr std::string_view kTransferPrefix = "transfer/";
constexpr uint64_t kStreamChunkBytesMax = 4 << 20;
constexpr uint64_t kTransferRetryMs = 1000;
// The adaptive throttle (chunk_merged): the rate never falls below the
// ceiling / kRateFloorDivisor, so a move under heavy load still ends; it is
// halved at most once per kRateDecreaseMs; the quiet level of foreground
// write latency is the lowest mean of the last two kBaseWindowMs windows.
constexpr uint64_t kRateFloorDivisor = 64;
constexpr uint64_t kRateDecreaseMs = 200;
constexpr uint64_t kRateIncreaseMs = 100;
constexpr uint64_t kRateStepDivisor = 16;
constexpr uint64_t kBaseWindowMs = 10'000;
constexpr uint64_t kQuietMs = 1000;
// The throttle is a token bucket: a chunk may start while the rate's debt
// (transfer_budget_us_, in µs: in whole ms a 256 KiB chunk at 64 MiB/s
// was charged 3 ms of its 3.9) runs less than this far ahead of now. Without the
// burst a chunk whose share of the rate was not yet spent waited for the next
// rebalance tick, so at most transfers_max chunks started per tick whatever
// the ceiling.
constexpr uint64_t kThrottleBurstMs = 100;

std::string transfer_key(StoreId store, uint32_t partition) {
  std::string out(kTransferPrefix);
  for (uint32_t value : {store, partition}) {
    for (int shift = 24; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
  return out;
}

bool contains(std::span<const uint32_t> nodes, uint32_t index) {
  return std::find(nodes.begin(), nodes.end(), index) != nodes.end();
}

}  // namespace

const PreferenceTable& Rebalancer::target_table_for(uint32_t n) {
  auto table = target_tables_.find(n);
  if (table == target_tables_.end())
    table = target_tables_.emplace(n, PreferenceTable::build(*core_.target_, n)).first;
  return table->second;
}

void Rebalancer::recompute_target() {
  std::optional<Layout> target;
  if (!core_.members_.empty())
    target = target_layout(core_.membership_.cluster_state(), kAssignmentReplicas);
  const uint64_t digest = target ? digest64(encode_layout(*target)) : 0;
  if (digest == core_.target_digest_)
    return;
  core_.target_ = std::move(target);
  target_self_ = core_.target_ ? core_.target_->node_index(core_.options_.self) : std::nullopt;
  core_.target_digest_ = digest;
  target_tables_.clear();
  target_since_ms_ = core_.now_ms_;
  moved_bytes_ = 0;
  receipts_for_ = 0;  // recomputed at the next rebalance tick
  ready_ = 0;
}

bool Rebalancer::replicates(const StoreEntry& store, uint32_t partition, bool in_target) {
  const std::optional<uint32_t> self = in_target ? target_self_ : core_.layout_self_;
  if (!self)
    return false;
  const PreferenceTable& table =
      in_target ? target_table_for(store.config.n) : core_.table_for(store.config.n);
  return contains(table.nodes(partition), *self);
}

std::vector<NodeId> Rebalancer::target_extras(const StoreEntry& store, std::string_view key,
                                              const std::vector<NodeId>& replicas) {
  std::vector<NodeId> out;
  if (!core_.target_)
    return out;
  for (uint32_t index : target_table_for(store.config.n).nodes_for_key(key)) {
    const NodeId& id = core_.target_->nodes()[index].id;
    if (std::find(replicas.begin(), replicas.end(), id) == replicas.end())
      out.push_back(id);
  }
  return out;
}

std::vector<NodeId> Rebalancer::joint_list(const StoreEntry& store, std::string_view key,
                                           const std::vector<NodeId>& replicas) {
  std::vector<NodeId> out;
  if (!core_.target_)
    return out;
  for (uint32_t index : target_table_for(store.config.n).nodes_for_key(key))
    out.push_back(core_.target_->nodes()[index].id);
  if (out == replicas)
    out.clear();  // the key does not move: one quorum is both
  return out;
}

uint64_t Rebalancer::expected_ready() const {
  if (!core_.target_)
    return 0;
  return (core_.target_digest_ ^ core_.membership_.stores_digest()) | 1;
}

void Rebalancer::plan_receipts() {
  const uint64_t expected = expected_ready();
  if (receipts_for_ == expected)
    return;
  receipts_for_ = expected;
  receivers_.clear();
  std::set<std::pair<StoreId, uint32_t>> mine;
  const std::vector<const StoreEntry*> stores = core_.catalog_.list();
  for (const StoreEntry* store : stores) {
    const PreferenceTable& now = core_.table_for(store->config.n);
    const PreferenceTable& next = target_table_for(store->config.n);
    for (uint32_t partition = 0; partition < core_.target_->partition_count(); ++partition) {
      std::span<const uint32_t> old_nodes = now.nodes(partition);
      std::span<const uint32_t> new_nodes = next.nodes(partition);
      // A list that shrinks (fewer nodes than n remain) has no newcomer for
      // each node that leaves, so the nodes that stay must catch up too: a
      // write may be on w nodes of which some leave.
      const bool shrinks = new_nodes.size() < old_nodes.size();
      for (uint32_t index : new_nodes) {
        const NodeId& id = core_.target_->nodes()[index].id;
        const auto old_index = core_.layout_->node_index(id);
        if (old_index && contains(old_nodes, *old_index) && !shrinks)
          continue;
        receivers_.insert(id);
        if (core_.is_self(id))
          mine.insert({store->id, partition});
      }
    }
  }
  // Transfers no longer needed stop (their checkpoints go); new ones start
  // from their checkpoint, if an earlier run left one.
  WriteBatch forget;
  for (auto it = transfers_.begin(); it != transfers_.end();) {
    if (mine.count(it->first) == 0) {
      forget.push_back({Column::meta, transfer_key(it->first.first, it->first.second), "", true});
      it = transfers_.erase(it);
    } else {
      ++it;
    }
  }
  if (!forget.empty())
    core_.issue_write(std::move(forget), /*durable=*/false, [](Status) {});
  for (auto& [key, transfer] : transfers_) {
    // Comparisons made before every node knew this target do not count: a
    // write acknowledged in between may be on the current replicas alone.
    if (transfer.verified_for == core_.target_digest_)
      continue;
    transfer.verified.clear();
    transfer.verified_for = core_.target_digest_;
    if (transfer.phase == Transfer::Phase::verifying || transfer.phase == Transfer::Phase::done) {
      transfer.phase = Transfer::Phase::pending;
      transfer.next_at = core_.now_ms_;
    }
  }
  for (const auto& [store_id, partition] : mine) {
    if (transfers_.count({store_id, partition}) != 0)
      continue;
    Transfer& transfer = transfers_[{store_id, partition}];
    transfer.verified_for = core_.target_digest_;
    for (const StoreEntry* store : stores) {
      if (store->id == store_id)
        transfer.store = store;
    }
    transfer.partition = partition;
    transfer.stays = replicates(*transfer.store, partition, /*in_target=*/false);
    if (transfer.stays) {
      transfer.streamed = true;  // it holds the partition: compare only
      continue;
    }
    auto checkpoint = core_.reads_.get(Column::meta, transfer_key(store_id, partition));
    if (checkpoint.ok() && checkpoint.value() && !checkpoint.value()->empty()) {
      transfer.streamed = (*checkpoint.value())[0] == 1;
      transfer.after = checkpoint.value()->substr(1);
    }
  }
}

std::optional<NodeId> Rebalancer::transfer_source(const Transfer& transfer, uint64_t now_ms,
                                                  bool& lost) {
  lost = false;
  bool any_owner = false;
  for (uint32_t index : core_.table_for(transfer.store->config.n).nodes(transfer.partition)) {
    const NodeId& id = core_.layout_->nodes()[index].id;
    if (core_.is_self(id))
      continue;
    if (!core_.is_down(id, now_ms))
      return id;
    if (!core_.membership_.gone(id, now_ms))
      any_owner = true;  // it may come back: wait for it
  }
  // Every current replica is removed and gone (down for prune_delay_ms):
  // nothing left to copy from. (Down and removed alone is not enough: two
  // removals under a congested network made both replicas of a partition
  // look down for a moment, its new replicas were declared ready with
  // nothing, and the flip lost every acknowledged write of the partition.)
  lost = !any_owner;
  return std::nullopt;
}

void Rebalancer::tick(uint64_t now_ms) {
  note_write_latency(now_ms);
  if (!core_.layout_)
    return;
  if (now_ms < next_rebalance_ms_) {
    // Between rebalance rounds, only start the chunks the throttle now
    // allows — and only for receipts planned for this very target and these
    // stores: run over an older plan's (all done) transfers, run_transfers
    // would publish `ready` for a target whose receipts were never planned.
    if (core_.target_ && !transfers_.empty() && receipts_for_ == expected_ready() &&
        now_ms >= target_since_ms_ + core_.options_.rebalance_settle_ms)
      run_transfers(now_ms);
    return;
  }
  next_rebalance_ms_ = now_ms + core_.options_.rebalance_interval_ms;
  if (!core_.target_) {
    if (!transfers_.empty()) {  // the move was cancelled or completed
      WriteBatch forget;
      for (const auto& [key, transfer] : transfers_)
        forget.push_back({Column::meta, transfer_key(key.first, key.second), "", true});
      transfers_.clear();
      core_.issue_write(std::move(forget), /*durable=*/false, [](Status) {});
    }
    ready_ = 0;
  } else if (now_ms >= target_since_ms_ + core_.options_.rebalance_settle_ms) {
    plan_receipts();
    run_transfers(now_ms);
    maybe_flip(now_ms);
  }
  drop_tick(now_ms);
}

void Rebalancer::run_transfers(uint64_t now_ms) {
  if (!core_.target_)
    return;
  uint32_t active = 0;
  bool all_done = true;
  for (auto& [key, transfer] : transfers_) {
    if (transfer.phase != Transfer::Phase::done)
      all_done = false;
    if ((transfer.phase == Transfer::Phase::streaming ||
         transfer.phase == Transfer::Phase::verifying) &&
        transfer.deadline <= now_ms) {
      transfer.phase = Transfer::Phase::pending;  // the source went quiet: ask again
      transfer.next_at = now_ms + kTransferRetryMs;
    }
    if (transfer.phase != Transfer::Phase::pending && transfer.phase != Transfer::Phase::done)
      ++active;
  }
  ready_ = all_done ? expected_ready() : 0;
  for (auto& [key, transfer] : transfers_) {
    if (active >= core_.options_.transfers_max)
      break;
    if (transfer.phase != Transfer::Phase::pending || transfer.next_at > now_ms ||
        transfer.store == nullptr)
      continue;
    if (!transfer.streamed && transfer_budget_us_ > (now_ms + kThrottleBurstMs) * 1000)
      continue;  // the throttle
    bool lost = false;
    auto source = transfer_source(transfer, now_ms, lost);
    if (transfer.streamed && source) {
      // Verify only once every node writes to both sets: a write acknowledged
      // before that may be on the old replicas alone.
      if (!all_know_target(now_ms))
        continue;
      source = next_to_verify(transfer, now_ms);
      if (!source) {
        if (transfer.verified.size() >= verifications_needed(transfer, now_ms)) {
          transfer.phase = Transfer::Phase::done;
          ++core_.stats_.transfers_done;
        } else {
          transfer.next_at = now_ms + kTransferRetryMs;  // wait for a replica to come back
        }
        continue;
      }
    }
    if (!source) {
      if (lost) {
        transfer.phase = Transfer::Phase::done;
        ++(transfer.stays ? core_.stats_.transfers_done : core_.stats_.transfers_lost);
      }
      continue;
    }
    ++active;
    ask_source(transfer, *source, now_ms);
  }
}

void Rebalancer::restart_transfer(StoreId store, uint32_t partition) {
  auto found = transfers_.find({store, partition});
  if (found == transfers_.end())
    return;
  Transfer& transfer = found->second;
  transfer.phase = Transfer::Phase::pending;
  transfer.streamed = transfer.stays;
  transfer.after.clear();
  transfer.verified.clear();
  transfer.op = 0;
  transfer.next_at = core_.now_ms_;
  WriteBatch forget;
  forget.push_back({Column::meta, transfer_key(store, partition), "", true});
  core_.issue_write(std::move(forget), /*durable=*/false, [](Status) {});
}

void Rebalancer::ask_source(Transfer& transfer, const NodeId& source, uint64_t now_ms) {
  transfer.source = source;
  transfer.op = core_.next_op();
  transfer.deadline = now_ms + core_.options_.request_timeout_ms;
  if (!transfer.streamed) {
    transfer.phase = Transfer::Phase::streaming;
    core_.send(source, StreamRequest{transfer.op, core_.spec_of(*transfer.store),
                                     transfer.partition, core_.layout_->partition_bits(),
                                     transfer.after, core_.options_.transfer_chunk_bytes});
    return;
  }
  transfer.phase = Transfer::Phase::verifying;
  core_.anti_entropy_.start_round(transfer.op, *transfer.store, transfer.partition, source,
                                  transfer.deadline, AePurpose::transfer);
}

void Rebalancer::on_stream_request(const NodeId& from, StreamRequest message) {
  const uint64_t op = message.op;
  if (!core_.layout_ || message.partition_bits != core_.layout_->partition_bits()) {
    core_.send(from,
               StreamChunk{op, {Code::unavailable, "not the same partition count"}, {}, {}, false});
    return;
  }
  const StoreSpec spec = message.store;
  core_.stores_.ensure_store(spec, [this, from,
                                    message = std::move(message)](Result<const StoreEntry*> entry) {
    StreamChunk out;
    out.op = message.op;
    if (!entry.ok()) {
      out.status = PeerStatus::from(entry.status());
      core_.send(from, std::move(out));
      return;
    }
    const KeyRange range =
        partition_range((*entry)->id, message.partition, core_.layout_->partition_bits());
    std::string begin = range.begin;
    if (!message.after.empty() && message.after >= begin) {
      begin = message.after;
      begin.push_back('\0');  // the first key after it
    }
    const uint64_t bytes_max = std::clamp<uint64_t>(message.bytes_max, 1, kStreamChunkBytesMax);
    uint64_t bytes = 0;
    out.done = true;
    Status scanned = core_.reads_.scan(
        Column::data, begin, range.end, [&](std::string_view data_key, std::string_view record) {
          if (bytes >= bytes_max) {
            out.done = false;
            return false;
          }
          auto decoded = decode_data_key(data_key);
          auto set = decode_record(record);
          out.last.assign(data_key);
          if (decoded && set.ok()) {
            bytes += data_key.size() + record.size();
            out.entries.push_back({std::move(decoded->key), std::move(*set)});
          }
          return true;
        });
    if (!scanned.ok()) {
      out = StreamChunk{};
      out.op = message.op;
      out.status = PeerStatus::from(scanned);
    } else {
      ++core_.stats_.stream_chunks_served;
    }
    core_.send(from, std::move(out));
  });
}

void Rebalancer::on_stream_chunk(const NodeId& from, StreamChunk message) {
  auto found = std::find_if(transfers_.begin(), transfers_.end(), [&](const auto& entry) {
    return entry.second.op == message.op && entry.second.phase == Transfer::Phase::streaming &&
           entry.second.source == from;
  });
  if (found == transfers_.end())
    return;  // late, duplicated, or the transfer was stopped
  Transfer& transfer = found->second;
  const auto key = found->first;
  if (message.status.code != Code::ok) {
    transfer.phase = Transfer::Phase::pending;
    transfer.next_at = core_.now_ms_ + kTransferRetryMs;
    return;
  }
  transfer.phase = Transfer::Phase::merging;
  uint64_t bytes = 0;
  std::vector<AeEntry> entries;
  for (AeEntry& entry : message.entries) {
    // Only keys of the partition asked for: a confused peer cannot make us
    // store keys we do not own.
    if (partition_of(md5(entry.key), core_.layout_->partition_bits()) == transfer.partition) {
      bytes += entry.key.size() + encode_record(entry.set).size();
      entries.push_back(std::move(entry));
    }
  }
  ++core_.stats_.transfer_chunks;
  core_.stats_.transfer_keys += entries.size();
  core_.stats_.transfer_bytes += bytes;
  moved_bytes_ += bytes;
  // The chunk and its checkpoint are one durable write: a crash keeps both
  // or neither, and the resumed stream starts after what is on disk.
  std::string checkpoint(1, message.done ? '\1' : '\0');
  checkpoint += message.last.empty() ? transfer.after : message.last;
  WriteBatch batch;
  batch.push_back({Column::meta, transfer_key(key.first, key.second), checkpoint});
  const uint64_t op = transfer.op;
  core_.merge_chunk_locally(
      *transfer.store, std::move(entries), std::move(batch),
      [this, key, op, checkpoint, bytes](Status status, uint64_t) {
        auto it = transfers_.find(key);
        if (it == transfers_.end() || it->second.op != op ||
            it->second.phase != Transfer::Phase::merging)
          return;
        Transfer& transfer = it->second;
        transfer.phase = Transfer::Phase::pending;
        if (!status.ok()) {
          transfer.next_at = core_.now_ms_ + kTransferRetryMs;
          return;
        }
        chunk_merged(bytes);
        transfer.after = checkpoint.substr(1);
        transfer.streamed = checkpoint[0] == '\1';
        transfer.next_at = core_.now_ms_;
        run_transfers(core_.now_ms_);  // the next step at once, not at the next tick
      });
}

void Rebalancer::chunk_merged(uint64_t bytes) {
  // The throttle: the next chunk (of any transfer) waits for this one's
  // share of the current rate.
  const uint64_t ceiling = std::max<uint64_t>(core_.options_.transfer_bytes_per_sec, 1);
  const uint64_t floor = std::max<uint64_t>(ceiling / kRateFloorDivisor, 1);
  if (rate_ == 0)
    rate_ = ceiling;
  rate_ = std::clamp(rate_, floor, ceiling);
  transfer_budget_us_ =
      std::max(transfer_budget_us_, core_.now_ms_ * 1000) + bytes * 1'000'000 / rate_;
  // Adaptive: foreground writes slower than their quiet level (the lowest
  // mean seen in the last two windows) by more than half again and 1 ms
  // halve the rate, at most once per kRateDecreaseMs (the mean lags);
  // otherwise the rate climbs back by 1/kRateStepDivisor of the ceiling per
  // kRateIncreaseMs, and with no foreground write for kQuietMs it is the
  // ceiling. (It climbed by an eighth per chunk: a few chunks after a
  // back-off it was at the ceiling again, and a move under load made client
  // p99 8x idle.) (A mean over ms readings: 0 and 1 ms readings average to
  // fractions.)
  const uint64_t now = core_.now_ms_;
  const bool writing = now < core_.foreground_write_last_ms_ + kQuietMs;
  note_write_latency(now);
  const uint64_t latency = core_.foreground_write_ms_x256_;
  const uint64_t base = std::min(base_current_x256_, base_previous_x256_);
  if (writing && latency > base + base / 2 + 256) {
    if (now >= last_decrease_ms_ + kRateDecreaseMs) {
      rate_ = std::max(rate_ / 2, floor);
      last_decrease_ms_ = now;
      ++core_.stats_.transfer_backoffs;
    }
  } else if (!writing) {
    rate_ = ceiling;
  } else if (now >= last_increase_ms_ + kRateIncreaseMs) {
    rate_ = std::min(rate_ + ceiling / kRateStepDivisor, ceiling);
    last_increase_ms_ = now;
  }
}

void Rebalancer::note_write_latency(uint64_t now_ms) {
  if (now_ms >= base_window_start_ms_ + kBaseWindowMs) {
    base_previous_x256_ = base_current_x256_;
    base_current_x256_ = UINT64_MAX;
    base_window_start_ms_ = now_ms;
  }
  if (now_ms < core_.foreground_write_last_ms_ + kQuietMs)
    base_current_x256_ = std::min(base_current_x256_, core_.foreground_write_ms_x256_);
}

uint64_t Rebalancer::transfer_rate() const {
  const uint64_t ceiling = std::max<uint64_t>(core_.options_.transfer_bytes_per_sec, 1);
  return rate_ == 0 ? ceiling : std::min(rate_, ceiling);
}

bool Rebalancer::moving_data() const {
  return !transfers_.empty() || handover_;
}

uint64_t Rebalancer::moves_done() const {
  uint64_t done = 0;
  for (const auto& [key, transfer] : transfers_)
    done += transfer.phase == Transfer::Phase::done ? 1 : 0;
  return done;
}

Rebalancer::Handover* Rebalancer::handover_for(uint64_t op) {
  return handover_ && handover_->op == op ? &*handover_ : nullptr;
}

void Rebalancer::handover_refused(uint64_t op) {
  if (handover_ && handover_->op == op)
    handover_.reset();  // the owner refused
}

}  // namespace ringkv
