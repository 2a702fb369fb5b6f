// The simulated cluster; see sim_cluster.h.
#include "sim/sim_cluster.h"

#include <cstdio>
#include <cstdlib>

#include <cassert>

#include <fmt/format.h>

#include "common/limits.h"
#include "ring/assignment.h"
#include "storage/data_key.h"
#include "storage/hint_codec.h"
#include "storage/node_identity.h"
#include "storage/record_codec.h"
#include "wire/peer_codec.h"

namespace ringkv::sim {
namespace {

void add_core_stats(NodeCore::Stats& into, const NodeCore::Stats& from) {
  into.read_repairs += from.read_repairs;
  into.hints_stored += from.hints_stored;
  into.hints_delivered += from.hints_delivered;
  into.sloppy_writes += from.sloppy_writes;
  into.suspicions += from.suspicions;
  into.ae_rounds += from.ae_rounds;
  into.ae_keys_sent += from.ae_keys_sent;
  into.ae_bytes_sent += from.ae_bytes_sent;
  into.ae_keys_repaired += from.ae_keys_repaired;
  into.tombstones_collected += from.tombstones_collected;
  into.clock_entries_pruned += from.clock_entries_pruned;
  into.layout_flips += from.layout_flips;
  into.transfer_keys += from.transfer_keys;
  into.transfers_done += from.transfers_done;
  into.partitions_dropped += from.partitions_dropped;
}

}  // namespace

struct SimCluster::SimNode {
  NodeId id;
  uint64_t index = 0;
  MemoryEngine engine;
  std::unique_ptr<NodeCore> core;
  bool up = false;
  uint64_t incarnation = 0;   // events of an earlier incarnation are ignored
  uint64_t disk_free_at = 0;  // writes complete in order (one disk queue)
  // Writes handed to the disk queue and not yet on the disk (id -> write):
  // a clean stop drains them, as `ringkv serve` drains its commit queue.
  std::map<uint64_t, WriteEffect> queued_writes;
  uint64_t completion_free_at = 0;  // and their completions reach the core in order
  NodeCore::Stats before;           // earlier incarnations' counters
  // The node's own clock: local = base_local + (now - base_real) * rate.
  double clock_rate = 1.0;
  uint64_t clock_base_real = 0;
  uint64_t clock_base_local = 0;
  std::map<RequestId, PutDone> puts;
  std::map<RequestId, GetDone> gets;
  std::map<RequestId, CreateDone> creates;
  std::map<RequestId, ChangeDone> changes;
  bool spare = false;    // not in the initial cluster
  bool started = false;  // started at least once
  bool retired = false;  // stopped for good
  uint32_t capacity = 1;
  bool auto_add = true;
};

SimCluster::SimCluster(SimOptions options)
    : options_(options),
      random_(options.seed),
      initial_layout_(Layout::empty(options.partition_bits)) {
  std::vector<RingNode> table;
  ClusterState state;
  for (uint32_t index = 0; index < options_.node_count + options_.spare_node_count; ++index) {
    NodeId id = fmt::format("n{}", index + 1);
    ids_.push_back(id);
    const std::string zone =
        options_.zone_count == 0 ? "" : fmt::format("z{}", index % options_.zone_count);
    auto sim_node = std::make_unique<SimNode>();
    sim_node->id = id;
    sim_node->index = index;
    sim_node->spare = index >= options_.node_count;
    if (!sim_node->spare) {
      table.push_back({id, 1, zone, NodeState::active});
      state.members.push_back({id, "sim", "sim", 1, zone, MemberRole::owner, 1});
    }
    nodes_.emplace(id, std::move(sim_node));
  }
  auto plan = plan_assignment(Layout::empty(options_.partition_bits), table, kAssignmentReplicas);
  assert(plan.ok());
  initial_layout_ = plan->layout;
  state.layout = std::move(plan->layout);
  // The initial members hold the cluster state on disk, as `serve` leaves it.
  WriteBatch batch;
  batch.push_back({Column::meta, std::string(kClusterStateKey), encode_cluster_state(state)});
  for (const NodeId& id : ids_) {
    if (!node(id).spare) {
      Status written = node(id).engine.write(batch, /*sync=*/true);
      assert(written.ok());
      (void)written;
      start(node(id));
    }
  }
}

SimCluster::~SimCluster() = default;

SimCluster::SimNode& SimCluster::node(const NodeId& id) {
  return *nodes_.at(id);
}

const SimCluster::SimNode& SimCluster::node(const NodeId& id) const {
  return *nodes_.at(id);
}

namespace {

// A node's life and membership (starts, crashes, wipes, joins, changes), as
// opposed to the messages, writes and replies that fill the trace.
bool is_node_event(std::string_view what) {
  for (std::string_view prefix : {"replica", "ae_", "stream", "forward", "tombstone",
                                  "create_store", "put_reply", "get_reply"}) {
    if (what.substr(0, prefix.size()) == prefix)
      return false;
  }
  return what.find('_') != std::string_view::npos || what == "crash" || what == "start" ||
         what == "wipe" || what == "retire" || what == "change" || what == "disk";
}

}  // namespace

void SimCluster::trace(std::string_view what, uint64_t a, uint64_t b) {
  // RINGKV_SIM_EVENTS=1 prints the run's node events (not messages or
  // writes) to stderr, for reading a failing seed's history.
  static const bool print_events = std::getenv("RINGKV_SIM_EVENTS") != nullptr;
  if (print_events && is_node_event(what))
    std::fprintf(stderr, "%8lu ms %.*s %lu %lu\n", static_cast<unsigned long>(now_),
                 static_cast<int>(what.size()), what.data(), static_cast<unsigned long>(a),
                 static_cast<unsigned long>(b));
  auto mix = [this](uint64_t value) {
    for (int byte = 0; byte < 8; ++byte) {
      trace_hash_ ^= (value >> (8 * byte)) & 0xff;
      trace_hash_ *= 0x100000001b3ULL;
    }
  };
  mix(now_);
  for (char c : what) {
    trace_hash_ ^= static_cast<unsigned char>(c);
    trace_hash_ *= 0x100000001b3ULL;
  }
  mix(a);
  mix(b);
}

void SimCluster::at(uint64_t time, std::function<void()> action) {
  events_.push(Event{std::max(time, now_), ++sequence_, std::move(action)});
}

void SimCluster::run_until(uint64_t time) {
  while (!events_.empty() && events_.top().time <= time) {
    Event event = events_.top();
    events_.pop();
    now_ = event.time;
    ++stats_.events;
    event.action();
  }
  now_ = std::max(now_, time);
}

void SimCluster::start(SimNode& sim_node) {
  auto identity = open_identity(sim_node.engine, [this] { return random_.next() | 1; });
  auto catalog = StoreCatalog::load(sim_node.engine);
  if (!identity.ok() || !catalog.ok()) {
    // As a real node would: it cannot record a new actor (failing disk), so
    // it does not start; it stays down until restarted again.
    trace("start_failed", sim_node.index);
    return;
  }
  NodeCoreOptions core_options;
  core_options.self = sim_node.id;
  core_options.actor = identity->actor;
  core_options.request_timeout_ms = options_.request_timeout_ms;
  core_options.generation = now_ * 1000 + sim_node.incarnation + 1;
  core_options.seed = random_.next();
  core_options.anti_entropy_interval_ms = options_.anti_entropy_interval_ms;
  core_options.hints_bytes_max = options_.hints_bytes_max;
  core_options.tombstone_grace_ms = options_.tombstone_grace_ms;
  core_options.tombstone_sweep_interval_ms = options_.tombstone_sweep_interval_ms;
  core_options.prune_delay_ms = options_.prune_delay_ms;
  core_options.rebalance_settle_ms = options_.rebalance_settle_ms;
  core_options.drop_grace_ms = options_.drop_grace_ms;
  core_options.fresh_directory = identity->fresh_directory;
  core_options.transfer_chunk_bytes = options_.transfer_chunk_bytes;
  sim_node.core =
      std::make_unique<NodeCore>(core_options, sim_node.engine, std::move(catalog).value());
  sim_node.up = true;
  sim_node.started = true;
  ++sim_node.incarnation;
  sim_node.disk_free_at = now_;
  sim_node.completion_free_at = now_;
  auto saved = sim_node.engine.get(Column::meta, kClusterStateKey);
  std::optional<ClusterState> state;
  if (saved.ok() && saved.value()) {
    if (auto decoded = decode_cluster_state(*saved.value()); decoded.ok())
      state = std::move(*decoded);
  }
  if (state) {
    sim_node.core->adopt_cluster(std::move(*state));
    drain(sim_node);
  } else {
    // A spare, or a node back with an empty disk: it joins (again).
    join(sim_node.id, sim_node.incarnation);
  }
  trace("start", sim_node.index, identity->actor);
  const NodeId id = sim_node.id;
  const uint64_t incarnation = sim_node.incarnation;
  schedule_tick(id, incarnation);
  schedule_sync(id, incarnation);
}

void SimCluster::join(const NodeId& id, uint64_t incarnation) {
  SimNode& joining = node(id);
  if (!joining.up || joining.incarnation != incarnation || joining.core->layout() != nullptr)
    return;
  // Through a random up member of the initial cluster (as --join names one).
  std::vector<NodeId> contacts;
  for (const NodeId& other : ids_) {
    if (other != id && node(other).up && node(other).core->layout() != nullptr)
      contacts.push_back(other);
  }
  if (!contacts.empty()) {
    const NodeId& contact = contacts[random_.below(contacts.size())];
    const std::string zone =
        options_.zone_count == 0 ? "" : fmt::format("z{}", joining.index % options_.zone_count);
    Member self{id, "sim", "sim", joining.capacity, zone, MemberRole::owner, 0};
    deliver(id, contact, JoinRequest{0, self, joining.auto_add});
  }
  at(now_ + 1000, [this, id, incarnation] { join(id, incarnation); });
}

void SimCluster::start_spare(const NodeId& id, uint32_t capacity, bool auto_add) {
  SimNode& spare = node(id);
  if (spare.started || spare.retired)
    return;
  trace("start_spare", spare.index, capacity);
  spare.capacity = capacity;
  spare.auto_add = auto_add;
  start(spare);
}

bool SimCluster::started(const NodeId& id) const {
  return node(id).started;
}

void SimCluster::retire(const NodeId& id) {
  trace("retire", node(id).index);
  crash(id);
  node(id).retired = true;
}

bool SimCluster::retired(const NodeId& id) const {
  return node(id).retired;
}

std::vector<NodeId> SimCluster::started_ids() const {
  std::vector<NodeId> out;
  for (const NodeId& id : ids_) {
    if (node(id).started && !node(id).retired)
      out.push_back(id);
  }
  return out;
}

Layout SimCluster::layout() const {
  Layout out = initial_layout_;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (sim_node.up && sim_node.core->layout() != nullptr &&
        sim_node.core->layout()->version() > out.version())
      out = *sim_node.core->layout();
  }
  return out;
}

