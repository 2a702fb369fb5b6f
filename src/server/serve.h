// run_serve: the driver that runs one node on real sockets and RocksDB.
//
// Wiring, in order: data directory -> RocksDbEngine -> EventLoop (the node's
// one thread) -> CommitQueue (the storage writer thread, group commit) ->
// Node -> HttpApi -> HttpServer. Blocks until SIGINT/SIGTERM, then stops
// accepting, drains queued writes, fsyncs and records a clean shutdown (so the
// node keeps its actor id; see storage/node_identity.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "server/serve_config.h"

namespace ringkv {

struct ServeInfo {
  std::string http_url;  // e.g. "http://127.0.0.1:8080" (https when TLS)
  uint16_t http_port = 0;
  bool tls = false;
};

// Runs until a shutdown signal. `on_ready` runs once the API accepts requests.
// Fails (without starting) on a bad config, an unusable data directory, a
// missing or invalid TLS certificate or key (the message names the file), or
// an address that cannot be bound.
Status run_serve(const ServeConfig& config, const std::function<void(const ServeInfo&)>& on_ready);

}  // namespace ringkv
