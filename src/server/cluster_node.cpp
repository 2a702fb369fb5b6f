// The real driver of the node core; see cluster_node.h.
#include "server/cluster_node.h"

#include <spdlog/spdlog.h>

#include "server/node_clock.h"
#include "wire/peer_codec.h"

namespace ringkv {

Result<std::unique_ptr<ClusterNode>> ClusterNode::open(
    Engine& engine, WriteQueue& write_queue, net::PeerLink* link, Clock now_ms,
    const std::function<uint64_t()>& random_actor, ClusterNodeOptions options) {
  // This node's own entry goes into the persisted cluster state: one that
  // the state could not hold would keep the node from starting again.
  if (Status valid = validate_member(options.self); !valid.ok())
    return Status(Code::invalid_argument, "this node's settings: " + valid.message());
  auto identity = open_identity(engine, random_actor);
  if (!identity.ok())
    return identity.status();
  auto catalog = StoreCatalog::load(engine);
  if (!catalog.ok())
    return catalog.status();
  auto stored = engine.get(Column::meta, kClusterStateKey);
  if (!stored.ok())
    return stored.status();
  std::optional<ClusterState> state;
  if (stored.value()) {
    auto decoded = decode_cluster_state(*stored.value());
    if (!decoded.ok())
      return decoded.status();
    const Member* self = find_member(*decoded, options.self.id);
    if (self == nullptr) {
      return Status(Code::invalid_argument,
                    fmt::format("this data directory belongs to a cluster in which '{}' is not a "
                                "member; use the node id it was created with, or a new directory",
                                options.self.id));
    }
    // A removed node still hands over what it holds (hints, a copy its
    // drop has not handed over yet), and its members keep asking it before
    // they collect tombstones or prune clocks, until it reports that it holds
    // nothing or has been down prune_delay_ms. So it may come back after a
    // short stop; after a long one, deletes the cluster collected meanwhile
    // would come back from its data, and it may only return as a new node.
    // Its time alive is what it last recorded (at most a quarter of the
    // prune delay before it stopped); half the delay leaves room for clocks
    // running at different rates.
    const uint64_t now = now_ms();
    const bool short_stop = options.last_alive_ms != 0 && now >= options.last_alive_ms &&
                            now - options.last_alive_ms < options.core.prune_delay_ms / 2;
    if (self->role == MemberRole::removed && !short_stop) {
      return Status(Code::invalid_argument,
                    fmt::format("'{}' was removed from its cluster (as its saved state says; "
                                "the same holds if the removal was cancelled since): the data in "
                                "this directory is from before that and could bring deleted keys "
                                "back. To join again, move the directory away (or delete it) and "
                                "start with --join",
                                options.self.id));
    }
    // A layout written before the replica lists is read as the lists its
    // ring walk gave for n = 3; for some other n the walk chose other nodes,
    // and starting would look for those stores' data where it is not.
    if (decoded->layout.read_from_owners()) {
      const bool two_zones = decoded->layout.listed_zone_count() == 2;
      for (const StoreEntry* store : catalog->list()) {
        const uint32_t n = store->config.n;
        if (n > kLayoutWidthDefault || (n == 2 && two_zones)) {
          return Status(
              Code::invalid_argument,
              fmt::format("this data directory's ring layout was written by an older ringkv "
                          "(layout format 1) and store '{}' has n = {}: the new layout would "
                          "place some of its replicas on other nodes than the old one did. Run "
                          "this directory with the ringkv that wrote it, or move the store's "
                          "data out first",
                          store->name, n));
        }
      }
    }
    state = std::move(*decoded);
  }
  std::unique_ptr<ClusterNode> node(new ClusterNode(engine, write_queue, link, std::move(now_ms),
                                                    *identity, std::move(catalog).value(),
                                                    std::move(options)));
  if (state) {
    node->rejoin(std::move(*state));
  } else if (node->options_.join.empty()) {
    std::optional<ApiToken> first_token;
    if (node->options_.first_token) {
      auto made = node->options_.first_token();
      if (!made.ok())
        return made.status();
      first_token = std::move(*made);
    }
    spdlog::info("forming a new cluster (Q = {} partitions{})",
                 uint32_t{1} << node->options_.partition_bits,
                 first_token ? ", API tokens required" : "");
    node->core_->form_cluster(node->now_ms_(), node->options_.self, node->options_.partition_bits,
                              std::move(first_token));
  } else {
    node->try_join();
  }
  node->run_effects();
  return node;
}

void ClusterNode::rejoin(ClusterState state) {
  spdlog::info("rejoining the cluster of {} members (layout version {})", state.members.size(),
               state.layout.version());
  const Member* found = find_member(state, options_.self.id);
  const Member stored = found != nullptr ? *found : options_.self;
  // Addresses only: capacity and zone change by an operator's reweight,
  // never by a restart (a restart never changes the layout).
  const bool moved = stored.peer_address != options_.self.peer_address ||
                     stored.http_address != options_.self.http_address;
  std::vector<Member> others;
  for (const Member& member : state.members) {
    if (member.id != options_.self.id)
      others.push_back(member);
  }
  core_->adopt_cluster(std::move(state));
  run_effects();  // the address book first
  if (stored.capacity != options_.self.capacity || stored.zone != options_.self.zone) {
    spdlog::warn(
        "this node holds data as capacity {} in zone '{}'; the flags say {} and '{}': "
        "a restart changes no placement, use `ringkv cluster apply --reweight {}=CAP`",
        stored.capacity, stored.zone, options_.self.capacity, options_.self.zone, stored.id);
  }
  if (moved && link_ != nullptr) {
    // Restarted with other addresses: tell the members.
    spdlog::info("this node's addresses changed since it last ran: telling {} members",
                 others.size());
    for (const Member& member : others) {
      link_->send(member.id,
                  encode_peer_message(JoinRequest{++join_op_, options_.self, options_.auto_add}));
    }
  }
}

ClusterNode::ClusterNode(Engine& engine, WriteQueue& write_queue, net::PeerLink* link, Clock now_ms,
                         NodeIdentity identity, StoreCatalog catalog, ClusterNodeOptions options)
    : write_queue_(write_queue),
      link_(link),
      now_ms_(std::move(now_ms)),
      identity_(identity),
      options_(std::move(options)) {
  NodeCoreOptions core_options = options_.core;
  core_options.self = options_.self.id;
  core_options.actor = identity_.actor;
  core_options.fresh_directory = identity_.fresh_directory;
  core_ = std::make_unique<NodeCore>(core_options, engine, std::move(catalog));
}

void ClusterNode::try_join() {
  if (ready() || options_.join.empty() || link_ == nullptr)
    return;
  const std::string& contact = options_.join[next_contact_++ % options_.join.size()];
  spdlog::info("asking {} to admit this node", contact);
  // The contact's id is unknown until it answers: address it by its address.
  const std::string peer = "contact " + contact;
  link_->set_address(peer, contact);
  link_->send(peer, encode_peer_message(JoinRequest{++join_op_, options_.self, options_.auto_add}));
}

Result<const StoreEntry*> ClusterNode::find_store(std::string_view name) const {
  const StoreEntry* entry = core_->catalog().find(name);
  if (entry == nullptr) {
    return Status(Code::not_found, fmt::format("no store named '{}'; create it first with PUT "
                                               "/v1/stores/{}",
                                               name, name));
  }
  return entry;
}

void ClusterNode::create_store(std::string_view name, const StoreConfig& config, CreateDone done) {
  const RequestId request = ++last_request_;
  creates_.emplace(request, std::move(done));
  core_->create_store(now_ms_(), request, name, config);
  run_effects();
}

void ClusterNode::get(std::string_view store, std::string key, GetDone done) {
  const RequestId request = ++last_request_;
  gets_.emplace(request, std::move(done));
  core_->get(now_ms_(), request, store, std::move(key));
  run_effects();
}

void ClusterNode::put(std::string_view store, std::string key, VersionVector seen, Version version,
                      PutDone done) {
  const RequestId request = ++last_request_;
  puts_.emplace(request, std::move(done));
  core_->put(now_ms_(), request, store, std::move(key), std::move(seen), std::move(version));
  run_effects();
}

void ClusterNode::change_cluster(const ClusterChange& change, bool dry_run, ChangeDone done) {
  const RequestId request = ++last_request_;
  changes_.emplace(request, std::move(done));
  core_->change_cluster(now_ms_(), request, change, dry_run);
  run_effects();
}

void ClusterNode::change_tokens(const TokenChange& change, ChangeDone done) {
  const RequestId request = ++last_request_;
  changes_.emplace(request, std::move(done));
  core_->change_tokens(now_ms_(), request, change);
  run_effects();
}

void ClusterNode::receive_frame(const std::string& from, std::string_view bytes) {
  auto message = decode_peer_message(bytes);
  if (!message.ok()) {
    ++frames_undecodable_;
    spdlog::warn("dropped a message from '{}': {}", from, message.status().message());
    return;
  }
  core_->receive(now_ms_(), from, std::move(*message));
  run_effects();
}

void ClusterNode::other_cluster_contact(const std::string& from) {
  core_->other_cluster_contact(now_ms_(), from);
  run_effects();
}

void ClusterNode::tick() {
  const uint64_t now = now_ms_();
  core_->tick(now);
  run_effects();
  // Messages the core refused are counted there; the log names the sender,
  // at most once per 10 s.
  const NodeCore::Stats stats = core_->stats();
  if (stats.peer_messages_refused > refusals_logged_ && now >= next_refusal_log_ms_) {
    spdlog::warn(
        "refused {} peer messages from nodes that are not members of this cluster (latest from "
        "'{}'; {} in all): a node points at the wrong cluster, or was removed from this one",
        stats.peer_messages_refused - refusals_logged_, stats.last_refused_sender,
        stats.peer_messages_refused);
    refusals_logged_ = stats.peer_messages_refused;
    next_refusal_log_ms_ = now + 10'000;
  }
  // The node's time, recorded now and then (durably): the next start knows
  // how long this node was down (open()) and starts its clock above it.
  if (now >= next_alive_record_ms_) {
    next_alive_record_ms_ = now + std::max<uint64_t>(options_.core.prune_delay_ms / 4, 1);
    write_queue_.submit(NodeClock::record_batch(now), /*durable=*/true, [](Status) {
      // A failure fences the queue: the next write reports it.
    });
  }
}

void ClusterNode::sync_periodic() {
  write_queue_.request_sync([](Status) {
    // A failure fences the queue; the next write reports it.
  });
}

Status ClusterNode::unclean_stop_reason() const {
  if (Status fence = write_queue_.fenced(); !fence.ok())
    return fence;
  if (Status fence = core_->write_fence(); !fence.ok())
    return fence;
  if (core_->unissued_writes() != 0) {
    return Status(Code::unavailable,
                  fmt::format("{} writes were still waiting for room in the write queue",
                              core_->unissued_writes()));
  }
  return Status::Ok();
}

void ClusterNode::report_fence() {
  if (fence_logged_ || core_->write_fence().ok())
    return;
  fence_logged_ = true;  // (a fence lasts until the process stops)
  spdlog::critical(
      "{}; /healthz and /v1/cluster report it, and the next start is treated as unclean",
      core_->write_fence().message());
}

void ClusterNode::run_effects() {
  // Callbacks may call back into the node (a client's next request): effects
  // they cause are picked up by this loop, not by a nested one.
  if (running_effects_)
    return;
  running_effects_ = true;
  for (std::vector<Effect> effects = core_->take_effects(); !effects.empty();
       effects = core_->take_effects()) {
    for (Effect& effect : effects)
      run_effect(effect);
  }
  running_effects_ = false;
  report_fence();
}

template <typename Reply, typename Done>
void ClusterNode::reply(std::map<RequestId, Done>& waiting, Reply& reply) {
  auto found = waiting.find(reply.request);
  if (found == waiting.end())
    return;
  Done done = std::move(found->second);
  waiting.erase(found);
  done(std::move(reply));
}

namespace {

template <typename... Handlers>
struct Overloaded : Handlers... {
  using Handlers::operator()...;
};
template <typename... Handlers>
Overloaded(Handlers...) -> Overloaded<Handlers...>;

}  // namespace

void ClusterNode::run_effect(Effect& effect) {
  // One handler per effect type: a new effect without one does not compile.
  std::visit(Overloaded{
                 [this](SendEffect& send) {
                   if (link_ != nullptr)
                     link_->send(send.to, encode_peer_message(send.message));
                 },
                 [this](WriteEffect& write) {
                   const uint64_t id = write.id;
                   write_queue_.submit(std::move(write.batch), write.durable,
                                       [this, id](Status status) {
                                         core_->write_done(now_ms_(), id, std::move(status));
                                         run_effects();
                                       });
                 },
                 [this](PutReply& put) { reply(puts_, put); },
                 [this](GetReply& get) { reply(gets_, get); },
                 [this](CreateStoreDone& create) { reply(creates_, create); },
                 [this](ClusterChangeDone& change) { reply(changes_, change); },
                 [this](MembersChanged& members) {
                   if (link_ == nullptr)
                     return;
                   link_->set_cluster(members.cluster_id);
                   for (const Member& member : members.members)
                     link_->set_address(member.id, member.peer_address);
                 },
             },
             effect);
}

}  // namespace ringkv
