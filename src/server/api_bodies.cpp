// The HTTP API's JSON request bodies; see api_bodies.h.
#include "server/api_bodies.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "ring/layout.h"

namespace ringkv {
namespace {

namespace json = boost::json;

// Reads an unsigned field of a store config; false with `error` set when malformed.
bool read_count(const json::value& value, std::string_view field, uint32_t& out,
                std::string& error) {
  if (!value.is_int64() && !value.is_uint64()) {
    error = fmt::format("field '{}' must be an integer", field);
    return false;
  }
  const int64_t number =
      value.is_int64() ? value.as_int64() : static_cast<int64_t>(value.as_uint64());
  if (number < 0 || number > 1'000'000) {
    error = fmt::format("field '{}' is out of range", field);
    return false;
  }
  out = static_cast<uint32_t>(number);
  return true;
}

template <typename Mode>
bool read_mode(const json::value& value, std::string_view field, std::string_view choices,
               Mode& out, std::string& error) {
  if (!value.is_string() || !parse(std::string_view(value.as_string()), out)) {
    error = fmt::format("field '{}' must be one of {}", field, choices);
    return false;
  }
  return true;
}

bool read_capacity(const json::value& value, std::string_view what, uint32_t& out,
                   std::string& error) {
  if (!value.is_int64() && !value.is_uint64()) {
    error = fmt::format("{} must be an integer capacity", what);
    return false;
  }
  const int64_t number =
      value.is_int64() ? value.as_int64() : static_cast<int64_t>(value.as_uint64());
  if (number < 1 || number > int64_t{kCapacityMax}) {
    error = fmt::format("{} must be between 1 and {}", what, kCapacityMax);
    return false;
  }
  out = static_cast<uint32_t>(number);
  return true;
}

}  // namespace

// Parses a create-store body (all fields optional; defaults from StoreConfig).
bool parse_store_config(std::string_view body, StoreConfig& config, std::string& error) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    return true;
  boost::system::error_code parse_error;
  const json::value parsed = json::parse(body, parse_error);
  if (parse_error || !parsed.is_object()) {
    error = "the body must be a JSON object such as {\"n\":3,\"r\":2,\"w\":2}";
    return false;
  }
  for (const auto& [name, value] : parsed.as_object()) {
    const std::string_view field(name);
    bool ok = true;
    if (field == "n") {
      ok = read_count(value, field, config.n, error);
    } else if (field == "r") {
      ok = read_count(value, field, config.r, error);
    } else if (field == "w") {
      ok = read_count(value, field, config.w, error);
    } else if (field == "quorum") {
      ok = read_mode(value, field, "\"sloppy\", \"strict\"", config.quorum, error);
    } else if (field == "conflicts") {
      ok = read_mode(value, field, "\"siblings\", \"lww\"", config.conflicts, error);
    } else if (field == "durability") {
      ok = read_mode(value, field, "\"sync\", \"periodic\"", config.durability, error);
    } else {
      error =
          fmt::format("unknown field '{}'; allowed: n, r, w, quorum, conflicts, durability", field);
      ok = false;
    }
    if (!ok)
      return false;
  }
  return true;
}

json::object store_config_json(const StoreConfig& config) {
  return json::object{{"n", config.n},
                      {"r", config.r},
                      {"w", config.w},
                      {"quorum", to_string(config.quorum)},
                      {"conflicts", to_string(config.conflicts)},
                      {"durability", to_string(config.durability)}};
}

