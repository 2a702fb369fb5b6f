// `ringkv token`; see token_command.h.
#include "cli/token_command.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <cstdio>
#include <fstream>

#include "client/kv_client.h"

namespace ringkv {
namespace {

namespace json = boost::json;

int fail(const Status& status) {
  std::fprintf(stderr, "error: %s\n", status.message().c_str());
  return 1;
}

std::string text_of(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

}  // namespace

Result<std::string> token_request_body(const TokenOptions& options) {
  if (options.scope != "admin" && options.scope != "read" && options.scope != "write")
    return Status(Code::invalid_argument, "--scope must be admin, read or write");
  if (options.scope == "admin" && !options.store.empty())
    return Status(Code::invalid_argument, "an admin token is for every store: leave out --store");
  if (options.scope != "admin" && options.store.empty()) {
    return Status(Code::invalid_argument,
                  fmt::format("a {} token is for one store: give --store NAME", options.scope));
  }
  json::object body{{"scope", options.scope}};
  if (!options.store.empty())
    body["store"] = options.store;
  if (!options.name.empty())
    body["name"] = options.name;
  return json::serialize(body);
}

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  if (!file || !std::getline(file, line))
    return Status(Code::invalid_argument, "cannot read a token from '" + path + "'");
  const size_t begin = line.find_first_not_of(" \t\r");
  const size_t end = line.find_last_not_of(" \t\r");
  if (begin == std::string::npos)
    return Status(Code::invalid_argument, "'" + path + "' holds no token on its first line");
  return line.substr(begin, end - begin + 1);
}

void add_token_commands(CLI::App& app, TokenOptions& options, CLI::App*& create, CLI::App*& list,
                        CLI::App*& revoke) {
  CLI::App* token = app.add_subcommand(
      "token", "create, list and revoke the cluster's client API tokens (admin token needed)");
  token->require_subcommand(1);
  create = token->add_subcommand(
      "create",
      "create a token and print it (shown once: the cluster keeps only its hash); the first "
      "token of a cluster must be an admin token, and turns authentication on");
  create->add_option("--scope", options.scope, "admin (everything), read or write (one store)")
      ->required()
      ->check(CLI::IsMember({"admin", "read", "write"}));
  create->add_option("--store", options.store, "the store a read or write token is for");
  create->add_option("--name", options.name, "a label for lists (who or what uses it)");
  create->add_flag("--json", options.json, "print the node's JSON as it is");
  list = token->add_subcommand("list", "list the tokens (ids, scopes, stores; never secrets)");
  list->add_flag("--json", options.json, "print the node's JSON as it is");
  revoke = token->add_subcommand(
      "revoke", "revoke a token by id: every node refuses it once the change has spread");
  revoke->add_option("id", options.id, "the token's id (`ringkv token list`)")->required();
}

int run_token_command(KvClient& client, const TokenOptions& options, bool create, bool list) {
  if (create) {
    auto body = token_request_body(options);
    if (!body.ok())
      return fail(body.status());
    auto created = client.create_token(std::move(*body));
    if (!created.ok())
      return fail(created.status());
    if (options.json) {
      std::printf("%s\n", created->c_str());
      return 0;
    }
    const json::object object = json::parse(*created).as_object();
    std::printf("%s\n", text_of(object, "token").c_str());
    std::fprintf(stderr,
                 "token %s (%s%s): shown only now; keep it secret (clients send it as "
                 "'Authorization: Bearer ...', the CLI takes --token or RINGKV_TOKEN)\n",
                 text_of(object, "id").c_str(), text_of(object, "scope").c_str(),
                 object.contains("store") ? (" " + text_of(object, "store")).c_str() : "");
    return 0;
  }
  if (list) {
    auto listed = client.list_tokens();
    if (!listed.ok())
      return fail(listed.status());
    if (options.json) {
      std::printf("%s\n", listed->c_str());
      return 0;
    }
    const json::object object = json::parse(*listed).as_object();
    const json::array& tokens = object.at("tokens").as_array();
    if (tokens.empty()) {
      std::printf(
          "no tokens: every request is allowed (`ringkv token create --scope admin` "
          "turns authentication on)\n");
      return 0;
    }
    std::printf("%-18s %-6s %-20s %-8s %s\n", "ID", "SCOPE", "STORE", "STATE", "NAME");
    for (const json::value& entry : tokens) {
      const json::object& token = entry.as_object();
      const bool revoked = token.at("revoked").as_bool();
      std::printf("%-18s %-6s %-20s %-8s %s\n", text_of(token, "id").c_str(),
                  text_of(token, "scope").c_str(),
                  token.contains("store") ? text_of(token, "store").c_str() : "*",
                  revoked ? "revoked" : "live", text_of(token, "name").c_str());
    }
    return 0;
  }
  auto revoked = client.revoke_token(options.id);
  if (!revoked.ok())
    return fail(revoked.status());
  std::printf("revoked %s\n", options.id.c_str());
  return 0;
}

}  // namespace ringkv
