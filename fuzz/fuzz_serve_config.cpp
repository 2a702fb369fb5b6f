// Fuzzes load_config_text() (server/serve_config.h), the TOML file of
// `ringkv serve`, and validate() over what it accepts. Invariants: no crash
// and no exception out of either on any bytes; a refusal is a message naming
// the file; an accepted file is valid TOML whose every key is a setting of
// serve_config.h holding its documented type (string, integer or boolean:
// "unknown keys and wrong types are errors"), and the config holds exactly
// the file's values; validate() of an accepted config is Ok or a message.
//
// One exclusion, upstream's bug and not ours: toml++ 3.3.0 (Debian 12's)
// reaches __builtin_unreachable() when it asks whether one of the code points
// toml_misreads() names is whitespace (tomlplusplus#190 and #295, fixed
// upstream by #305), which it does almost anywhere outside a one-line string
// or comment. Debian's g++ build happens to answer "no" (a parse error, or
// the character kept in a string or comment), but under clang and UBSan any
// such input stops the fuzzer, so inputs holding one are skipped.
#include <toml++/toml.h>

#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "server/serve_config.h"

namespace {

using ringkv::ServeConfig;

constexpr std::string_view kPath = "fuzz.toml";

// Whether `node` is the TOML value the setting's field holds.
using Check = std::function<bool(const toml::node&, const ServeConfig&)>;

template <typename Field>
Check string_setting(Field field) {
  return [field](const toml::node& node, const ServeConfig& config) {
    return node.is_string() && *node.value_exact<std::string>() == config.*field;
  };
}

template <typename Field>
Check integer_setting(Field field) {
  return [field](const toml::node& node, const ServeConfig& config) {
    if (!node.is_integer())
      return false;
    const int64_t value = *node.value_exact<int64_t>();
    return value >= 0 && static_cast<uint64_t>(value) == static_cast<uint64_t>(config.*field);
  };
}

Check boolean_setting(bool ServeConfig::*field) {
  return [field](const toml::node& node, const ServeConfig& config) {
    return node.is_boolean() && *node.value_exact<bool>() == config.*field;
  };
}

// Every key of serve_config.h, with the type the file must give it (a new
// setting needs its line here, and in serve_config.dict, or this fails).
const std::map<std::string, Check, std::less<>>& settings() {
  static const std::map<std::string, Check, std::less<>> kSettings = {
      {"data_dir", string_setting(&ServeConfig::data_dir)},
      {"listen_http", string_setting(&ServeConfig::listen_http)},
      {"listen_peer", string_setting(&ServeConfig::listen_peer)},
      {"node_id", string_setting(&ServeConfig::node_id)},
      {"capacity", integer_setting(&ServeConfig::capacity)},
      {"zone", string_setting(&ServeConfig::zone)},
      {"join", string_setting(&ServeConfig::join)},
      {"partitions", integer_setting(&ServeConfig::partitions)},
      {"tls_cert", string_setting(&ServeConfig::tls_cert_file)},
      {"tls_key", string_setting(&ServeConfig::tls_key_file)},
      {"peer_ca", string_setting(&ServeConfig::peer_ca_file)},
      {"peer_cert", string_setting(&ServeConfig::peer_cert_file)},
      {"peer_key", string_setting(&ServeConfig::peer_key_file)},
      {"peer_crl", string_setting(&ServeConfig::peer_crl_file)},
      {"max_value_bytes", integer_setting(&ServeConfig::value_bytes_max)},
      {"max_connections", integer_setting(&ServeConfig::connections_max)},
      {"max_peer_connections", integer_setting(&ServeConfig::peer_connections_max)},
      {"insecure", boolean_setting(&ServeConfig::insecure)},
      {"auth", boolean_setting(&ServeConfig::auth)},
      {"request_timeout_ms", integer_setting(&ServeConfig::request_timeout_ms)},
      {"periodic_sync_interval_ms", integer_setting(&ServeConfig::periodic_sync_interval_ms)},
      {"anti_entropy_interval_ms", integer_setting(&ServeConfig::anti_entropy_interval_ms)},
      {"auto_add", boolean_setting(&ServeConfig::auto_add)},
      {"transfer_mib_per_sec", integer_setting(&ServeConfig::transfer_mib_per_sec)},
      {"drop_grace_ms", integer_setting(&ServeConfig::drop_grace_ms)},
      {"sweep_interval_ms", integer_setting(&ServeConfig::sweep_interval_ms)},
      {"prune_delay_ms", integer_setting(&ServeConfig::prune_delay_ms)},
      {"min_free_disk_mib", integer_setting(&ServeConfig::min_free_disk_mib)},
  };
  return kSettings;
}

// toml++ 3.3.0's is_non_ascii_horizontal_whitespace(), minus the undefined
// behaviour: whether it would reach its TOML_UNREACHABLE for `c`.
bool toml_misreads(char32_t c) {
  if (c < 0xA0 || c > 0xFEFF)
    return false;
  const uint64_t child = (uint64_t{c} - 0xA0) / 0x3FA;
  if (((uint64_t{1} << child) & 0x7FFFFFFFFFFFF75Eull) != 0)
    return false;
  if (c == 0xA0 || c == 0x3000 || c == 0xFEFF)
    return false;
  return child != 5 && child != 7;
}

// Whether `text` holds such a code point (UTF-8, decoded leniently).
bool holds_misread(std::string_view text) {
  for (size_t index = 0; index < text.size(); ++index) {
    const auto lead = static_cast<unsigned char>(text[index]);
    const size_t length = lead >= 0xE0 && lead < 0xF0 ? 3 : lead >= 0xC0 && lead < 0xE0 ? 2 : 1;
    if (length == 1 || index + length > text.size())
      continue;
    char32_t c = lead & (length == 2 ? 0x1F : 0x0F);
    for (size_t next = 1; next < length; ++next)
      c = (c << 6) | (static_cast<unsigned char>(text[index + next]) & 0x3F);
    if (toml_misreads(c))
      return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (holds_misread(text))
    return 0;  // toml++'s undefined behaviour (see above)
  ServeConfig config;
  ringkv::Status loaded;
  try {
    loaded = ringkv::load_config_text(text, kPath, config);
  } catch (...) {
    std::abort();
  }
  if (!loaded.ok()) {
    if (loaded.message().find("'fuzz.toml'") == std::string::npos)
      std::abort();
    return 0;
  }
  toml::table table;
  try {
    table = toml::parse(text);
  } catch (const toml::parse_error&) {
    std::abort();  // accepted a file that is not TOML
  }
  for (const auto& [key, node] : table) {
    const auto setting = settings().find(key.str());
    if (setting == settings().end() || !setting->second(node, config))
      std::abort();
  }
  try {
    const ringkv::Status valid = ringkv::validate(config);
    if (!valid.ok() && valid.message().empty())
      std::abort();
  } catch (...) {
    std::abort();
  }
  return 0;
}
