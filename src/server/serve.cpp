#include "server/serve.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <random>

#include "net/event_loop.h"
#include "net/http_server.h"
#include "server/commit_queue.h"
#include "server/http_api.h"
#include "server/node.h"
#include "storage/node_identity.h"
#include "storage/rocksdb_engine.h"

namespace ringkv {
namespace {

uint64_t wall_clock_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
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

// Creates the configured default stores before the node serves requests.
Status create_default_stores(net::EventLoop& loop, Node& node, const ServeConfig& config) {
  for (const auto& [name, store] : config.default_stores) {
    std::optional<Result<StoreCatalog::Created>> result;
    node.create_store(name, store, [&result](Result<StoreCatalog::Created> created) {
      result.emplace(std::move(created));
    });
    loop.run_until([&result] { return result.has_value(); });
    if (!result || !result->ok()) {
      return result ? result->status() : Status(Code::internal, "store creation did not finish");
    }
    if ((*result)->created)
      spdlog::info("created store '{}' ({})", name, describe(store));
  }
  return Status::Ok();
}

}  // namespace

Status run_serve(const ServeConfig& config, const std::function<void(const ServeInfo&)>& on_ready) {
  if (Status valid = validate(config); !valid.ok())
    return valid;
  const HostPort http = parse_host_port(config.listen_http).value();
  if (Status status = prepare_data_dir(config.data_dir); !status.ok())
    return status;
  auto engine = RocksDbEngine::open((std::filesystem::path(config.data_dir) / "db").string());
  if (!engine.ok())
    return engine.status();

  auto loop = std::make_unique<net::EventLoop>();
  net::EventLoop* loop_pointer = loop.get();
  auto commit_queue = std::make_unique<CommitQueue>(
      **engine,
      [loop_pointer](std::function<void()> callback) { loop_pointer->post(std::move(callback)); });
  auto node = Node::open(**engine, *commit_queue, wall_clock_ms, random_actor);
  if (!node.ok())
    return node.status();
  const NodeIdentity& identity = (*node)->identity();
  spdlog::info("node '{}' data directory '{}' actor {:016x}{}", config.node_id, config.data_dir,
               identity.actor,
               identity.fresh_directory ? " (new data directory)"
               : identity.new_actor     ? " (new actor: the last stop was not clean)"
                                        : "");
  if (Status status = create_default_stores(*loop, **node, config); !status.ok())
    return status;

  ApiOptions api_options;
  api_options.value_bytes_max = config.value_bytes_max;
  api_options.node_id = config.node_id;
  api_options.zone = config.zone;
  api_options.capacity = config.capacity;
  api_options.peer_address = config.listen_peer;
  auto api = std::make_unique<HttpApi>(**node, api_options);

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

  ServeInfo info;
  info.tls = (*server)->tls();
  info.http_port = (*server)->port();
  const std::string host =
      http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host;
  info.http_url = fmt::format("{}://{}:{}", info.tls ? "https" : "http", host, info.http_port);
  if (info.tls) {
    spdlog::info("serving HTTPS on {} (certificate '{}')", info.http_url, config.tls_cert_file);
  } else {
    spdlog::warn("serving plain HTTP on {}: pass --tls-cert and --tls-key for HTTPS",
                 info.http_url);
  }
  spdlog::info("peer address {} recorded (node-to-node replication arrives with clustering)",
               config.listen_peer);

  Node* node_pointer = node->get();
  loop->every(std::chrono::milliseconds(config.periodic_sync_interval_ms),
              [node_pointer] { node_pointer->sync_periodic(); });
  net::HttpServer* server_pointer = server->get();
  loop->on_shutdown_signal([loop_pointer, server_pointer](int signal_number) {
    spdlog::info("signal {}: shutting down", signal_number);
    server_pointer->stop();
    loop_pointer->stop();
  });
  if (on_ready)
    on_ready(info);
  loop->run();

  // Shutdown order: close the listener and connections while the io_context
  // lives; drain the writer (it finishes every queued write); fsync; then
  // destroy the loop, which drops unrun callbacks and finished sessions.
  server->reset();
  const Status fence = commit_queue->fenced();
  commit_queue.reset();
  if (!fence.ok()) {
    // Not a clean stop: writes may have been lost, so the next start must take
    // a new actor (storage/node_identity.h) even if the disk recovered.
    return Status(Code::io_error, "stopped with writes refused: " + fence.message());
  }
  Status synced = (*engine)->sync();
  loop.reset();
  api.reset();
  node->reset();
  if (!synced.ok())
    return synced;
  if (Status clean = mark_clean_shutdown(**engine); !clean.ok())
    return clean;
  spdlog::info("stopped cleanly");
  return Status::Ok();
}

}  // namespace ringkv
