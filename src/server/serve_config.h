// ServeConfig: everything `ringkv serve` needs, from flags or a TOML file.
// The node's settings default to the core's (cluster/node_core_options.h);
// validate() checks them once, at start-up, naming the flag.
//
// A TOML file holds the same settings as the flags, with the names below
// (flags win over the file). Unknown keys and wrong types are errors that
// name the key, so a typo never silently falls back to a default.
//
//   data_dir = "/var/lib/ringkv"      listen_http = "0.0.0.0:8080"
//   listen_peer = "0.0.0.0:7070"      node_id = "n1"
//   capacity = 2                      zone = "eu-1a"
//   join = "10.0.0.1:7070,10.0.0.2:7070"   partitions = 1024
//   tls_cert = "cert.pem"             tls_key = "key.pem"
//   peer_ca = "ca.crt"   peer_cert = "n1.crt"   peer_key = "n1.key"   peer_crl = "ca.crl"
//   max_value_bytes = 1048576         max_connections = 1024
//   max_peer_connections = 1024        insecure = false      auth = false
//   request_timeout_ms = 10000        periodic_sync_interval_ms = 100
//   anti_entropy_interval_ms = 1000   auto_add = true
//   transfer_mib_per_sec = 64         drop_grace_ms = 30000
//   sweep_interval_ms = 10000         prune_delay_ms = 600000
//   min_free_disk_mib = 256
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cluster/node_core_options.h"
#include "common/limits.h"
#include "common/status.h"
#include "common/store_config.h"

namespace ringkv {

struct ServeConfig {
  std::string data_dir = "./ringkv-data";
  std::string listen_http = "127.0.0.1:8080";
  std::string listen_peer = "127.0.0.1:7070";
  std::string node_id = "node1";
  uint32_t capacity = 1;  // integer weight, 1..1e6 (ring/layout.h)
  std::string zone = "default";
  // Peers to ask for admission ("HOST:PORT,HOST:PORT"); empty: form a new
  // cluster. Ignored once the data directory belongs to a cluster.
  std::string join;
  uint32_t partitions = 1024;  // Q of a new cluster (a power of two)
  std::string tls_cert_file;
  std::string tls_key_file;
  // Peer mutual TLS (net/peer_certs.h): all three or none.
  std::string peer_ca_file;
  std::string peer_cert_file;
  std::string peer_key_file;
  // Certificates the cluster CA revoked (`ringkv cert revoke`); reloaded on
  // SIGHUP. Optional, with --peer-ca only.
  std::string peer_crl_file;
  size_t value_bytes_max = kValueBytesMaxDefault;
  size_t connections_max = kConnectionsMaxDefault;
  // Peer connections accepted at once (a cluster of N nodes uses N - 1).
  size_t peer_connections_max = kConnectionsMaxDefault;
  uint32_t request_timeout_ms = kRequestTimeoutMsDefault;
  // How often `periodic` stores' writes are fsynced: their loss window on power failure.
  uint32_t periodic_sync_interval_ms = 100;
  // One Merkle comparison of a (store, partition) with another replica per
  // interval; 0 turns anti-entropy off.
  uint32_t anti_entropy_interval_ms = kAntiEntropyIntervalMsDefault;
  // A node that joins is added to the layout at once (false: it stays a
  // standby member until `ringkv cluster apply --add` adds it).
  bool auto_add = true;
  // Listen on an address other machines reach without TLS (plain HTTP, or
  // peers over plain TCP): refused unless this is set, and then warned of at
  // every start.
  bool insecure = false;
  // Form a new cluster with an admin API token (DATA/admin.token, mode
  // 0600): every request but /healthz and /metrics then needs a token.
  // Ignored when the node joins or rejoins (the cluster's tokens decide). A
  // new cluster whose client port other machines reach is refused without
  // it (or --insecure).
  bool auth = false;
  // Rebalancing: the data this node pulls per second (the throttle), and
  // how long a former owner keeps a moved partition before dropping it.
  uint32_t transfer_mib_per_sec = kTransferMibPerSecDefault;
  uint32_t drop_grace_ms = kDropGraceMsDefault;
  // Tombstone collection and clock pruning sweep one partition per interval.
  uint32_t sweep_interval_ms = kSweepIntervalMsDefault;
  // Clock pruning: the two agreements to drop a key's superseded clock
  // entries are at least this far apart (docs/ARCHITECTURE.md).
  uint32_t prune_delay_ms = kPruneDelayMsDefault;
  // Writes are refused (503, no fence) while the data directory's filesystem
  // has less free space than this; 0 turns the guard off (commit_queue.h).
  uint32_t min_free_disk_mib = 256;
  // Stores created at start when absent (used by `ringkv dev`).
  std::vector<std::pair<std::string, StoreConfig>> default_stores;
};

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Whether `host` can be reached only from this machine (127.0.0.0/8, ::1,
// localhost).
bool is_loopback(const std::string& host);

// What is exposed without TLS on an address other machines reach ("" when
// nothing): clients over plain HTTP, peers over plain TCP.
std::string exposed_without_tls(const ServeConfig& config);

// "HOST:PORT" or "[IPv6]:PORT"; the message names the text on failure.
Result<HostPort> parse_host_port(std::string_view text);

// Applies the settings of a TOML file onto `config`.
Status load_config_file(const std::string& path, ServeConfig& config);
// Applies the settings of TOML `text` onto `config`; `path` names it in
// messages. Never throws: malformed TOML is an error naming the line.
Status load_config_text(std::string_view text, std::string_view path, ServeConfig& config);

// The contacts of `join`, split at commas (empty entries dropped).
std::vector<std::string> join_contacts(const ServeConfig& config);
// Checks ranges and formats; the message names the setting.
Status validate(const ServeConfig& config);

}  // namespace ringkv
