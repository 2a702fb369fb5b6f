// The simulated cluster; see sim_cluster.h.
#include "sim/sim_cluster.h"
#include "sim/sim_node.h"

#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include <cassert>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/limits.h"
#include "ring/assignment.h"
#include "server/node_clock.h"
#include "storage/node_identity.h"
#include "wire/frame.h"
#include "wire/peer_codec.h"

namespace ringkv::sim {
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

bool SimCluster::member_again(const NodeId& id) const {
  // The newest entry for `id` any running node holds.
  const Member* newest = nullptr;
  for (const NodeId& other : ids_) {
    const SimNode& sim_node = node(other);
    if (!sim_node.up)
      continue;
    for (const Member& member : sim_node.node->members()) {
      if (member.id == id && (newest == nullptr || member.version > newest->version))
        newest = &member;
    }
  }
  return newest != nullptr && newest->role != MemberRole::removed;
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
    const bool removed = removed_from_cluster(sim_node);
    trace("start_failed", sim_node.index);
    sim_node.queue.reset();
    sim_node.link.reset();
    sim_node.clock.reset();
    if (removed && member_again(sim_node.id)) {
      // Its removal was cancelled while it was down: the cluster counts it
      // as an owner again, but the node refuses the data it saved as a
      // removed node (cluster_node.cpp). Its operator does what the error
      // says: moves the directory away and starts it again with --join
      // (seed 233598 crashes --membership: retired instead, it left the
      // layout naming a node that never came back, and nothing converged).
      trace("refused_removed_rejoin", sim_node.index);
      ++stats_.empty_restarts;
      sim_node.engine.wipe();
      start(sim_node);
    } else if (removed) {
      // `ringkv serve` refuses to start a removed node that was down too
      // long to come back with its data; its operator takes it away for
      // good, and its disk with it.
      trace("refused_removed", sim_node.index);
      sim_node.retired = true;
    }
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

void SimCluster::retire(const NodeId& id) {
  trace("retire", node(id).index);
  crash(id);
  node(id).retired = true;
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

void SimCluster::set_disk_failing(const NodeId& id, bool failing) {
  trace("disk", node(id).index, failing ? 1 : 0);
  node(id).engine.set_fail_writes(failing);
  node(id).engine.set_fail_syncs(failing);
}

void SimCluster::set_disk_nearly_full(const NodeId& id, bool full) {
  trace("disk_full", node(id).index, full ? 1 : 0);
  node(id).disk_nearly_full = full;
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
  if (nodes_.count(to) == 0)
    return;  // nobody listens there
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
      // The transport's handshake: nodes stating two clusters' ids never
      // exchange a frame, and the one dialled hears of it.
      const SimNode& sender = node(from);
      if (sender.link && target.link &&
          !compatible_clusters(sender.link->cluster_id(), target.link->cluster_id())) {
        ++stats_.frames_refused;
        target.node->other_cluster_contact(from);
        return;
      }
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

}  // namespace ringkv::sim
