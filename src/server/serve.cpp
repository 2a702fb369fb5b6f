#include "server/serve.h"

#include <spdlog/spdlog.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>

#include "net/event_loop.h"
#include "net/http_server.h"
#include "net/peer_transport.h"
#include "server/api_auth.h"
#include "server/cluster_node.h"
#include "server/commit_queue.h"
#include "server/http_api.h"
#include "server/node_clock.h"
#include "storage/node_identity.h"
#include "storage/rocksdb_engine.h"

namespace ringkv {
namespace {

uint64_t wall_clock_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

uint64_t monotonic_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

uint64_t random_actor() {
  std::random_device device;
  return (static_cast<uint64_t>(device()) << 32) ^ device();
}

Status prepare_data_dir(const std::string& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    return {Code::io_error, "cannot create data directory '" + directory + "': " + error.message()};
  }
  return Status::Ok();
}

// Writes `text` to `path` readable by this user only, replacing the file,
// durably (file and directory synced) before it returns.
Status write_private_file(const std::string& path, std::string_view text) {
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    return {Code::io_error, fmt::format("cannot write '{}': {}", temporary, std::strerror(errno))};
  bool ok = ::fchmod(fd, 0600) == 0;
  for (size_t done = 0; ok && done < text.size();) {
    const ssize_t wrote = ::write(fd, text.data() + done, text.size() - done);
    ok = wrote > 0;
    done += ok ? static_cast<size_t>(wrote) : 0;
  }
  ok = ok && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  ok = ok && ::rename(temporary.c_str(), path.c_str()) == 0;
  if (ok) {
    const int directory = ::open(std::filesystem::path(path).parent_path().c_str(), O_RDONLY);
    ok = directory >= 0 && ::fsync(directory) == 0;
    if (directory >= 0)
      ::close(directory);
  }
  if (!ok)
    return {Code::io_error, fmt::format("cannot write '{}': {}", path, std::strerror(errno))};
  return Status::Ok();
}

// The token a new cluster starts with: with --auth, a new admin token whose
// text is written (durably, mode 0600) to DATA/admin.token before the
// cluster that accepts it exists; without, none, unless other machines reach
// the client port (then --insecure must say that an open cluster is meant).
Result<std::optional<ApiToken>> first_admin_token(const ServeConfig& config) {
  if (!config.auth) {
    auto http = parse_host_port(config.listen_http);
    if (http.ok() && !is_loopback(http->host) && !config.insecure) {
      return Status(Code::invalid_argument,
                    fmt::format("a new cluster whose clients connect on {} from other machines "
                                "would take requests from anyone: pass --auth (the first admin "
                                "token is written to {}/admin.token) or --insecure",
                                config.listen_http, config.data_dir));
    }
    return std::optional<ApiToken>();
  }
  auto issued = issue_token(TokenScope::admin, "", "first admin (formed with the cluster)");
  if (!issued.ok())
    return issued.status();
  const std::string path = (std::filesystem::path(config.data_dir) / "admin.token").string();
  if (Status written = write_private_file(path, issued->text + "\n"); !written.ok())
    return written;
  spdlog::info(
      "API tokens required: the first admin token is in {} (`ringkv token create` "
      "makes more; keep this one safe)",
      path);
  return std::optional<ApiToken>(std::move(issued->entry));
}

// Creates the configured default stores before the node serves requests.
Status create_default_stores(net::EventLoop& loop, ClusterNode& node, const ServeConfig& config) {
  for (const auto& [name, store] : config.default_stores) {
    std::optional<CreateStoreDone> result;
    node.create_store(name, store,
                      [&result](CreateStoreDone created) { result.emplace(std::move(created)); });
    loop.run_until([&result] { return result.has_value(); });
    if (!result)
      return Status(Code::unavailable, "stopped before the default stores were created");
    if (!result->status.ok())
      return result->status;
    if (result->created)
      spdlog::info("created store '{}' ({})", name, describe(store));
  }
  return Status::Ok();
}

std::string with_port(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("{}{}{}:{}", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

// Runs the loop until the node is a member of a cluster, asking the
// contacts in turn every second and saying so every 5 s.
Status wait_until_member(net::EventLoop& loop, ClusterNode& node, const ServeConfig& config,
                         const bool& stopping) {
  using Clock = std::chrono::steady_clock;
  const auto started = Clock::now();
  auto next_try = started + std::chrono::seconds(1);
  auto next_report = started + std::chrono::seconds(5);
  // The node's 50 ms tick wakes run_until to look at the clock.
  loop.run_until([&] {
    if (node.ready() || stopping)
      return true;
    const auto now = Clock::now();
    if (now >= next_try) {
      node.try_join();
      next_try = now + std::chrono::seconds(1);
    }
    if (now >= next_report) {
      spdlog::warn("still waiting to be admitted through {} ({} s); is a member running there?",
                   config.join,
                   std::chrono::duration_cast<std::chrono::seconds>(now - started).count());
      next_report = now + std::chrono::seconds(5);
    }
    return false;
  });
  if (!node.ready())
    return Status(Code::unavailable, "stopped before joining a cluster");
  return Status::Ok();
}

// Every client and peer connection, and the storage engine's files, take a
// file descriptor: a limit below what the configured caps need would fail
// connections at random under load (EMFILE). The soft limit is raised to
// the hard one; a hard limit too low stops the start with what to do.
Status raise_file_limit(const ServeConfig& config) {
  // Peer connections both ways, client connections, and room for the
  // storage engine's files and the rest.
  const uint64_t needed = 2 * config.peer_connections_max + config.connections_max + 1024;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0)
    return Status::Ok();  // nothing to check against
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      limit = raised;
  }
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    return {Code::invalid_argument,
            fmt::format("this process may open {} files, and --max-connections {} with "
                        "--max-peer-connections {} need about {}: raise the limit (`ulimit -n "
                        "{}`, or LimitNOFILE={} in a systemd unit) or lower those caps",
                        limit.rlim_cur, config.connections_max, config.peer_connections_max, needed,
                        needed, needed)};
  }
  return Status::Ok();
}

}  // namespace