std::optional<Layout> SimCluster::target() const {
  std::optional<Layout> out;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (sim_node.up && sim_node.core->target() != nullptr &&
        (!out || sim_node.core->target()->version() > out->version()))
      out = *sim_node.core->target();
  }
  return out;
}

bool SimCluster::layout_settled() const {
  std::optional<Layout> seen;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (!sim_node.up)
      continue;
    if (sim_node.core->target() != nullptr || sim_node.core->layout() == nullptr)
      return false;
    if (seen && !(*seen == *sim_node.core->layout()))
      return false;
    seen = *sim_node.core->layout();
  }
  return true;
}

std::string SimCluster::rebalance_report() {
  std::string out;
  for (const NodeId& id : ids_) {
    SimNode& sim_node = node(id);
    if (!sim_node.up)
      continue;
    const NodeCore::RebalanceView view = sim_node.core->rebalance_view(local_now(sim_node));
    std::string ready;
    for (const NodeCore::NodeView& other : view.nodes)
      ready += fmt::format("{}{} ", other.id, other.ready ? "+" : "-");
    out += fmt::format(
        "\n    {}: layout {} target {} transfers pending {} active {} done {} "
        "under-replicated {} ready [{}]{}",
        id, view.layout_version, view.target_version, view.pending, view.active, view.done,
        view.under_replicated.size(), ready,
        sim_node.core->write_fence().ok() ? ""
                                          : " FENCED: " + sim_node.core->write_fence().message());
  }
  return out;
}

