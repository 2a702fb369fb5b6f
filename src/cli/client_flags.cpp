// The shared client flags; see client_flags.h.
#include "cli/client_flags.h"

#include "cli/token_command.h"
#include "client/kv_client.h"

namespace ringkv {

void add_client_flags(CLI::App& command, ClientFlags& flags) {
  command.add_option("--server,-s", flags.server, "node to talk to (http[s]://HOST:PORT)")
      ->envname("RINGKV_SERVER")
      ->capture_default_str();
  command
      .add_option("--cacert", flags.cacert,
                  "PEM file of the CA that signed the server's certificate")
      ->envname("RINGKV_CACERT")
      ->check(CLI::ExistingFile);
  command.add_flag(
      "--insecure,-k", flags.insecure,
      "do not verify the server's TLS certificate (self-signed test certificates only)");
  command.add_option("--timeout-ms", flags.timeout_ms, "deadline per request")
      ->capture_default_str();
  command
      .add_option("--token", flags.token,
                  "API token (rkv_...) when the cluster requires one; prefer RINGKV_TOKEN or "
                  "--token-file, which other users cannot see in the process list")
      ->envname("RINGKV_TOKEN");
  command
      .add_option("--token-file", flags.token_file,
                  "file holding the API token (a node's DATA_DIR/admin.token, say)")
      ->envname("RINGKV_TOKEN_FILE")
      ->check(CLI::ExistingFile);
}

Result<net::HttpClientOptions> client_options(const ClientFlags& flags) {
  auto options = parse_server_url(flags.server);
  if (!options.ok())
    return options.status();
  options->ca_file = flags.cacert;
  options->insecure = flags.insecure;
  options->timeout_ms = flags.timeout_ms;
  options->bearer_token = flags.token;
  if (!flags.token_file.empty()) {
    auto token = read_token_file(flags.token_file);
    if (!token.ok())
      return token.status();
    options->bearer_token = std::move(*token);
  }
  return *options;
}

}  // namespace ringkv
