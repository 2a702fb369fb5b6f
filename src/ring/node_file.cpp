// Node-file parsing with toml++; see node_file.h for the format and errors.
#include "ring/node_file.h"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <map>
#include <string>

namespace ringkv {
namespace {

constexpr std::string_view kFields = "id, capacity, zone, state";

class NodeFileParser {
 public:
  explicit NodeFileParser(std::string_view source_name) : source_name_(source_name) {}

  Status error(uint32_t line, std::string_view what) const {
    return Status(Code::invalid_argument, fmt::format("{} line {}: {}", source_name_, line, what));
  }

  // One [[node]] table, whose header is at `line`.
  Result<RingNode> parse_node(const toml::table& table, uint32_t line, size_t ordinal) const {
    RingNode node;
    const toml::node* id = table.get("id");
    if (id == nullptr)
      return error(line, fmt::format("node #{} has no 'id'", ordinal));
    if (!id->is_string())
      return error(id->source().begin.line,
                   fmt::format("node #{}: 'id' must be a string", ordinal));
    node.id = id->as_string()->get();
    if (node.id.empty() || node.id.size() > kNodeIdBytesMax)
      return error(id->source().begin.line,
                   fmt::format("node #{}: 'id' must be 1..{} bytes", ordinal, kNodeIdBytesMax));
    const std::string named = fmt::format("node \"{}\"", node.id);
    bool has_capacity = false;
    for (const auto& [key, value] : table) {
      const uint32_t value_line = value.source().begin.line;
      if (key.str() == "id")
        continue;
      if (key.str() == "capacity") {
        const auto* integer = value.as_integer();
        if (integer == nullptr || integer->get() < 1 || integer->get() > int64_t{kCapacityMax})
          return error(value_line,
                       fmt::format("{}: 'capacity' must be an integer 1..{}", named, kCapacityMax));
        node.capacity = static_cast<uint32_t>(integer->get());
        has_capacity = true;
      } else if (key.str() == "zone") {
        if (!value.is_string())
          return error(value_line, fmt::format("{}: 'zone' must be a string", named));
        node.zone = value.as_string()->get();
        if (node.zone.size() > kZoneBytesMax)
          return error(value_line,
                       fmt::format("{}: 'zone' must be at most {} bytes", named, kZoneBytesMax));
      } else if (key.str() == "state") {
        const std::string state = value.value_or(std::string());
        if (state == "active") {
          node.state = NodeState::active;
        } else if (state == "leaving") {
          node.state = NodeState::leaving;
        } else {
          return error(value_line,
                       fmt::format("{}: 'state' must be \"active\" or \"leaving\"", named));
        }
      } else {
        return error(key.source().begin.line != 0 ? key.source().begin.line : value_line,
                     fmt::format("{}: unknown field '{}' (fields: {})", named, key.str(), kFields));
      }
    }
    if (!has_capacity)
      return error(line, fmt::format("{} has no 'capacity'", named));
    return node;
  }

  Result<std::vector<RingNode>> parse(const toml::table& root) const {
    for (const auto& [key, value] : root) {
      if (key.str() != "node") {
        return error(
            key.source().begin.line != 0 ? key.source().begin.line : value.source().begin.line,
            fmt::format("unknown top-level key '{}' (expected [[node]] tables)", key.str()));
      }
    }
    const toml::node* list = root.get("node");
    if (list == nullptr)
      return Status(Code::invalid_argument, fmt::format("{}: no [[node]] tables (one per node: {})",
                                                        source_name_, kFields));
    const toml::array* array = list->as_array();
    if (array == nullptr || !array->is_array_of_tables())
      return error(list->source().begin.line, "'node' must be an array of tables: [[node]]");
    if (array->size() > kNodeCountMax)
      return Status(Code::invalid_argument,
                    fmt::format("{}: more than {} nodes", source_name_, kNodeCountMax));
    std::vector<RingNode> nodes;
    std::map<std::string, uint32_t, std::less<>> line_of_id;
    for (size_t index = 0; index < array->size(); ++index) {
      const toml::table& table = *array->get(index)->as_table();
      const uint32_t line = table.source().begin.line;
      auto node = parse_node(table, line, index + 1);
      if (!node.ok())
        return node.status();
      const uint32_t id_line = table.get("id")->source().begin.line;
      const auto [first, inserted] = line_of_id.emplace(node->id, id_line);
      if (!inserted)
        return error(id_line, fmt::format("duplicate node id \"{}\" (first at line {})", node->id,
                                          first->second));
      nodes.push_back(std::move(*node));
    }
    return nodes;
  }

 private:
  std::string_view source_name_;
};

}  // namespace

Result<std::vector<RingNode>> parse_node_file(std::string_view text, std::string_view source_name) {
  if (text.size() > kNodeFileBytesMax)
    return Status(Code::too_large, fmt::format("{}: over {} bytes: not a node file", source_name,
                                               kNodeFileBytesMax));
  const NodeFileParser parser(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& parse_error) {
    return parser.error(parse_error.source().begin.line, parse_error.description());
  }
  return parser.parse(root);
}

}  // namespace ringkv