std::vector<std::string> SimCluster::misplaced_records() const {
  std::vector<std::string> out;
  const Layout current = layout();
  std::map<uint32_t, PreferenceTable> tables;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (sim_node.retired)
      continue;  // gone for good: nobody reads its disk again
    auto catalog = StoreCatalog::load(const_cast<MemoryEngine&>(sim_node.engine));
    if (!catalog.ok())
      continue;
    const auto self = current.node_index(id);
    (void)const_cast<MemoryEngine&>(sim_node.engine)
        .scan(Column::data, "", "", [&](std::string_view data_key, std::string_view) {
          auto decoded = decode_data_key(data_key);
          if (!decoded)
            return true;
          const StoreEntry* store = nullptr;
          for (const StoreEntry* entry : catalog->list()) {
            if (entry->id == decoded->store)
              store = entry;
          }
          if (store == nullptr)
            return true;
          auto table = tables.find(store->config.n);
          if (table == tables.end())
            table =
                tables.emplace(store->config.n, PreferenceTable::build(current, store->config.n))
                    .first;
          const auto nodes = table->second.nodes_for_key(decoded->key);
          if (!self || std::find(nodes.begin(), nodes.end(), *self) == nodes.end())
            out.push_back(fmt::format("{} {} {}", id, store->name, decoded->key));
          return true;
        });
  }
  return out;
}

