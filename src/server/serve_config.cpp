// ServeConfig: the settings of `ringkv serve`, from a TOML file, and their
// checks; see serve_config.h.
#include "server/serve_config.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>

namespace ringkv {

Result<HostPort> parse_host_port(std::string_view text) {
  const size_t colon = text.rfind(':');
  auto bad = [&] {
    return Status(Code::invalid_argument,
                  fmt::format("'{}' is not HOST:PORT (e.g. 127.0.0.1:8080)", text));
  };
  if (colon == std::string_view::npos || colon == 0)
    return bad();
  HostPort out;
  out.host.assign(text.substr(0, colon));
  if (out.host.size() >= 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);
  }
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (error != std::errc() || end != port.data() + port.size() || value > 65535)
    return bad();
  out.port = static_cast<uint16_t>(value);
  return out;
}

namespace {

template <typename T>
Status read_value(const toml::node& node, std::string_view key, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto value = node.value<std::string>()) {
      out = *value;
      return Status::Ok();
    }
    return {Code::invalid_argument, fmt::format("config key '{}' must be a string", key)};
  } else if constexpr (std::is_same_v<T, double>) {
    if (auto value = node.value<double>()) {
      out = *value;
      return Status::Ok();
    }
    return {Code::invalid_argument, fmt::format("config key '{}' must be a number", key)};
  } else if constexpr (std::is_same_v<T, bool>) {
    // Exactly a TOML boolean (node.value<bool>() would take an integer too).
    if (auto value = node.value_exact<bool>()) {
      out = *value;
      return Status::Ok();
    }
    return {Code::invalid_argument, fmt::format("config key '{}' must be true or false", key)};
  } else {
    // Exactly a TOML integer (node.value<int64_t>() would take true and 2.0 too).
    auto value = node.value_exact<int64_t>();
    if (!value || *value < 0 || static_cast<uint64_t>(*value) > std::numeric_limits<T>::max()) {
      return {Code::invalid_argument,
              fmt::format("config key '{}' must be a non-negative integer", key)};
    }
    out = static_cast<T>(*value);
    return Status::Ok();
  }
}

}  // namespace

Status load_config_file(const std::string& path, ServeConfig& config) {
  auto unreadable = [&] {
    return Status(Code::invalid_argument,
                  fmt::format("cannot read config file '{}': {}", path, std::strerror(errno)));
  };
  struct Close {
    void operator()(std::FILE* file) const { std::fclose(file); }
  };
  const std::unique_ptr<std::FILE, Close> file(std::fopen(path.c_str(), "rb"));
  if (file == nullptr)
    return unreadable();
  std::string text;
  char chunk[4096];
  while (const size_t bytes = std::fread(chunk, 1, sizeof chunk, file.get()))
    text.append(chunk, bytes);
  if (std::ferror(file.get()))
    return unreadable();  // (a directory, say)
  return load_config_text(text, path, config);
}

Status load_config_text(std::string_view text, std::string_view path, ServeConfig& config) {
  toml::table table;
  try {
    table = toml::parse(text, path);
  } catch (const toml::parse_error& error) {
    const auto& where = error.source().begin;
    return {Code::invalid_argument, fmt::format("cannot read config file '{}' (line {}): {}", path,
                                                where.line, error.description())};
  }
  for (const auto& [key_node, node] : table) {
    const std::string_view key = key_node.str();
    Status status;
    if (key == "data_dir") {
      status = read_value(node, key, config.data_dir);
    } else if (key == "listen_http") {
      status = read_value(node, key, config.listen_http);
    } else if (key == "listen_peer") {
      status = read_value(node, key, config.listen_peer);
    } else if (key == "node_id") {
      status = read_value(node, key, config.node_id);
    } else if (key == "capacity") {
      status = read_value(node, key, config.capacity);
    } else if (key == "join") {
      status = read_value(node, key, config.join);
    } else if (key == "partitions") {
      status = read_value(node, key, config.partitions);
    } else if (key == "zone") {
      status = read_value(node, key, config.zone);
    } else if (key == "tls_cert") {
      status = read_value(node, key, config.tls_cert_file);
    } else if (key == "tls_key") {
      status = read_value(node, key, config.tls_key_file);
    } else if (key == "peer_ca") {
      status = read_value(node, key, config.peer_ca_file);
    } else if (key == "peer_cert") {
      status = read_value(node, key, config.peer_cert_file);
    } else if (key == "peer_key") {
      status = read_value(node, key, config.peer_key_file);
    } else if (key == "peer_crl") {
      status = read_value(node, key, config.peer_crl_file);
    } else if (key == "max_value_bytes") {
      status = read_value(node, key, config.value_bytes_max);
    } else if (key == "max_connections") {
      status = read_value(node, key, config.connections_max);
    } else if (key == "insecure") {
      status = read_value(node, key, config.insecure);
    } else if (key == "auth") {
      status = read_value(node, key, config.auth);
    } else if (key == "max_peer_connections") {
      status = read_value(node, key, config.peer_connections_max);
    } else if (key == "request_timeout_ms") {
      status = read_value(node, key, config.request_timeout_ms);
    } else if (key == "periodic_sync_interval_ms") {
      status = read_value(node, key, config.periodic_sync_interval_ms);
    } else if (key == "anti_entropy_interval_ms") {
      status = read_value(node, key, config.anti_entropy_interval_ms);
    } else if (key == "auto_add") {
      status = read_value(node, key, config.auto_add);
    } else if (key == "transfer_mib_per_sec") {
      status = read_value(node, key, config.transfer_mib_per_sec);
    } else if (key == "drop_grace_ms") {
      status = read_value(node, key, config.drop_grace_ms);
    } else if (key == "sweep_interval_ms") {
      status = read_value(node, key, config.sweep_interval_ms);
    } else if (key == "prune_delay_ms") {
      status = read_value(node, key, config.prune_delay_ms);
    } else if (key == "min_free_disk_mib") {
      status = read_value(node, key, config.min_free_disk_mib);
    } else {
      status =
          Status(Code::invalid_argument, fmt::format("unknown config key '{}' (line {}) in '{}'",
                                                     key, node.source().begin.line, path));
    }
    if (!status.ok()) {
      return {Code::invalid_argument, fmt::format("{} (file '{}', line {})", status.message(), path,
                                                  node.source().begin.line)};
    }
  }
  return Status::Ok();
}

