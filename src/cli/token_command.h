// `ringkv token create|list|revoke`: the cluster's client API tokens
// (server/api_auth.h), through any node's /v1/tokens.
//
//   ringkv token create --scope admin --name ops
//   ringkv token create --scope write --store orders --name checkout
//   ringkv token list
//   ringkv token revoke 3f9c0a1b2c3d4e5f
//
// `create` prints the token once (the cluster keeps only its hash); every
// command needs an admin token once the cluster has tokens (--token,
// --token-file, RINGKV_TOKEN).
//
// Thread safety: none needed; the CLI is single-threaded.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <string_view>

#include "common/status.h"

namespace ringkv {

class KvClient;

struct TokenOptions {
  std::string scope;  // admin, read, write
  std::string store;
  std::string name;
  std::string id;  // revoke
  bool json = false;
};

// The JSON body of POST /v1/tokens for the flags; the message names the flag
// at fault.
Result<std::string> token_request_body(const TokenOptions& options);

// The token in a file (a node's admin.token): its first line, trimmed; an
// error when the file cannot be read or holds no token.
Result<std::string> read_token_file(const std::string& path);

// Registers create, list and revoke under a new `token` command of `app`.
void add_token_commands(CLI::App& app, TokenOptions& options, CLI::App*& create, CLI::App*& list,
                        CLI::App*& revoke);

// Runs one of them; prints to stdout, errors to stderr; returns the exit code.
int run_token_command(KvClient& client, const TokenOptions& options, bool create, bool list);

}  // namespace ringkv
