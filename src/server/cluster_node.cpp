// The real driver of the node core; see cluster_node.h.
#include "server/cluster_node.h"

#include <spdlog/spdlog.h>

#include "wire/peer_codec.h"

namespace ringkv {

Result<std::unique_ptr<ClusterNode>> ClusterNode::open(
    Engine& engine, CommitQueue& commit_queue, net::PeerTransport* transport, Clock now_ms,
    const std::function<uint64_t()>& random_actor, ClusterNodeOptions options) {
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
    if (self->role == MemberRole::removed) {
      // Its data is from before the removal: deletes the cluster collected
      // since would come back from it. It may only return as a new node.
      return Status(Code::invalid_argument,
                    fmt::format("'{}' was removed from its cluster; the data in this directory is "
                                "from before that and could bring deleted keys back. To join "
                                "again, move the directory away (or delete it) and start with "
                                "--join",
                                options.self.id));
    }
    state = std::move(*decoded);
  }
  std::unique_ptr<ClusterNode> node(
      new ClusterNode(engine, commit_queue, transport, std::move(now_ms), *identity,
                      std::move(catalog).value(), std::move(options)));
  if (state) {
    spdlog::info("rejoining the cluster of {} members (layout version {})", state->members.size(),
                 state->layout.version());
    const Member* found = find_member(*state, node->options_.self.id);
    const Member stored = found != nullptr ? *found : node->options_.self;
    // Addresses only: capacity and zone change by an operator's reweight,
    // never by a restart (a restart never changes the layout).
    const bool moved = stored.peer_address != node->options_.self.peer_address ||
                       stored.http_address != node->options_.self.http_address;
    std::vector<Member> others;
    for (const Member& member : state->members) {
      if (member.id != node->options_.self.id)
        others.push_back(member);
    }
    node->core_->adopt_cluster(std::move(*state));
    node->run_effects();  // the address book first
    if (stored.capacity != node->options_.self.capacity ||
        stored.zone != node->options_.self.zone) {
      spdlog::warn(
          "this node holds data as capacity {} in zone '{}'; the flags say {} and '{}': "
          "a restart changes no placement, use `ringkv cluster apply --reweight {}=CAP`",
          stored.capacity, stored.zone, node->options_.self.capacity, node->options_.self.zone,
          stored.id);
    }
    if (moved && node->transport_ != nullptr) {
      // Restarted with other addresses: tell the members.
      spdlog::info("this node's addresses changed since it last ran: telling {} members",
                   others.size());
      for (const Member& member : others) {
        node->transport_->send(
            member.id, encode_peer_message(JoinRequest{++node->join_op_, node->options_.self,
                                                       node->options_.auto_add}));
      }
    }
  } else if (node->options_.join.empty()) {
    spdlog::info("forming a new cluster (Q = {} partitions)",
                 uint32_t{1} << node->options_.partition_bits);
    node->core_->form_cluster(node->now_ms_(), node->options_.self, node->options_.partition_bits);
  } else {
    node->try_join();
  }
  node->run_effects();
  return node;
}

ClusterNode::ClusterNode(Engine& engine, CommitQueue& commit_queue, net::PeerTransport* transport,
                         Clock now_ms, NodeIdentity identity, StoreCatalog catalog,
                         ClusterNodeOptions options)
    : commit_queue_(commit_queue),
      transport_(transport),
      now_ms_(std::move(now_ms)),
      identity_(identity),
      options_(std::move(options)) {
  NodeCoreOptions core_options;
  core_options.self = options_.self.id;
  core_options.actor = identity_.actor;
  core_options.request_timeout_ms = options_.request_timeout_ms;
  core_options.generation = options_.generation;
  core_options.seed = options_.seed;
  core_options.anti_entropy_interval_ms = options_.anti_entropy_interval_ms;
  core_options.transfer_bytes_per_sec = options_.transfer_bytes_per_sec;
  core_options.drop_grace_ms = options_.drop_grace_ms;
  core_options.prune_delay_ms = options_.prune_delay_ms;
  core_options.tombstone_sweep_interval_ms = options_.sweep_interval_ms;
  core_options.fresh_directory = identity_.fresh_directory;
  core_ = std::make_unique<NodeCore>(core_options, engine, std::move(catalog));
}

void ClusterNode::try_join() {
  if (ready() || options_.join.empty() || transport_ == nullptr)
    return;
  const std::string& contact = options_.join[next_contact_++ % options_.join.size()];
  spdlog::info("asking {} to admit this node", contact);
  // The contact's id is unknown until it answers: address it by its address.
  const std::string peer = "contact " + contact;
  transport_->set_address(peer, contact);
  transport_->send(peer,
                   encode_peer_message(JoinRequest{++join_op_, options_.self, options_.auto_add}));
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

void ClusterNode::receive_frame(const std::string& from, std::string bytes) {
  auto message = decode_peer_message(bytes);
  if (!message.ok()) {
    ++frames_undecodable_;
    spdlog::warn("dropped a message from '{}': {}", from, message.status().message());
    return;
  }
  core_->receive(now_ms_(), from, std::move(*message));
  run_effects();
}

void ClusterNode::tick() {
  core_->tick(now_ms_());
  run_effects();
}

void ClusterNode::sync_periodic() {
  commit_queue_.request_sync([](Status) {
    // A failure fences the queue; the next write reports it.
  });
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
    for (Effect& effect : effects) {
      if (auto* send = std::get_if<SendEffect>(&effect)) {
        if (transport_ != nullptr)
          transport_->send(send->to, encode_peer_message(send->message));
      } else if (auto* write = std::get_if<WriteEffect>(&effect)) {
        const uint64_t id = write->id;
        commit_queue_.submit(std::move(write->batch), write->durable, [this, id](Status status) {
          core_->write_done(now_ms_(), id, std::move(status));
          run_effects();
        });
      } else if (auto* put = std::get_if<PutReply>(&effect)) {
        auto found = puts_.find(put->request);
        if (found == puts_.end())
          continue;
        PutDone done = std::move(found->second);
        puts_.erase(found);
        if (put->status.ok())
          done(std::move(put->context));
        else
          done(std::move(put->status));
      } else if (auto* get = std::get_if<GetReply>(&effect)) {
        auto found = gets_.find(get->request);
        if (found == gets_.end())
          continue;
        GetDone done = std::move(found->second);
        gets_.erase(found);
        if (get->status.ok())
          done(std::move(get->set), get->store);
        else
          done(std::move(get->status), nullptr);
      } else if (auto* create = std::get_if<CreateStoreDone>(&effect)) {
        auto found = creates_.find(create->request);
        if (found == creates_.end())
          continue;
        CreateDone done = std::move(found->second);
        creates_.erase(found);
        if (create->status.ok())
          done(StoreCatalog::Created{create->store, create->created});
        else
          done(std::move(create->status));
      } else if (auto* change = std::get_if<ClusterChangeDone>(&effect)) {
        auto found = changes_.find(change->request);
        if (found == changes_.end())
          continue;
        ChangeDone done = std::move(found->second);
        changes_.erase(found);
        done(std::move(*change));
      } else if (auto* members = std::get_if<MembersChanged>(&effect)) {
        if (transport_ != nullptr) {
          for (const Member& member : members->members)
            transport_->set_address(member.id, member.peer_address);
        }
      }
    }
  }
  running_effects_ = false;
  report_fence();
}

}  // namespace ringkv