std::vector<std::string> join_contacts(const ServeConfig& config) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= config.join.size()) {
    size_t end = config.join.find(',', begin);
    if (end == std::string::npos)
      end = config.join.size();
    if (end > begin)
      out.push_back(config.join.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" || host.starts_with("127.");
}

std::string exposed_without_tls(const ServeConfig& config) {
  std::vector<std::string> exposed;
  auto http = parse_host_port(config.listen_http);
  if (http.ok() && !is_loopback(http->host) && config.tls_cert_file.empty())
    exposed.push_back(fmt::format("clients would speak plain HTTP on {}", config.listen_http));
  auto peer = parse_host_port(config.listen_peer);
  if (peer.ok() && !is_loopback(peer->host) && config.peer_ca_file.empty())
    exposed.push_back(fmt::format("peers would speak plain TCP on {}", config.listen_peer));
  std::string out;
  for (const std::string& part : exposed)
    out += (out.empty() ? "" : " and ") + part;
  return out;
}

Status validate(const ServeConfig& config) {
  if (config.data_dir.empty())
    return {Code::invalid_argument, "--data-dir must not be empty"};
  if (config.node_id.empty())
    return {Code::invalid_argument, "--node-id must not be empty"};
  if (config.capacity < 1 || config.capacity > 1'000'000) {
    return {
        Code::invalid_argument,
        fmt::format("--capacity must be an integer from 1 to 1000000, got {}", config.capacity)};
  }
  if (config.partitions == 0 || (config.partitions & (config.partitions - 1)) != 0 ||
      config.partitions > (1u << 20)) {
    return {Code::invalid_argument,
            fmt::format("--partitions must be a power of two from 1 to 1048576, got {}",
                        config.partitions)};
  }
  for (const std::string& contact : join_contacts(config)) {
    if (auto parsed = parse_host_port(contact); !parsed.ok())
      return {Code::invalid_argument, "--join: " + parsed.status().message()};
  }
  if (config.peer_ca_file.empty() != config.peer_cert_file.empty() ||
      config.peer_ca_file.empty() != config.peer_key_file.empty()) {
    return {Code::invalid_argument,
            "--peer-ca, --peer-cert and --peer-key must be given together (make them with "
            "`ringkv cert ca` and `ringkv cert node`)"};
  }
  if (!config.peer_crl_file.empty() && config.peer_ca_file.empty()) {
    return {Code::invalid_argument,
            "--peer-crl needs --peer-ca, --peer-cert and --peer-key (mutual TLS between nodes)"};
  }
  if (config.tls_cert_file.empty() != config.tls_key_file.empty()) {
    return {Code::invalid_argument, "--tls-cert and --tls-key must be given together"};
  }
  if (const std::string exposed = exposed_without_tls(config);
      !exposed.empty() && !config.insecure) {
    return {Code::invalid_argument,
            fmt::format("{}, reachable from other machines: give --tls-cert/--tls-key for "
                        "clients and --peer-ca/--peer-cert/--peer-key for peers (`ringkv cert`), "
                        "listen on 127.0.0.1, or pass --insecure to run without TLS anyway",
                        exposed)};
  }
  if (config.value_bytes_max < 1 || config.value_bytes_max > 64 * 1024 * 1024) {
    return {Code::invalid_argument, "--max-value-bytes must be between 1 and 67108864"};
  }
  if (config.connections_max < 1) {
    return {Code::invalid_argument, "--max-connections must be at least 1"};
  }
  if (config.peer_connections_max < 2) {
    return {Code::invalid_argument, "--max-peer-connections must be at least 2"};
  }
  if (config.request_timeout_ms < 10) {
    return {Code::invalid_argument, "--request-timeout-ms must be at least 10"};
  }
  if (config.sweep_interval_ms < 10) {
    return {Code::invalid_argument, "--sweep-interval-ms must be at least 10"};
  }
  if (config.prune_delay_ms < 1000) {
    return {Code::invalid_argument, "--prune-delay-ms must be at least 1000"};
  }
  // What a request carries can be as old as its timeout plus a frame's age
  // (half the delay) when it lands; it must land before the second of
  // pruning's two agreements (clock_pruner.cpp).
  if (uint64_t{config.prune_delay_ms} <= 2 * uint64_t{config.request_timeout_ms}) {
    return {Code::invalid_argument,
            fmt::format("--prune-delay-ms ({}) must be more than twice --request-timeout-ms ({}): "
                        "a request's data must not outlive the pruning delay",
                        config.prune_delay_ms, config.request_timeout_ms)};
  }
  if (config.periodic_sync_interval_ms < 1) {
    return {Code::invalid_argument, "--periodic-sync-interval-ms must be at least 1"};
  }
  if (auto http = parse_host_port(config.listen_http); !http.ok()) {
    return {Code::invalid_argument, "--listen-http: " + http.status().message()};
  }
  if (auto peer = parse_host_port(config.listen_peer); !peer.ok()) {
    return {Code::invalid_argument, "--listen-peer: " + peer.status().message()};
  }
  return Status::Ok();
}

}  // namespace ringkv
