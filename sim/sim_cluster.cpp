// The simulated cluster; see sim_cluster.h.
#include "sim/sim_cluster.h"

#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include <cassert>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/limits.h"
#include "ring/assignment.h"
#include "server/node_clock.h"
#include "storage/data_key.h"
#include "storage/hint_codec.h"
#include "storage/node_identity.h"
#include "storage/record_codec.h"
#include "wire/frame.h"
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
  // The production node and its simulated world; all null while it is down.
  std::unique_ptr<SimWriteQueue> queue;
  std::unique_ptr<SimLink> link;
  std::optional<NodeClock> clock;
  std::unique_ptr<ClusterNode> node;
  bool up = false;
  uint64_t incarnation = 0;         // events of an earlier incarnation are ignored
  NodeCore::Stats before;           // earlier incarnations' counters
  uint64_t undecodable_before = 0;  // ... and frames their decoders refused
  // The node's monotonic clock: local = base_local + (now - base_real) * rate;
  // its wall clock is that plus wall_offset (a step changes the offset).
  double clock_rate = 1.0;
  uint64_t clock_base_real = 0;
  uint64_t clock_base_local = 0;
  int64_t wall_offset = 0;
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

// The node's write queue: the production rules (CommitGroups) in virtual
// time. A group goes to the disk a random latency after the previous one;
// its writes are visible to reads a little before the completions reach the
// node, and completions keep their order (as the CommitQueue posts them).
class SimCluster::SimWriteQueue final : public WriteQueue {
 public:
  SimWriteQueue(SimCluster& cluster, SimNode& node, CommitGroups::Options options)
      : cluster_(cluster), node_(node), incarnation_(node.incarnation), groups_(options) {}

  void submit(WriteBatch batch, bool durable, Completion done) override {
    const bool sync_only = batch.empty();
    Status refusal = groups_.admit(batch, durable, done);
    if (!refusal.ok()) {
      if (refusal.code() == Code::overloaded)
        ++cluster_.stats_.writes_refused;
      cluster_.on_node(node_.id, incarnation_, cluster_.now_,
                       [done = std::move(done), refusal] { done(refusal); });
      return;
    }
    if (!sync_only)
      ++cluster_.stats_.disk_writes;
    if (!busy_) {
      busy_ = true;
      schedule_group();
    }
  }
  Status fenced() const override { return groups_.fence(); }
  Stats stats() const override { return groups_.stats(); }
  size_t queued() const { return groups_.queued(); }

  // A clean stop: every queued batch reaches the disk now; their completions
  // are never run (as `ringkv serve` drains its queue after the loop stopped).
  Status drain() {
    while (!groups_.empty()) {
      CommitGroups::Group group = groups_.take_group();
      const Status status = CommitGroups::commit(node_.engine, group);
      groups_.finish(group, status);
      if (!status.ok())
        return status;
    }
    return groups_.fence();
  }

 private:
  void schedule_group() {
    const SimOptions& options = cluster_.options_;
    const uint64_t at =
        std::max(cluster_.now_, disk_free_at_) +
        cluster_.random_.between(options.disk_latency_min_ms, options.disk_latency_max_ms);
    disk_free_at_ = at;
    cluster_.on_node(node_.id, incarnation_, at, [this] { commit_group(); });
  }

  void commit_group() {
    CommitGroups::Group group = groups_.take_group();
    const Status status = CommitGroups::commit(node_.engine, group);
    groups_.finish(group, status);
    ++cluster_.stats_.disk_groups;
    cluster_.trace("write", node_.index, status.ok() ? group.items.size() : ~group.items.size());
    const uint64_t completed_at =
        std::max(cluster_.now_ + cluster_.random_.between(0, 3), completion_free_at_);
    completion_free_at_ = completed_at;
    for (CommitGroups::Item& item : group.items) {
      cluster_.on_node(node_.id, incarnation_, completed_at,
                       [done = std::move(item.done), status] { done(status); });
    }
    if (groups_.empty())
      busy_ = false;
    else
      schedule_group();
  }

  SimCluster& cluster_;
  SimNode& node_;
  uint64_t incarnation_;
  CommitGroups groups_;
  bool busy_ = false;
  uint64_t disk_free_at_ = 0;
  uint64_t completion_free_at_ = 0;
};

// The node's peer link: an address book, and payloads handed to the
// simulated network (addresses are node ids).
class SimCluster::SimLink final : public net::PeerLink {
 public:
  SimLink(SimCluster& cluster, NodeId self) : cluster_(cluster), self_(std::move(self)) {}

