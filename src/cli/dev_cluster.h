// `ringkv dev`: a local cluster of real `ringkv serve` processes.
//
// Node k (1..N) runs as `ringkv serve --node-id nodeK --data-dir DIR/nodeK
// --listen-http 127.0.0.1:(HTTP+k-1) --listen-peer 127.0.0.1:(PEER+k-1)`, the
// first forming the cluster and the others joining through it; each writes
// its log to DIR/nodeK.log. Secure by default: DIR/certs holds a cluster CA
// (made on the first run), a peer certificate per node (peers speak mutual
// TLS) and an HTTPS certificate for 127.0.0.1 and localhost that every node
// serves; the cluster is formed with --auth, so its first admin token is in
// DIR/node1/admin.token. `open` runs plain HTTP without tokens instead (for
// benchmarks against stores that have neither). Once every node is a member,
// the store `default` is created (n = min(3, N), w = min(2, n), r = n - w + 1)
// and the endpoints and exact curl and CLI lines are printed. Ctrl-C (or SIGTERM) stops every node
// and waits for it; the data stays in DIR, and running the command again restarts the same cluster.
#pragma once

#include <cstdint>
#include <string>

namespace ringkv {

struct DevOptions {
  uint32_t nodes = 3;
  std::string data_dir = "./.ringkv-dev";
  uint16_t http_port = 8080;  // node k listens on http_port + k - 1 (0: any free port)
  uint16_t peer_port = 7070;  // likewise for peers
  std::string tls_cert_file;  // passed to every node (default: one dev makes from its CA)
  std::string tls_key_file;
  bool open = false;  // plain HTTP and no API tokens
};

// Runs the cluster until a signal; returns the exit code (0: every node
// stopped cleanly). `binary` is this executable.
int run_dev_cluster(const DevOptions& options, const std::string& binary);

}  // namespace ringkv