// Ticks and periodic syncs re-arm themselves while their incarnation lives.
void SimCluster::schedule_tick(const NodeId& id, uint64_t incarnation) {
  at(now_ + options_.tick_ms, [this, id, incarnation] {
    SimNode& target = node(id);
    if (!target.up || target.incarnation != incarnation)
      return;
    target.core->tick(local_now(target));
    drain(target);
    schedule_tick(id, incarnation);
  });
}

void SimCluster::schedule_sync(const NodeId& id, uint64_t incarnation) {
  at(now_ + options_.periodic_sync_ms, [this, id, incarnation] {
    SimNode& target = node(id);
    if (!target.up || target.incarnation != incarnation)
      return;
    (void)target.engine.sync();  // a failure fences nothing: periodic writes were acknowledged
    schedule_sync(id, incarnation);
  });
}

namespace {

template <typename Reply>
Reply failed(RequestId request, const Status& status) {
  Reply reply;
  reply.request = request;
  reply.status = status;
  return reply;
}

// Answers every waiting client with `status` (the table is emptied first:
// a callback may issue the client's next request).
template <typename Reply, typename Done>
void fail_all(std::map<RequestId, Done>& waiting, const Status& status) {
  std::map<RequestId, Done> taken = std::move(waiting);
  waiting.clear();
  for (auto& [request, done] : taken)
    done(failed<Reply>(request, status));
}

}  // namespace

template <typename Reply, typename Done>
void SimCluster::refuse_later(RequestId request, Done done) {
  at(now_ + 100, [request, done = std::move(done)] {
    done(
        failed<Reply>(request, Status(Code::unavailable, "connection refused (the node is down)")));
  });
}

void SimCluster::fail_pending_clients(SimNode& sim_node) {
  const Status lost(Code::unavailable, "connection to the node lost (it crashed)");
  fail_all<PutReply>(sim_node.puts, lost);
  fail_all<GetReply>(sim_node.gets, lost);
  fail_all<CreateStoreDone>(sim_node.creates, lost);
  fail_all<ClusterChangeDone>(sim_node.changes, lost);
}

bool SimCluster::believes_down(const NodeId& observer, const NodeId& id) const {
  const SimNode& sim_node = node(observer);
  return sim_node.up && sim_node.core->is_down(id, local_now(sim_node));
}