  void set_address(const std::string& peer, const std::string& host_port) override {
    addresses_[peer] = host_port;
  }
  bool send(const std::string& peer, std::string payload) override {
    auto found = addresses_.find(peer);
    if (found == addresses_.end()) {
      ++cluster_.stats_.frames_unaddressed;  // as the transport drops it
      return false;
    }
    cluster_.send_frame(self_, found->second, std::move(payload));
    return true;
  }

 private:
  SimCluster& cluster_;
  NodeId self_;
  std::map<std::string, std::string> addresses_;
};

SimCluster::SimCluster(SimOptions options)
    : options_(options),
      random_(options.seed),
      initial_layout_(Layout::empty(options.partition_bits)) {
  // The nodes log as `ringkv serve` does; thousands of starts and joins
  // would drown the run's report (RINGKV_SIM_LOG=1 keeps them).
  if (std::getenv("RINGKV_SIM_LOG") == nullptr)
    spdlog::set_level(spdlog::level::off);
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
      state.members.push_back({id, id, "http://" + id, 1, zone, MemberRole::owner, 1});
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

bool SimCluster::removed_from_cluster(SimNode& sim_node) {
  auto saved = sim_node.engine.get(Column::meta, kClusterStateKey);
  if (!saved.ok() || !saved.value())
    return false;
  auto state = decode_cluster_state(*saved.value());
  if (!state.ok())
    return false;
  const Member* self = find_member(*state, sim_node.id);
  return self != nullptr && self->role == MemberRole::removed;
}

void SimCluster::on_node(const NodeId& id, uint64_t incarnation, uint64_t time,
                         std::function<void()> action) {
  at(time, [this, id, incarnation, action = std::move(action)] {
    const SimNode& target = node(id);
    if (target.up && target.incarnation == incarnation)
      action();
  });
}

ClusterNodeOptions SimCluster::node_options(const SimNode& sim_node, uint64_t generation) {
  ClusterNodeOptions options;
  const std::string zone =
      options_.zone_count == 0 ? "" : fmt::format("z{}", sim_node.index % options_.zone_count);
  options.self = Member{sim_node.id,
                        sim_node.id,
                        "http://" + sim_node.id,
                        sim_node.capacity,
                        zone,
                        MemberRole::owner,
                        0};
  // Its contacts, as `--join` names them: every other node, the initial
  // members first, starting after itself (only a node with no cluster
  // state on its disk asks them).
  for (size_t step = 1; step < ids_.size(); ++step) {
    const NodeId& other = ids_[(sim_node.index + step) % ids_.size()];
    if (!node(other).spare)
      options.join.push_back(other);
  }
  for (const NodeId& other : ids_) {
    if (other != sim_node.id && node(other).spare)
      options.join.push_back(other);
  }
  options.partition_bits = options_.partition_bits;
  options.auto_add = sim_node.auto_add;
  NodeCoreOptions& core = options.core;
  core.request_timeout_ms = options_.request_timeout_ms;
  core.generation = generation;
  core.seed = random_.next();
  core.anti_entropy_interval_ms = options_.anti_entropy_interval_ms;
  core.hints_bytes_max = options_.hints_bytes_max;
  core.tombstone_grace_ms = options_.tombstone_grace_ms;
  core.tombstone_sweep_interval_ms = options_.tombstone_sweep_interval_ms;
  core.prune_delay_ms = options_.prune_delay_ms;
  core.rebalance_settle_ms = options_.rebalance_settle_ms;
  core.drop_grace_ms = options_.drop_grace_ms;
  core.transfer_chunk_bytes = options_.transfer_chunk_bytes;
  return options;
}

void SimCluster::start(SimNode& sim_node) {
  // As `ringkv serve` starts: the node clock first (recorded durably), then
  // the node over its write queue and link.
  SimNode* pointer = &sim_node;
  auto clock = NodeClock::start(
      sim_node.engine, [this, pointer] { return local_wall(*pointer); },
      [this, pointer] { return local_now(*pointer); });
  if (!clock.ok()) {
    // As a real node would: it cannot record its start (failing disk), so
    // it does not start; it stays down until restarted again.
    trace("start_failed", sim_node.index);
    return;
  }
  ++sim_node.incarnation;
  sim_node.clock.emplace(std::move(*clock));
  sim_node.queue = std::make_unique<SimWriteQueue>(*this, sim_node, options_.write_queue);
  sim_node.link = std::make_unique<SimLink>(*this, sim_node.id);
  const NodeClock* node_clock = &*sim_node.clock;
  ClusterNodeOptions options = node_options(sim_node, node_clock->start_ms());
  options.last_alive_ms = node_clock->previous_ms();
  auto opened = ClusterNode::open(
      sim_node.engine, *sim_node.queue, sim_node.link.get(),
      [node_clock] { return node_clock->now_ms(); }, [this] { return random_.next() | 1; },
      std::move(options));
  if (!opened.ok()) {
    if (removed_from_cluster(sim_node)) {
      // `ringkv serve` refuses to start a removed node that was down too
      // long to come back with its data (cluster_node.cpp); its operator
      // takes it away for good, and its disk with it.
      trace("refused_removed", sim_node.index);
      sim_node.retired = true;
    }
    trace("start_failed", sim_node.index);
    sim_node.queue.reset();
    sim_node.link.reset();
    sim_node.clock.reset();
    return;
  }
  sim_node.node = std::move(opened).value();
  sim_node.up = true;
  sim_node.started = true;
  trace("start", sim_node.index, sim_node.node->actor());
  const NodeId id = sim_node.id;
  const uint64_t incarnation = sim_node.incarnation;
  schedule_join(id, incarnation);
  schedule_tick(id, incarnation);
  schedule_sync(id, incarnation);
}

// As serve.cpp's wait_until_member: a node that is not a member yet asks
// its next contact every second.
void SimCluster::schedule_join(const NodeId& id, uint64_t incarnation) {
  on_node(id, incarnation, now_ + 1000, [this, id, incarnation] {
    ClusterNode& joining = *node(id).node;
    if (joining.ready())
      return;
    joining.try_join();
    schedule_join(id, incarnation);
  });
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
    if (sim_node.up && sim_node.node->layout() != nullptr &&
        sim_node.node->layout()->version() > out.version())
      out = *sim_node.node->layout();
  }
  return out;
}

