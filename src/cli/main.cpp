// ringkv: one binary for the node (`serve`, `dev`) and its client and admin
// tools (`put`, `get`, `delete`, `store`, `cluster`, `token`, `ring plan`,
// `cert`, `bench`).
//
// Exit codes: 0 success; 1 error (the message says what to do); 2 usage error
// (CLI11); 3 key not found.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <iterator>

#include "cli/bench_command.h"
#include "cli/cert_command.h"
#include "cli/client_flags.h"
#include "cli/cluster_admin.h"
#include "cli/cluster_status.h"
#include "cli/dev_cluster.h"
#include "cli/ring_plan.h"
#include "cli/token_command.h"
#include "client/kv_client.h"
#include "server/serve.h"

namespace ringkv {
namespace {

constexpr int kExitError = 1;
constexpr int kExitNotFound = 3;

Result<std::unique_ptr<KvClient>> make_client(const ClientFlags& flags) {
  auto options = client_options(flags);
  if (!options.ok())
    return options.status();
  if (options->insecure) {
    std::fprintf(stderr, "warning: --insecure: the server's certificate is not verified\n");
  }
  return std::make_unique<KvClient>(*options);
}

int fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return kExitError;
}

std::string pretty_json(const std::string& text) {
  boost::system::error_code error;
  auto value = boost::json::parse(text, error);
  return error ? text : boost::json::serialize(value);
}

struct ServeFlags {
  ServeConfig config;
  std::string config_file;
};

void add_serve_flags(CLI::App& command, ServeFlags& flags) {
  ServeConfig& config = flags.config;
  command.add_option("--config", flags.config_file, "TOML file with the same settings (flags win)")
      ->check(CLI::ExistingFile);
  command.add_option("--data-dir", config.data_dir, "where this node keeps its data")
      ->capture_default_str();
  command.add_option("--listen-http", config.listen_http, "client API address HOST:PORT")
      ->capture_default_str();
  command.add_option("--listen-peer", config.listen_peer, "node-to-node address HOST:PORT")
      ->capture_default_str();
  command.add_option("--node-id", config.node_id, "this node's name in the cluster")
      ->capture_default_str();
  command
      .add_option("--capacity", config.capacity,
                  "relative capacity of this node: an integer weight (2 holds twice the data of 1)")
      ->capture_default_str();
  command
      .add_option("--join", config.join,
                  "peers to join through, HOST:PORT[,HOST:PORT...] (their --listen-peer); "
                  "without it a node with an empty data directory forms a new cluster")
      ->capture_default_str();
  command
      .add_option("--partitions", config.partitions,
                  "ring partitions Q of a new cluster (power of two; about 50 per node of the "
                  "smallest capacity)")
      ->capture_default_str();
  command.add_option("--zone", config.zone, "failure zone of this node")->capture_default_str();
  command.add_option("--tls-cert", config.tls_cert_file, "PEM certificate chain: serve HTTPS");
  command.add_option("--tls-key", config.tls_key_file, "PEM private key for --tls-cert");
  command.add_flag("--insecure", config.insecure,
                   "allow plain HTTP or plain peer TCP, or a new cluster without API tokens, on "
                   "an address other machines reach");
  command.add_flag("--auth", config.auth,
                   "form a new cluster that requires API tokens; its first admin token is "
                   "written to DATA_DIR/admin.token");
  command.add_option("--peer-ca", config.peer_ca_file,
                     "the cluster CA (PEM): peers need a certificate it signed (mutual TLS)");
  command.add_option("--peer-cert", config.peer_cert_file,
                     "this node's peer certificate (PEM; its common name is the node id)");
  command.add_option("--peer-key", config.peer_key_file, "PEM private key for --peer-cert");
  command.add_option("--peer-crl", config.peer_crl_file,
                     "the cluster CA's revocation list (`ringkv cert revoke`): peers whose "
                     "certificate it names are refused; reloaded on SIGHUP");
  command.add_option("--max-value-bytes", config.value_bytes_max, "largest value accepted")
      ->capture_default_str();
  command.add_option("--max-connections", config.connections_max, "client connections at once")
      ->capture_default_str();
  command
      .add_option("--max-peer-connections", config.peer_connections_max,
                  "peer connections accepted at once (at least the cluster's size)")
      ->capture_default_str();
  command
      .add_option("--request-timeout-ms", config.request_timeout_ms,
                  "deadline to read a request or write a response")
      ->capture_default_str();
  command
      .add_option("--periodic-sync-interval-ms", config.periodic_sync_interval_ms,
                  "fsync interval (loss window) of 'periodic' stores")
      ->capture_default_str();
  command
      .add_option("--anti-entropy-interval-ms", config.anti_entropy_interval_ms,
                  "one Merkle comparison with another replica per interval (0: off)")
      ->capture_default_str();
  command.add_flag("--no-auto-add{false}", config.auto_add,
                   "join as a standby member that holds no data until `ringkv cluster apply "
                   "--add ID` adds it");
  command
      .add_option("--transfer-mib-per-sec", config.transfer_mib_per_sec,
                  "rebalancing throttle: at most this many MiB per second pulled from others "
                  "(less while clients' writes slow down)")
      ->capture_default_str();
  command
      .add_option("--drop-grace-ms", config.drop_grace_ms,
                  "how long a node keeps a partition that moved away before dropping it")
      ->capture_default_str();
  command
      .add_option("--sweep-interval-ms", config.sweep_interval_ms,
                  "tombstone collection and clock pruning look at one partition per interval")
      ->capture_default_str();
  command
      .add_option("--prune-delay-ms", config.prune_delay_ms,
                  "clock pruning: how far apart the two agreements of every member to drop a "
                  "key's superseded clock entries must be (longer than any message lives)")
      ->capture_default_str();
  command
      .add_option("--min-free-disk-mib", config.min_free_disk_mib,
                  "refuse writes (503, until space is freed) while the data directory's disk "
                  "has less free space than this; 0: never")
      ->capture_default_str();
}

// Loads --config, then re-applies every flag given on the command line over it.
Status resolve_serve_config(CLI::App& command, ServeFlags& flags) {
  if (flags.config_file.empty())
    return Status::Ok();
  ServeConfig from_flags = flags.config;
  ServeConfig merged;
  if (Status status = load_config_file(flags.config_file, merged); !status.ok())
    return status;
  auto given = [&](const char* name) { return command.get_option(name)->count() > 0; };
  if (given("--data-dir"))
    merged.data_dir = from_flags.data_dir;
  if (given("--listen-http"))
    merged.listen_http = from_flags.listen_http;
  if (given("--listen-peer"))
    merged.listen_peer = from_flags.listen_peer;
  if (given("--node-id"))
    merged.node_id = from_flags.node_id;
  if (given("--capacity"))
    merged.capacity = from_flags.capacity;
  if (given("--zone"))
    merged.zone = from_flags.zone;
  if (given("--join"))
    merged.join = from_flags.join;
  if (given("--partitions"))
    merged.partitions = from_flags.partitions;
  if (given("--tls-cert"))
    merged.tls_cert_file = from_flags.tls_cert_file;
  if (given("--tls-key"))
    merged.tls_key_file = from_flags.tls_key_file;
  if (given("--insecure"))
    merged.insecure = from_flags.insecure;
  if (given("--auth"))
    merged.auth = from_flags.auth;
  if (given("--peer-ca"))
    merged.peer_ca_file = from_flags.peer_ca_file;
  if (given("--peer-cert"))
    merged.peer_cert_file = from_flags.peer_cert_file;
  if (given("--peer-key"))
    merged.peer_key_file = from_flags.peer_key_file;
  if (given("--peer-crl"))
    merged.peer_crl_file = from_flags.peer_crl_file;
  if (given("--max-value-bytes"))
    merged.value_bytes_max = from_flags.value_bytes_max;
  if (given("--max-connections"))
    merged.connections_max = from_flags.connections_max;
  if (given("--max-peer-connections"))
    merged.peer_connections_max = from_flags.peer_connections_max;
  if (given("--request-timeout-ms"))
    merged.request_timeout_ms = from_flags.request_timeout_ms;
  if (given("--periodic-sync-interval-ms")) {
    merged.periodic_sync_interval_ms = from_flags.periodic_sync_interval_ms;
  }
  if (given("--anti-entropy-interval-ms"))
    merged.anti_entropy_interval_ms = from_flags.anti_entropy_interval_ms;
  if (given("--no-auto-add"))
    merged.auto_add = from_flags.auto_add;
  if (given("--transfer-mib-per-sec"))
    merged.transfer_mib_per_sec = from_flags.transfer_mib_per_sec;
  if (given("--drop-grace-ms"))
    merged.drop_grace_ms = from_flags.drop_grace_ms;
  if (given("--sweep-interval-ms"))
    merged.sweep_interval_ms = from_flags.sweep_interval_ms;
  if (given("--prune-delay-ms"))
    merged.prune_delay_ms = from_flags.prune_delay_ms;
  if (given("--min-free-disk-mib"))
    merged.min_free_disk_mib = from_flags.min_free_disk_mib;
  flags.config = merged;
  return Status::Ok();
}

int run_serve_command(CLI::App& command, ServeFlags& flags) {
  if (Status status = resolve_serve_config(command, flags); !status.ok())
    return fail(status);
  const Status status = run_serve(flags.config, [](const ServeInfo& info) {
    // Scripts and tests wait for this line.
    std::printf("ringkv ready on %s\n", info.http_url.c_str());
    std::fflush(stdout);
  });
  return status.ok() ? 0 : fail(status);
}

std::string read_stdin() {
  return std::string(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
}

}  // namespace
}  // namespace ringkv