// Parses a change body; false with `error` set (naming the field) when it is
// not one.
bool parse_change(std::string_view body, ClusterChange& change, std::string& error) {
  boost::system::error_code parse_error;
  const json::value parsed = json::parse(body, parse_error);
  if (parse_error || !parsed.is_object()) {
    error =
        "the body must be a JSON object such as "
        "{\"add\":[{\"id\":\"n4\",\"capacity\":2,\"zone\":\"b\"}],"
        "\"remove\":[\"n2\"],\"capacity\":{\"n3\":4}}";
    return false;
  }
  for (const auto& [field, value] : parsed.as_object()) {
    if (field == "add") {
      if (!value.is_array()) {
        error = "'add' must be a list of {\"id\", \"capacity\", \"zone\"} objects";
        return false;
      }
      for (const json::value& item : value.as_array()) {
        if (!item.is_object() || !item.as_object().contains("id") ||
            !item.as_object().at("id").is_string()) {
          error = "each entry of 'add' must be an object with a string 'id'";
          return false;
        }
        ClusterChange::Add add;
        for (const auto& [key, part] : item.as_object()) {
          if (key == "id") {
            add.id = std::string(part.as_string());
          } else if (key == "capacity") {
            uint32_t capacity = 0;
            if (!read_capacity(part, "'add' capacity", capacity, error))
              return false;
            add.capacity = capacity;
          } else if (key == "zone") {
            if (!part.is_string()) {
              error = "'add' zone must be a string";
              return false;
            }
            add.zone = std::string(part.as_string());
          } else {
            error = fmt::format("unknown field '{}' in 'add' (id, capacity, zone)",
                                std::string_view(key));
            return false;
          }
        }
        change.add.push_back(std::move(add));
      }
    } else if (field == "remove") {
      if (!value.is_array()) {
        error = "'remove' must be a list of node ids";
        return false;
      }
      for (const json::value& item : value.as_array()) {
        if (!item.is_string()) {
          error = "'remove' must be a list of node ids (strings)";
          return false;
        }
        change.remove.push_back(std::string(item.as_string()));
      }
    } else if (field == "capacity") {
      if (!value.is_object()) {
        error = "'capacity' must be an object of node id to capacity, such as {\"n3\":4}";
        return false;
      }
      for (const auto& [id, part] : value.as_object()) {
        uint32_t capacity = 0;
        if (!read_capacity(part, fmt::format("the capacity of '{}'", std::string_view(id)),
                           capacity, error))
          return false;
        change.capacity.push_back({std::string(id), capacity});
      }
    } else {
      error = fmt::format("unknown field '{}' (add, remove, capacity)", std::string_view(field));
      return false;
    }
  }
  if (change.add.empty() && change.remove.empty() && change.capacity.empty()) {
    error = "the change is empty: give 'add', 'remove' or 'capacity'";
    return false;
  }
  return true;
}

bool parse_token_request(std::string_view body, TokenRequest& out, std::string& error) {
  boost::system::error_code parse_error;
  const json::value parsed = json::parse(body, parse_error);
  if (parse_error || !parsed.is_object()) {
    error =
        "the body must be a JSON object such as {\"scope\":\"write\",\"store\":\"orders\","
        "\"name\":\"checkout service\"}";
    return false;
  }
  bool scoped = false;
  for (const auto& [field, value] : parsed.as_object()) {
    if (!value.is_string()) {
      error = fmt::format("'{}' must be a string", std::string_view(field));
      return false;
    }
    const std::string_view text = value.as_string();
    if (field == "scope") {
      scoped = true;
      if (text == "admin") {
        out.scope = TokenScope::admin;
      } else if (text == "read") {
        out.scope = TokenScope::read;
      } else if (text == "write") {
        out.scope = TokenScope::write;
      } else {
        error = "'scope' must be \"admin\", \"read\" or \"write\"";
        return false;
      }
    } else if (field == "store") {
      out.store = text;
    } else if (field == "name") {
      out.name = text;
    } else {
      error =
          fmt::format("unknown field '{}' (expected scope, store, name)", std::string_view(field));
      return false;
    }
  }
  if (!scoped) {
    error = "'scope' is required: \"admin\", \"read\" or \"write\"";
    return false;
  }
  if (out.scope == TokenScope::admin && !out.store.empty()) {
    error = "an admin token is for every store: leave out 'store'";
    return false;
  }
  if (out.scope != TokenScope::admin && out.store.empty()) {
    error = "a read or write token is for one store: give 'store'";
    return false;
  }
  return true;
}

}  // namespace ringkv
