// `ringkv dev`: a local cluster of real `ringkv serve` processes.
//
// Node k (1..N) runs as `ringkv serve --node-id nodeK --data-dir DIR/nodeK
// --listen-http 127.0.0.1:(HTTP+k-1) --listen-peer 127.0.0.1:(PEER+k-1)`, the
// first forming the cluster and the others joining through it; each writes
// its log to DIR/nodeK.log. Once every node is a member, the store `default`
// is created (n = min(3, N), w = min(2, n), r = n - w + 1) and the endpoints
// and working examples are printed. Ctrl-C (or SIGTERM) stops every node and
// waits for it; the data stays in DIR, and running the command again restarts
// the same cluster.
#pragma once

#include <cstdint>
#include <string>

namespace ringkv {

struct DevOptions {
  uint32_t nodes = 3;
  std::string data_dir = "./.ringkv-dev";
  uint16_t http_port = 8080;  // node k listens on http_port + k - 1 (0: any free port)
  uint16_t peer_port = 7070;  // likewise for peers
  std::string tls_cert_file;  // passed to every node
  std::string tls_key_file;
};

// Runs the cluster until a signal; returns the exit code (0: every node
// stopped cleanly). `binary` is this executable.
int run_dev_cluster(const DevOptions& options, const std::string& binary);

}  // namespace ringkv