uint64_t SimCluster::local_now(const SimNode& sim_node) const {
  return sim_node.clock_base_local +
         static_cast<uint64_t>(double(now_ - sim_node.clock_base_real) * sim_node.clock_rate);
}

void SimCluster::set_clock_rate(const NodeId& id, double rate) {
  SimNode& sim_node = node(id);
  sim_node.clock_base_local = local_now(sim_node);  // continuous: no jump
  sim_node.clock_base_real = now_;
  sim_node.clock_rate = rate;
  trace("clock_rate", sim_node.index, static_cast<uint64_t>(rate * 1000));
}

void SimCluster::crash(const NodeId& id) {
  SimNode& sim_node = node(id);
  if (!sim_node.up)
    return;
  trace("crash", sim_node.index);
  ++stats_.crashes;
  add_core_stats(sim_node.before, sim_node.core->stats());
  sim_node.up = false;
  ++sim_node.incarnation;
  sim_node.core.reset();
  sim_node.queued_writes.clear();  // lost with the power
  sim_node.engine.crash();
  fail_pending_clients(sim_node);
}

void SimCluster::stop_clean(const NodeId& id) {
  SimNode& sim_node = node(id);
  if (!sim_node.up)
    return;
  if (!sim_node.core->write_fence().ok() || sim_node.core->unissued_writes() != 0) {
    crash(id);  // as `ringkv serve` records such a stop: unclean
    return;
  }
  trace("stop", sim_node.index);
  ++stats_.clean_stops;
  add_core_stats(sim_node.before, sim_node.core->stats());
  sim_node.up = false;
  ++sim_node.incarnation;
  sim_node.core.reset();
  // As `ringkv serve` on SIGTERM: the disk queue is drained (every write
  // handed to it reaches the disk: a coordinator's own copy may already be
  // on other replicas under its dot), everything is synced, then the stop is
  // recorded, so the next start keeps the actor. A failing disk makes it a
  // crash.
  bool drained = true;
  for (auto& [write_id, write] : sim_node.queued_writes)
    drained = drained && sim_node.engine.write(write.batch, write.durable).ok();
  sim_node.queued_writes.clear();
  if (drained && sim_node.engine.sync().ok())
    (void)mark_clean_shutdown(sim_node.engine);
  sim_node.engine.crash();
  fail_pending_clients(sim_node);
}

void SimCluster::restart(const NodeId& id) {
  SimNode& sim_node = node(id);
  if (sim_node.retired || !sim_node.started)
    return;
  if (sim_node.up)
    crash(id);
  start(sim_node);
}

void SimCluster::restart_empty(const NodeId& id) {
  SimNode& sim_node = node(id);
  if (sim_node.retired || !sim_node.started)
    return;
  if (sim_node.up)
    crash(id);
  trace("wipe", sim_node.index);
  ++stats_.empty_restarts;
  sim_node.engine.wipe();
  start(sim_node);
}

NodeCore::RecoveryView SimCluster::recovery(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  if (!sim_node.up || !sim_node.core)
    return {};
  return sim_node.core->recovery_view();
}

bool SimCluster::is_up(const NodeId& id) const {
  return node(id).up;
}

size_t SimCluster::writes_queued(const NodeId& id) const {
  return node(id).queued_writes.size();
}

void SimCluster::set_disk_failing(const NodeId& id, bool failing) {
  trace("disk", node(id).index, failing ? 1 : 0);
  node(id).engine.set_fail_writes(failing);
  node(id).engine.set_fail_syncs(failing);
}

bool SimCluster::is_fenced(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  return sim_node.up && !sim_node.core->write_fence().ok();
}