int main(int argc, char** argv) {
  using namespace ringkv;
  CLI::App app("ringkv: a peer-to-peer, Dynamo-style distributed key-value store");
  app.require_subcommand(1);
  app.set_version_flag("--version", "ringkv 0.1.0");

  ServeFlags serve_flags;
  CLI::App* serve = app.add_subcommand("serve", "run a node");
  add_serve_flags(*serve, serve_flags);

  DevOptions dev_options;
  CLI::App* dev = app.add_subcommand(
      "dev", "run a local cluster (real processes) with a default store and print how to use it");
  dev->add_option("--nodes", dev_options.nodes, "how many nodes")->capture_default_str();
  dev->add_option("--data-dir", dev_options.data_dir, "parent of every node's data directory")
      ->capture_default_str();
  dev->add_option("--http-port", dev_options.http_port,
                  "client port of node 1 (node k: +k-1; 0: any free port)")
      ->capture_default_str();
  dev->add_option("--peer-port", dev_options.peer_port,
                  "peer port of node 1 (node k: +k-1; 0: any free port)")
      ->capture_default_str();
  dev->add_option("--tls-cert", dev_options.tls_cert_file,
                  "PEM certificate the nodes serve HTTPS with (default: one made from the dev CA)");
  dev->add_option("--tls-key", dev_options.tls_key_file, "PEM private key for --tls-cert");
  dev->add_flag("--open", dev_options.open,
                "clients speak plain HTTP without API tokens (benchmarks against stores that "
                "have neither); default: HTTPS with a certificate from the dev CA, and tokens");

  int cert_exit = 0;
  add_cert_command(app, cert_exit);

  ClientFlags client_flags;
  std::string store, key, value, value_file, context;
  bool json_output = false;

  CLI::App* put = app.add_subcommand("put", "store a value (prints the new context)");
  put->add_option("store", store, "store name")->required();
  put->add_option("key", key, "key")->required();
  put->add_option("value", value, "value (or --file, or standard input when neither is given)");
  put->add_option("--file,-f", value_file, "read the value from this file")
      ->check(CLI::ExistingFile);
  put->add_option("--context,-c", context, "context from an earlier get: supersede what it saw");
  add_client_flags(*put, client_flags);

  CLI::App* get = app.add_subcommand("get", "read a key: every concurrent version and the context");
  get->add_option("store", store, "store name")->required();
  get->add_option("key", key, "key")->required();
  get->add_flag("--json", json_output, "print JSON");
  add_client_flags(*get, client_flags);

  CLI::App* remove = app.add_subcommand("delete", "delete a key (writes a tombstone)");
  remove->add_option("store", store, "store name")->required();
  remove->add_option("key", key, "key")->required();
  remove->add_option("--context,-c", context, "context from an earlier get: delete what it saw");
  add_client_flags(*remove, client_flags);

  CLI::App* stores = app.add_subcommand("store", "create, list and show stores");
  stores->require_subcommand(1);
  StoreConfig config;
  std::string quorum = "sloppy", conflicts = "siblings", durability = "sync";
  CLI::App* create = stores->add_subcommand("create", "create a store (its settings never change)");
  create->add_option("name", store, "store name")->required();
  create->add_option("--n", config.n, "replicas of each key")->capture_default_str();
  create->add_option("--r", config.r, "replies a read waits for")->capture_default_str();
  create->add_option("--w", config.w, "acknowledgements a write waits for")->capture_default_str();
  create->add_option("--quorum", quorum, "sloppy (always writable) or strict")
      ->check(CLI::IsMember({"sloppy", "strict"}))
      ->capture_default_str();
  create->add_option("--conflicts", conflicts, "siblings (keep concurrent versions) or lww")
      ->check(CLI::IsMember({"siblings", "lww"}))
      ->capture_default_str();
  create->add_option("--durability", durability, "sync (fsync before ack) or periodic")
      ->check(CLI::IsMember({"sync", "periodic"}))
      ->capture_default_str();
  add_client_flags(*create, client_flags);
  CLI::App* list = stores->add_subcommand("list", "list stores");
  add_client_flags(*list, client_flags);
  CLI::App* show = stores->add_subcommand("show", "show a store's configuration");
  show->add_option("name", store, "store name")->required();
  add_client_flags(*show, client_flags);

  CLI::App* cluster = app.add_subcommand("cluster", "inspect and change the cluster");
  cluster->require_subcommand(1);
  bool cluster_json = false;
  CLI::App* cluster_status = cluster->add_subcommand(
      "status", "each member's state as one node sees it, its data, and any move in progress");
  cluster_status->add_flag("--json", cluster_json, "print the node's JSON as it is");
  add_client_flags(*cluster_status, client_flags);
  ClusterAdminOptions admin_options;
  CLI::App* cluster_plan = nullptr;
  CLI::App* cluster_apply = nullptr;
  CLI::App* cluster_cancel = nullptr;
  add_cluster_admin_commands(*cluster, admin_options, cluster_plan, cluster_apply, cluster_cancel);
  for (CLI::App* command : {cluster_plan, cluster_apply, cluster_cancel})
    add_client_flags(*command, client_flags);

  TokenOptions token_options;
  CLI::App* token_create = nullptr;
  CLI::App* token_list = nullptr;
  CLI::App* token_revoke = nullptr;
  add_token_commands(app, token_options, token_create, token_list, token_revoke);
  for (CLI::App* command : {token_create, token_list, token_revoke})
    add_client_flags(*command, client_flags);

  RingPlanOptions ring_plan_options;
  CLI::App* ring = app.add_subcommand("ring", "plan partition layouts");
  ring->require_subcommand(1);
  CLI::App* ring_plan = add_ring_plan_command(*ring, ring_plan_options);

  BenchOptions bench_options;
  CLI::App* bench = add_bench_command(app, bench_options);
  add_client_flags(*bench, client_flags);

  CLI11_PARSE(app, argc, argv);

  if (serve->parsed())
    return run_serve_command(*serve, serve_flags);
  if (app.got_subcommand("cert"))
    return cert_exit;
  if (dev->parsed())
    return run_dev_cluster(dev_options, argv[0]);
  if (ring_plan->parsed())
    return run_ring_plan(ring_plan_options);

  if (bench->parsed()) {
    if (bench_options.system != "redis") {  // checks the URL, warns of --insecure
      if (auto client = make_client(client_flags); !client.ok())
        return fail(client.status());
    }
    return run_bench(bench_options, client_flags);
  }
  auto client = make_client(client_flags);
  if (!client.ok())
    return fail(client.status());

  if (put->parsed()) {
    if (!value_file.empty()) {
      std::FILE* file = std::fopen(value_file.c_str(), "rb");
      if (file == nullptr)
        return fail(Status(Code::invalid_argument, "cannot open " + value_file));
      char buffer[65536];
      size_t read = 0;
      value.clear();
      while ((read = std::fread(buffer, 1, sizeof buffer, file)) > 0)
        value.append(buffer, read);
      std::fclose(file);
    } else if (put->get_option("value")->count() == 0) {
      value = read_stdin();
    }
    auto result = (*client)->put(store, key, std::move(value), context);
    if (!result.ok())
      return fail(result.status());
    std::printf("context: %s\n", result->c_str());
    return 0;
  }
  if (get->parsed()) {
    auto result = (*client)->get(store, key);
    if (!result.ok())
      return fail(result.status());
    if (json_output) {
      boost::json::array siblings;
      for (const auto& sibling : result->siblings) {
        if (sibling) {
          siblings.push_back(boost::json::object{{"value", *sibling}});
        } else {
          siblings.push_back(boost::json::object{{"deleted", true}});
        }
      }
      std::printf("%s\n",
                  boost::json::serialize(boost::json::object{{"found", result->found},
                                                             {"context", result->context},
                                                             {"siblings", std::move(siblings)}})
                      .c_str());
      return result->found ? 0 : kExitNotFound;
    }
    if (!result->found) {
      std::fprintf(
          stderr, "not found%s\n",
          result->context.empty() ? "" : (" (deleted; context: " + result->context + ")").c_str());
      return kExitNotFound;
    }
    if (result->siblings.size() == 1) {
      std::fwrite(result->siblings[0]->data(), 1, result->siblings[0]->size(), stdout);
      std::printf("\n");
    } else {
      std::printf("%zu concurrent versions (merge them and put with this context):\n",
                  result->siblings.size());
      for (size_t index = 0; index < result->siblings.size(); ++index) {
        const auto& sibling = result->siblings[index];
        std::printf("  [%zu] %s\n", index + 1, sibling ? sibling->c_str() : "<deleted>");
      }
    }
    std::printf("context: %s\n", result->context.c_str());
    return 0;
  }
  if (remove->parsed()) {
    auto result = (*client)->remove(store, key, context);
    if (!result.ok())
      return fail(result.status());
    std::printf("context: %s\n", result->c_str());
    return 0;
  }
  if (create->parsed()) {
    (void)parse(quorum, config.quorum);
    (void)parse(conflicts, config.conflicts);
    (void)parse(durability, config.durability);
    auto result = (*client)->create_store(store, config);
    if (!result.ok())
      return fail(result.status());
    std::printf("%s %s\n", result->second ? "created" : "exists (identical):",
                pretty_json(result->first).c_str());
    return 0;
  }
  if (cluster_plan->parsed() || cluster_apply->parsed() || cluster_cancel->parsed()) {
    return run_cluster_admin(**client, admin_options, cluster_plan->parsed(),
                             cluster_cancel->parsed());
  }
  if (token_create->parsed() || token_list->parsed() || token_revoke->parsed())
    return run_token_command(**client, token_options, token_create->parsed(), token_list->parsed());
  if (cluster_status->parsed()) {
    auto result = (*client)->cluster();
    if (!result.ok())
      return fail(result.status());
    if (cluster_json) {
      std::printf("%s\n", pretty_json(*result).c_str());
      return 0;
    }
    auto table = format_cluster_status(*result);
    if (!table.ok())
      return fail(table.status());
    std::fputs(table->c_str(), stdout);
    return 0;
  }
  if (list->parsed() || show->parsed()) {
    auto result = list->parsed() ? (*client)->list_stores() : (*client)->show_store(store);
    if (!result.ok())
      return fail(result.status());
    std::printf("%s\n", pretty_json(*result).c_str());
    return 0;
  }
  return 0;
}
