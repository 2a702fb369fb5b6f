// `ringkv cert`: the cluster CA and node certificates for peer mutual TLS
// (net/peer_certs.h).
//
//   ringkv cert ca   --dir DIR                       -> DIR/ca.crt, DIR/ca.key
//   ringkv cert node --dir DIR --id ID [--host H]... -> DIR/ID.crt, DIR/ID.key
#pragma once

namespace CLI {
class App;
}

namespace ringkv {

// Adds the `cert` subcommand to `app`; its callbacks set `exit_code`.
void add_cert_command(CLI::App& app, int& exit_code);

}  // namespace ringkv