void SimCluster::deliver(const NodeId& from, const NodeId& to, PeerMessage message) {
  if (from == to) {
    // The real transport never delivers a frame to its sender
    // (net/peer_transport.cpp); neither do we, so a core that relied on it
    // would lose the copy here as it does in production.
    ++stats_.messages_to_self;
    return;
  }
  ++stats_.messages_sent;
  if (const auto* prune = std::get_if<ClockPrune>(&message)) {
    for (size_t index = 0; index < prune->keys.size() && index < prune->actors.size(); ++index) {
      for (ActorId actor : prune->actors[index])
        pruned_ms_[{prune->store.name, prune->keys[index], actor}].push_back(now_);
    }
  }
  const uint64_t from_index = node(from).index;
  const uint64_t to_index = node(to).index;
  trace(message_name(message), from_index, to_index);
  if (blocked_.count({from, to}) != 0 || random_.chance(options_.network.drop_percent)) {
    ++stats_.messages_dropped;
    return;
  }
  int copies = 1;
  if (random_.chance(options_.network.duplicate_percent)) {
    ++stats_.messages_duplicated;
    copies = 2;
  }
  // Every message travels as the bytes production sends: the peer codec
  // encodes it, a frame over the transport's limit is dropped as the
  // transport drops it, and the receiver decodes it (a message the decoder
  // rejects is dropped, as ClusterNode::receive_frame drops it).
  auto frame = std::make_shared<const std::string>(encode_peer_message(message));
  if (frame->size() > kPeerFrameBytesMax) {
    ++stats_.frames_refused;
    return;
  }
  for (int copy = 0; copy < copies; ++copy) {
    const uint64_t delay =
        random_.between(options_.network.delay_min_ms, options_.network.delay_max_ms);
    at(now_ + delay, [this, from, to, frame, to_index] {
      SimNode& target = node(to);
      if (!target.up)
        return;
      auto decoded = decode_peer_message(*frame);
      if (!decoded.ok()) {
        ++stats_.frames_refused;
        return;
      }
      trace("receive", to_index, decoded->index());
      target.core->receive(local_now(target), from, std::move(*decoded));
      drain(target);
    });
  }
}

void SimCluster::drain(SimNode& sim_node) {
  while (sim_node.up) {
    std::vector<Effect> effects = sim_node.core->take_effects();
    if (effects.empty())
      return;
    for (Effect& effect : effects) {
      if (auto* send = std::get_if<SendEffect>(&effect)) {
        deliver(sim_node.id, send->to, std::move(send->message));
      } else if (auto* write = std::get_if<WriteEffect>(&effect)) {
        ++stats_.disk_writes;
        const uint64_t done_at =
            std::max(now_, sim_node.disk_free_at) +
            random_.between(options_.disk_latency_min_ms, options_.disk_latency_max_ms);
        sim_node.disk_free_at = done_at;
        const NodeId id = sim_node.id;
        const uint64_t incarnation = sim_node.incarnation;
        // As in the real driver, a write is visible to reads (and scans) a
        // little before its completion reaches the core; completions keep
        // their order.
        const uint64_t completed_at =
            std::max(done_at + random_.between(0, 3), sim_node.completion_free_at);
        sim_node.completion_free_at = completed_at;
        sim_node.queued_writes.emplace(write->id, *write);
        at(done_at, [this, id, incarnation, completed_at, write = std::move(*write)]() mutable {
          SimNode& target = node(id);
          if (!target.up || target.incarnation != incarnation)
            return;  // crashed before the write reached the disk
          target.queued_writes.erase(write.id);
          Status status = target.engine.write(write.batch, write.durable);
          trace("write", target.index, status.ok() ? write.id : ~write.id);
          at(completed_at, [this, id, incarnation, write_id = write.id, status] {
            SimNode& completed = node(id);
            if (!completed.up || completed.incarnation != incarnation)
              return;  // crashed before the core heard
            completed.core->write_done(local_now(completed), write_id, status);
            drain(completed);
          });
        });
      } else if (auto* put = std::get_if<PutReply>(&effect)) {
        auto found = sim_node.puts.find(put->request);
        if (found != sim_node.puts.end()) {
          PutDone done = std::move(found->second);
          sim_node.puts.erase(found);
          trace("put_reply", sim_node.index, put->status.ok() ? 1 : 0);
          done(*put);
        }
      } else if (auto* get = std::get_if<GetReply>(&effect)) {
        auto found = sim_node.gets.find(get->request);
        if (found != sim_node.gets.end()) {
          GetDone done = std::move(found->second);
          sim_node.gets.erase(found);
          trace("get_reply", sim_node.index, get->status.ok() ? get->set.sibling_count() : 99);
          done(*get);
        }
      } else if (auto* change = std::get_if<ClusterChangeDone>(&effect)) {
        auto found = sim_node.changes.find(change->request);
        if (found != sim_node.changes.end()) {
          ChangeDone done = std::move(found->second);
          sim_node.changes.erase(found);
          trace("change_done", sim_node.index, change->status.ok() ? 1 : 0);
          done(*change);
        }
      } else if (auto* create = std::get_if<CreateStoreDone>(&effect)) {
        auto found = sim_node.creates.find(create->request);
        if (found != sim_node.creates.end()) {
          CreateDone done = std::move(found->second);
          sim_node.creates.erase(found);
          done(*create);
        }
      }
    }
  }
}