Status run_serve(const ServeConfig& config, const std::function<void(const ServeInfo&)>& on_ready) {
  if (Status valid = validate(config); !valid.ok())
    return valid;
  const HostPort http = parse_host_port(config.listen_http).value();
  const HostPort peer = parse_host_port(config.listen_peer).value();
  if (Status status = raise_file_limit(config); !status.ok())
    return status;
  if (const std::string exposed = exposed_without_tls(config); !exposed.empty()) {
    spdlog::warn("--insecure: {}; anyone who can reach it can read and change the data{}", exposed,
                 config.peer_ca_file.empty() ? " and the cluster" : "");
  }
  if (Status status = prepare_data_dir(config.data_dir); !status.ok())
    return status;
  auto engine = RocksDbEngine::open((std::filesystem::path(config.data_dir) / "db").string());
  if (!engine.ok())
    return engine.status();
  // The core's time: the wall clock read once, then the monotonic clock
  // (server/node_clock.h: a stepped wall clock moves no deadline, and the
  // generation grows across restarts whatever the wall clock did).
  auto clock = NodeClock::start(**engine, wall_clock_ms, monotonic_ms);
  if (!clock.ok())
    return clock.status();
  const NodeClock* clock_pointer = &*clock;

  auto loop = std::make_unique<net::EventLoop>();
  net::EventLoop* loop_pointer = loop.get();
  CommitQueue::SpaceGuard space_guard;
  space_guard.directory = config.data_dir;
  space_guard.free_bytes = [directory = config.data_dir] {
    return CommitQueue::free_bytes_at(directory);
  };
  space_guard.min_free_bytes = uint64_t{config.min_free_disk_mib} << 20;
  auto commit_queue = std::make_unique<CommitQueue>(
      **engine,
      [loop_pointer](std::function<void()> callback) { loop_pointer->post(std::move(callback)); },
      CommitQueue::Options(), std::move(space_guard));

  // Clients first (their port is part of this node's member record); requests
  // are answered 503 until the node has joined.
  ApiOptions api_options;
  api_options.value_bytes_max = config.value_bytes_max;
  api_options.node_id = config.node_id;
  auto api = std::make_unique<HttpApi>(api_options);
  net::HttpServerOptions server_options;
  server_options.host = http.host;
  server_options.port = http.port;
  server_options.tls_cert_file = config.tls_cert_file;
  server_options.tls_key_file = config.tls_key_file;
  server_options.connections_max = config.connections_max;
  server_options.body_bytes_max = config.value_bytes_max;
  server_options.request_timeout_ms = config.request_timeout_ms;
  auto server = net::HttpServer::start(*loop, *api, server_options);
  if (!server.ok())
    return server.status();

  ClusterNode* node_pointer = nullptr;
  net::PeerTransportOptions peer_options;
  peer_options.self_id = config.node_id;
  peer_options.host = peer.host;
  peer_options.port = peer.port;
  // Clock pruning's two agreements are prune_delay_ms apart; no message
  // may live that long (clock_pruner.cpp).
  peer_options.frame_age_max = std::chrono::milliseconds(config.prune_delay_ms / 2);
  peer_options.inbound_max = config.peer_connections_max;
  peer_options.tls = {config.peer_ca_file, config.peer_cert_file, config.peer_key_file,
                      config.peer_crl_file};
  peer_options.on_other_cluster = [&node_pointer](const std::string& peer, const std::string&) {
    if (node_pointer != nullptr)
      node_pointer->other_cluster_contact(peer);
  };
  auto transport = net::PeerTransport::start(
      *loop, peer_options, [&node_pointer](const std::string& from, std::string payload) {
        if (node_pointer != nullptr)
          node_pointer->receive_frame(from, std::move(payload));
      });
  if (!transport.ok())
    return transport.status();

  ServeInfo info;
  info.tls = (*server)->tls();
  info.http_port = (*server)->port();
  info.http_url =
      fmt::format("{}://{}", info.tls ? "https" : "http", with_port(http.host, info.http_port));
  ClusterNodeOptions node_options;
  node_options.self.id = config.node_id;
  node_options.self.peer_address = with_port(peer.host, (*transport)->port());
  node_options.self.http_address = info.http_url;
  node_options.self.capacity = config.capacity;
  node_options.self.zone = config.zone;
  node_options.join = join_contacts(config);
  node_options.auto_add = config.auto_add;
  node_options.core.request_timeout_ms = config.request_timeout_ms;
  node_options.core.anti_entropy_interval_ms = config.anti_entropy_interval_ms;
  node_options.core.transfer_bytes_per_sec = uint64_t{config.transfer_mib_per_sec} << 20;
  node_options.core.drop_grace_ms = config.drop_grace_ms;
  node_options.core.prune_delay_ms = config.prune_delay_ms;
  node_options.core.tombstone_sweep_interval_ms = config.sweep_interval_ms;
  node_options.core.generation = clock->start_ms();
  node_options.last_alive_ms = clock->previous_ms();
  node_options.core.seed = random_actor();
  uint32_t bits = 0;
  while ((1u << bits) < config.partitions)
    ++bits;
  node_options.partition_bits = bits;
  node_options.first_token = [&config] { return first_admin_token(config); };
  auto node = ClusterNode::open(
      **engine, *commit_queue, transport->get(),
      [clock_pointer] { return clock_pointer->now_ms(); }, random_actor, node_options);
  if (!node.ok())
    return node.status();
  node_pointer = node->get();
  const NodeIdentity& identity = (*node)->identity();
  spdlog::info("node '{}' data directory '{}' actor {:016x}{}", config.node_id, config.data_dir,
               identity.actor,
               identity.fresh_directory ? " (new data directory)"
               : identity.new_actor     ? " (new actor: the last stop was not clean)"
                                        : "");
  if (peer.host == "0.0.0.0" || peer.host == "::")
    spdlog::warn("--listen-peer {} is what other nodes will dial: give an address they can reach",
                 config.listen_peer);

  bool stopping = false;
  net::HttpServer* server_pointer = server->get();
  net::PeerTransport* transport_pointer = transport->get();
  loop->on_shutdown_signal(
      [&stopping, loop_pointer, server_pointer, transport_pointer](int signal_number) {
        spdlog::info("signal {}: shutting down", signal_number);
        stopping = true;
        server_pointer->stop();
        transport_pointer->stop();
        loop_pointer->stop();
      });
  loop->on_reload_signal(
      [transport_pointer, server_pointer, peer_tls = peer_options.tls.enabled()] {
        auto report = [](std::string_view what, const Status& reloaded) {
          if (reloaded.ok())
            spdlog::info("SIGHUP: {} certificates reloaded; new connections use them", what);
          else
            spdlog::error("SIGHUP: {} certificates not reloaded, the old ones stay: {}", what,
                          reloaded.message());
        };
        if (peer_tls)
          report("peer", transport_pointer->reload_tls());
        if (server_pointer->tls())
          report("HTTPS", server_pointer->reload_tls());
        if (!peer_tls && !server_pointer->tls())
          spdlog::info("SIGHUP: no certificates to reload");
      });
  loop->every(std::chrono::milliseconds(50), [node_pointer] { node_pointer->tick(); });
  loop->every(std::chrono::milliseconds(config.periodic_sync_interval_ms),
              [node_pointer] { node_pointer->sync_periodic(); });
  Status status = wait_until_member(*loop, **node, config, stopping);
  if (status.ok()) {
    spdlog::info("member of a cluster of {} nodes; peers reach this node at {}",
                 (*node)->members().size(), node_options.self.peer_address);
    status = create_default_stores(*loop, **node, config);
  }
  if (status.ok()) {
    api->attach(**node);
    api->attach_peers(**transport);
    if (info.tls) {
      spdlog::info("serving HTTPS on {} (certificate '{}')", info.http_url, config.tls_cert_file);
    } else {
      spdlog::warn("serving plain HTTP on {}: pass --tls-cert and --tls-key for HTTPS",
                   info.http_url);
    }
    if ((*node)->tokens().empty()) {
      spdlog::log(is_loopback(http.host) ? spdlog::level::info : spdlog::level::warn,
                  "clients: no API tokens, every request is allowed (`ringkv token create "
                  "--scope admin` turns them on)");
    } else {
      spdlog::info("clients: API tokens required");
    }
    if (peer_options.tls.enabled()) {
      spdlog::info("peers: mutual TLS, certificates from the CA '{}' only", config.peer_ca_file);
    } else {
      spdlog::warn(
          "peers: plain TCP, and a peer is who it says it is: pass --peer-ca, --peer-cert and "
          "--peer-key (`ringkv cert`) for mutual TLS");
    }
    if (on_ready)
      on_ready(info);
    loop->run();
  }

  // Shutdown order: close the listeners and connections while the io_context
  // lives; drain the writer (it finishes every queued write); fsync; then
  // destroy the loop, which drops unrun callbacks and finished sessions.
  (*transport)->stop();
  server->reset();
  // The queue fences on a failed write or fsync; the core also fences on a
  // failure it saw reported (either means writes may be uncertain).
  const Status fence = (*node)->unclean_stop_reason();
  commit_queue.reset();
  if (!fence.ok()) {
    // Not a clean stop: writes may have been lost, so the next start must take
    // a new actor (storage/node_identity.h) even if the disk recovered.
    return Status(Code::io_error, "stopped with writes refused: " + fence.message());
  }
  Status synced = (*engine)->sync();
  transport->reset();  // before the loop: its timers and sockets belong to the loop
  loop.reset();
  api.reset();
  node->reset();
  if (!synced.ok())
    return synced;
  if (!status.ok())
    return status;
  if (Status recorded = clock->record(**engine); !recorded.ok())
    return recorded;
  if (Status clean = mark_clean_shutdown(**engine); !clean.ok())
    return clean;
  spdlog::info("stopped cleanly");
  return Status::Ok();
}

}  // namespace ringkv