std::optional<Layout> SimCluster::target() const {
  std::optional<Layout> out;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (sim_node.up && sim_node.node->target() != nullptr &&
        (!out || sim_node.node->target()->version() > out->version()))
      out = *sim_node.node->target();
  }
  return out;
}

bool SimCluster::layout_settled() const {
  std::optional<Layout> seen;
  for (const NodeId& id : ids_) {
    const SimNode& sim_node = node(id);
    if (!sim_node.up)
      continue;
    if (sim_node.node->target() != nullptr || sim_node.node->layout() == nullptr)
      return false;
    if (seen && !(*seen == *sim_node.node->layout()))
      return false;
    seen = *sim_node.node->layout();
  }
  return true;
}

std::string SimCluster::rebalance_report() {
  std::string out;
  for (const NodeId& id : ids_) {
    SimNode& sim_node = node(id);
    if (!sim_node.up)
      continue;
    const NodeCore::RebalanceView view = sim_node.node->rebalance_view();
    std::string ready;
    for (const NodeCore::NodeView& other : view.nodes)
      ready += fmt::format("{}{} ", other.id, other.ready ? "+" : "-");
    out += fmt::format(
        "\n    {}: layout {} target {} transfers pending {} active {} done {} "
        "under-replicated {} ready [{}]{}",
        id, view.layout_version, view.target_version, view.pending, view.active, view.done,
        view.under_replicated.size(), ready,
        sim_node.node->write_fence().ok() ? ""
                                          : " FENCED: " + sim_node.node->write_fence().message());
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

// Ticks and periodic syncs re-arm themselves while their incarnation lives,
// at serve.cpp's rhythm.
void SimCluster::schedule_tick(const NodeId& id, uint64_t incarnation) {
  on_node(id, incarnation, now_ + options_.tick_ms, [this, id, incarnation] {
    node(id).node->tick();
    schedule_tick(id, incarnation);
  });
}

void SimCluster::schedule_sync(const NodeId& id, uint64_t incarnation) {
  on_node(id, incarnation, now_ + options_.periodic_sync_ms, [this, id, incarnation] {
    node(id).node->sync_periodic();
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
  return sim_node.up && sim_node.node->believes_down(id);
}

uint64_t SimCluster::local_now(const SimNode& sim_node) const {
  return sim_node.clock_base_local +
         static_cast<uint64_t>(double(now_ - sim_node.clock_base_real) * sim_node.clock_rate);
}

uint64_t SimCluster::local_wall(const SimNode& sim_node) const {
  const int64_t wall = static_cast<int64_t>(local_now(sim_node)) + sim_node.wall_offset;
  return static_cast<uint64_t>(std::max<int64_t>(wall, 0));
}

void SimCluster::set_clock_rate(const NodeId& id, double rate) {
  SimNode& sim_node = node(id);
  sim_node.clock_base_local = local_now(sim_node);  // continuous: no jump
  sim_node.clock_base_real = now_;
  sim_node.clock_rate = rate;
  trace("clock_rate", sim_node.index, static_cast<uint64_t>(rate * 1000));
}

void SimCluster::step_wall_clock(const NodeId& id, int64_t delta_ms) {
  SimNode& sim_node = node(id);
  sim_node.wall_offset += delta_ms;
  trace("clock_step", sim_node.index, static_cast<uint64_t>(delta_ms));
}

void SimCluster::stop_node(SimNode& sim_node) {
  add_core_stats(sim_node.before, sim_node.node->stats());
  sim_node.undecodable_before += sim_node.node->frames_undecodable();
  sim_node.up = false;
  ++sim_node.incarnation;
  sim_node.node.reset();  // before what it is wired to
  sim_node.queue.reset();
  sim_node.link.reset();
  sim_node.clock.reset();
  sim_node.engine.crash();
  fail_pending_clients(sim_node);
}

void SimCluster::crash(const NodeId& id) {
  SimNode& sim_node = node(id);
  if (!sim_node.up)
    return;
  trace("crash", sim_node.index);
  ++stats_.crashes;
  stop_node(sim_node);  // what the queue held is lost with the power
}

void SimCluster::stop_clean(const NodeId& id) {
  SimNode& sim_node = node(id);
  if (!sim_node.up)
    return;
  if (!sim_node.node->unclean_stop_reason().ok()) {
    crash(id);  // as `ringkv serve` records such a stop: unclean
    return;
  }
  trace("stop", sim_node.index);
  ++stats_.clean_stops;
  // As `ringkv serve` on SIGTERM: the write queue is drained (every write
  // handed to it reaches the disk: a coordinator's own copy may already be
  // on other replicas under its dot), everything is synced, the clock and
  // then the stop are recorded, so the next start keeps the actor. A failing
  // disk makes it a crash.
  if (sim_node.queue->drain().ok() && sim_node.engine.sync().ok() &&
      sim_node.clock->record(sim_node.engine).ok())
    (void)mark_clean_shutdown(sim_node.engine);
  stop_node(sim_node);
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
  if (!sim_node.up)
    return {};
  return sim_node.node->recovery();
}

bool SimCluster::is_up(const NodeId& id) const {
  return node(id).up;
}

size_t SimCluster::writes_queued(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  return sim_node.up ? sim_node.queue->queued() : 0;
}

void SimCluster::set_disk_failing(const NodeId& id, bool failing) {
  trace("disk", node(id).index, failing ? 1 : 0);
  node(id).engine.set_fail_writes(failing);
  node(id).engine.set_fail_syncs(failing);
}

bool SimCluster::is_fenced(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  return sim_node.up && (!sim_node.node->write_fence().ok() || !sim_node.queue->fenced().ok());
}

uint64_t SimCluster::frames_undecodable(const NodeId& id) const {
  const SimNode& sim_node = node(id);
  return sim_node.undecodable_before + (sim_node.up ? sim_node.node->frames_undecodable() : 0);
}

void SimCluster::send_payload(const NodeId& from, const NodeId& to, std::string payload) {
  send_frame(from, to, std::move(payload));
}

void SimCluster::send_frame(const NodeId& from, const std::string& to, std::string payload) {
  if (from == to) {
    // The real transport never delivers a frame to its sender
    // (net/peer_transport.cpp); neither do we, so a core that relied on it
    // would lose the copy here as it does in production.
    ++stats_.messages_to_self;
    return;
  }
  if (nodes_.count(to) == 0) {
    ++stats_.frames_unaddressed;  // nobody listens there
    return;
  }
  ++stats_.messages_sent;
  // The checkers' view of the message (its kind, and clock prunes); the
  // receiver decodes the bytes again, on its own path.
  uint64_t kind = ~uint64_t{0};
  if (auto message = decode_peer_message(payload); message.ok()) {
    kind = message->index();
    if (const auto* prune = std::get_if<ClockPrune>(&*message)) {
      for (size_t index = 0; index < prune->keys.size() && index < prune->actors.size(); ++index) {
        for (ActorId actor : prune->actors[index])
          pruned_ms_[{prune->store.name, prune->keys[index], actor}].push_back(now_);
      }
    }
    trace(message_name(*message), node(from).index, node(to).index);
  } else {
    trace("malformed", node(from).index, node(to).index);
  }
  if (blocked_.count({from, to}) != 0 || random_.chance(options_.network.drop_percent)) {
    ++stats_.messages_dropped;
    return;
  }
  int copies = 1;
  if (random_.chance(options_.network.duplicate_percent)) {
    ++stats_.messages_duplicated;
    copies = 2;
  }
  // The bytes production sends: the payload in the peer protocol's frame,
  // parsed at the receiver with the transport's limit, and handed to the
  // node's receive_frame (which decodes it, or drops and counts it).
  auto frame = std::make_shared<const std::string>(frame_payload(payload));
  const NodeId receiver = to;
  for (int copy = 0; copy < copies; ++copy) {
    const uint64_t delay =
        random_.between(options_.network.delay_min_ms, options_.network.delay_max_ms);
    at(now_ + delay, [this, from, receiver, frame, kind] {
      SimNode& target = node(receiver);
      if (!target.up)
        return;
      const FrameParse parsed = parse_frame(*frame, kPeerFrameBytesMax);
      if (parsed.outcome != FrameParse::Outcome::frame) {
        ++stats_.frames_refused;  // the transport closes such a connection
        return;
      }
      trace("receive", target.index, kind);
      target.node->receive_frame(from, parsed.payload);
    });
  }
}

template <typename Reply, typename Done>
std::function<void(Reply)> SimCluster::client_request(SimNode& sim_node,
                                                      std::map<RequestId, Done>& waiting,
                                                      RequestId request, Done done,
                                                      std::string_view what) {
  waiting.emplace(request, std::move(done));
  const NodeId id = sim_node.id;
  const uint64_t incarnation = sim_node.incarnation;
  const std::string name(what);
  // The node's request ids are its own; the client's is `request`.
  return [this, id, incarnation, &waiting, request, name](Reply reply) {
    SimNode& answered = node(id);
    if (answered.incarnation != incarnation)
      return;
    auto found = waiting.find(request);
    if (found == waiting.end())
      return;
    Done client = std::move(found->second);
    waiting.erase(found);
    reply.request = request;
    uint64_t detail = reply.status.ok() ? 1 : 0;
    if constexpr (std::is_same_v<Reply, GetReply>)
      detail = reply.status.ok() ? reply.set.sibling_count() : 99;
    if (!name.empty())
      trace(name, answered.index, detail);
    client(reply);
  };
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
  sim_node.node->put(
      store, std::move(key), std::move(seen), std::move(version),
      client_request<PutReply>(sim_node, sim_node.puts, request, std::move(done), "put_reply"));
}

void SimCluster::get(const NodeId& id, std::string store, std::string key, GetDone done) {
  SimNode& sim_node = node(id);
  const RequestId request = ++last_request_;
  trace("get", sim_node.index, request);
  if (!sim_node.up) {
    refuse_later<GetReply>(request, std::move(done));
    return;
  }
  sim_node.node->get(
      store, std::move(key),
      client_request<GetReply>(sim_node, sim_node.gets, request, std::move(done), "get_reply"));
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
  sim_node.node->create_store(
      name, config,
      client_request<CreateStoreDone>(sim_node, sim_node.creates, request, std::move(done), ""));
}

void SimCluster::change(const NodeId& id, ClusterChange change, ChangeDone done) {
  SimNode& sim_node = node(id);
  const RequestId request = ++last_request_;
  trace("change", sim_node.index, request);
  if (!sim_node.up) {
    refuse_later<ClusterChangeDone>(request, std::move(done));
    return;
  }
  sim_node.node->change_cluster(
      change, /*dry_run=*/false,
      client_request<ClusterChangeDone>(sim_node, sim_node.changes, request, std::move(done),
                                        "change_done"));
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
  const StoreEntry* entry = sim_node.node->catalog().find(store);
  if (entry == nullptr)
    return out;
  for (const auto& [partition, root] : sim_node.node->merkle_roots(*entry))
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
    out.frames_refused += frames_undecodable(id);
    NodeCore::Stats core = sim_node->before;
    if (sim_node->up)
      add_core_stats(core, sim_node->node->stats());
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