void SimCluster::put(const NodeId& id, std::string store, std::string key, VersionVector seen,
                     Version version, PutDone done) {
  SimNode& sim_node = node(id);
  const RequestId request = ++last_request_;
  trace("put", sim_node.index, request);
  if (!sim_node.up) {
    refuse_later<PutReply>(request, std::move(done));
    return;
  }
  sim_node.puts.emplace(request, std::move(done));
  sim_node.core->put(local_now(sim_node), request, store, std::move(key), std::move(seen),
                     std::move(version));
  drain(sim_node);
}

void SimCluster::get(const NodeId& id, std::string store, std::string key, GetDone done) {
  SimNode& sim_node = node(id);
  const RequestId request = ++last_request_;
  trace("get", sim_node.index, request);
  if (!sim_node.up) {
    refuse_later<GetReply>(request, std::move(done));
    return;
  }
  sim_node.gets.emplace(request, std::move(done));
  sim_node.core->get(local_now(sim_node), request, store, std::move(key));
  drain(sim_node);
}

void SimCluster::create_store(const NodeId& id, std::string name, StoreConfig config,
                              CreateDone done) {
  SimNode& sim_node = node(id);
  const RequestId request = ++last_request_;
  trace("create_store", sim_node.index, request);
  if (!sim_node.up) {
    refuse_later<CreateStoreDone>(request, std::move(done));
    return;
  }
  sim_node.creates.emplace(request, std::move(done));
  sim_node.core->create_store(local_now(sim_node), request, name, config);
  drain(sim_node);
}

void SimCluster::change(const NodeId& id, ClusterChange change, ChangeDone done) {
  SimNode& sim_node = node(id);
  const RequestId request = ++last_request_;
  trace("change", sim_node.index, request);
  if (!sim_node.up) {
    refuse_later<ClusterChangeDone>(request, std::move(done));
    return;
  }
  sim_node.changes.emplace(request, std::move(done));
  sim_node.core->change_cluster(local_now(sim_node), request, change, /*dry_run=*/false);
  drain(sim_node);
}

SiblingSet SimCluster::local_copy(const NodeId& id, std::string_view store,
                                  std::string_view key) const {
  return copy_of(id, store, key, /*durable=*/false);
}

SiblingSet SimCluster::durable_copy(const NodeId& id, std::string_view store,
                                    std::string_view key) const {
  return copy_of(id, store, key, /*durable=*/true);
}

SiblingSet SimCluster::replica_copy(const NodeId& id, std::string_view store, std::string_view key,
                                    bool durable) const {
  return copy_of(id, store, key, durable, /*with_hints=*/false);
}

SiblingSet SimCluster::hint_copy(const NodeId& id, std::string_view store,
                                 std::string_view key) const {
  return copy_of(id, store, key, /*durable=*/false, /*with_hints=*/true, /*with_data=*/false);
}

std::map<uint32_t, uint64_t> SimCluster::merkle_roots(const NodeId& id, std::string_view store) {
  std::map<uint32_t, uint64_t> out;
  SimNode& sim_node = node(id);
  if (!sim_node.up)
    return out;
  const StoreEntry* entry = sim_node.core->catalog().find(store);
  if (entry == nullptr)
    return out;
  for (const auto& [partition, root] : sim_node.core->merkle_roots(*entry))
    out[partition] = root;
  return out;
}

uint64_t SimCluster::hints_pending() const {
  uint64_t out = 0;
  for (const auto& [id, sim_node] : nodes_) {
    if (sim_node->retired)
      continue;  // removed while dead: its hints went with it
    (void)const_cast<MemoryEngine&>(sim_node->engine)
        .scan(Column::hints, "", "", [&out](std::string_view, std::string_view) {
          ++out;
          return true;
        });
  }
  return out;
}

SiblingSet SimCluster::copy_of(const NodeId& id, std::string_view store, std::string_view key,
                               bool durable, bool with_hints, bool with_data) const {
  const SimNode& sim_node = node(id);
  // The catalog on disk is the truth even while the node is down.
  auto catalog = StoreCatalog::load(const_cast<MemoryEngine&>(sim_node.engine));
  if (!catalog.ok())
    return {};
  const StoreEntry* entry = catalog->find(store);
  if (entry == nullptr)
    return {};
  const std::string data_key = encode_data_key(entry->id, key);
  std::optional<std::string> bytes;
  auto& engine = const_cast<MemoryEngine&>(sim_node.engine);
  if (durable) {
    bytes = sim_node.engine.get_durable(Column::data, data_key);
  } else {
    auto visible = engine.get(Column::data, data_key);
    if (visible.ok())
      bytes = std::move(visible.value());
  }
  SiblingSet out;
  if (bytes && with_data) {
    auto set = decode_record(*bytes);
    if (set.ok())
      out = std::move(*set);
  }
  // A stand-in holds the key in its hints (for any replica) until handoff.
  auto visit_hint = [&](std::string_view hint_key, std::string_view value) {
    auto decoded = decode_hint_key(hint_key);
    if (!decoded || decoded->store != store || decoded->key != key)
      return true;
    auto hint = decode_hint_value(value);
    auto set =
        hint ? decode_record(hint->record) : Result<SiblingSet>(Status(Code::corruption, ""));
    if (set.ok())
      out.merge(*set);
    return true;
  };
  if (!with_hints)
    return out;
  if (durable)
    sim_node.engine.scan_durable(Column::hints, visit_hint);
  else
    (void)engine.scan(Column::hints, "", "", visit_hint);
  return out;
}

std::vector<NodeId> SimCluster::replicas(std::string_view store, std::string_view key,
                                         bool in_target) const {
  std::optional<Layout> layout;
  if (in_target)
    layout = target();
  else
    layout = this->layout();
  if (!layout)
    return {};
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    auto catalog = StoreCatalog::load(const_cast<MemoryEngine&>(sim_node.engine));
    if (!catalog.ok())
      continue;
    if (const StoreEntry* entry = catalog->find(store)) {
      const PreferenceTable table = PreferenceTable::build(*layout, entry->config.n);
      std::vector<NodeId> out;
      for (uint32_t index : table.nodes_for_key(key))
        out.push_back(layout->nodes()[index].id);
      return out;
    }
  }
  return {};
}

SimCluster::Stats SimCluster::stats() const {
  Stats out = stats_;
  for (const auto& [id, sim_node] : nodes_) {
    NodeCore::Stats core = sim_node->before;
    if (sim_node->up)
      add_core_stats(core, sim_node->core->stats());
    out.read_repairs += core.read_repairs;
    out.hints_stored += core.hints_stored;
    out.hints_delivered += core.hints_delivered;
    out.sloppy_writes += core.sloppy_writes;
    out.suspicions += core.suspicions;
    out.ae_rounds += core.ae_rounds;
    out.ae_keys_sent += core.ae_keys_sent;
    out.ae_bytes_sent += core.ae_bytes_sent;
    out.ae_keys_repaired += core.ae_keys_repaired;
    out.tombstones_collected += core.tombstones_collected;
    out.clock_entries_pruned += core.clock_entries_pruned;
    out.layout_flips += core.layout_flips;
    out.transfer_keys += core.transfer_keys;
    out.transfers_done += core.transfers_done;
    out.partitions_dropped += core.partitions_dropped;
  }
  return out;
}

}  // namespace ringkv::sim
