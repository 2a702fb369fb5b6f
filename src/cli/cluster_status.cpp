// `ringkv cluster status` formatting; see cluster_status.h.
#include "cli/cluster_status.h"

#include <fmt/format.h>
#include <boost/json.hpp>

namespace ringkv {
namespace {

namespace json = boost::json;

std::string text_of(const json::object& object, std::string_view field) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || value->is_null())
    return "-";
  if (value->is_string())
    return std::string(value->as_string());
  if (value->is_bool())
    return value->as_bool() ? "yes" : "no";
  if (value->is_double())
    return fmt::format("{:.2f}", value->as_double());
  return json::serialize(*value);
}

}  // namespace

Result<std::string> format_cluster_status(std::string_view cluster_json) {
  boost::system::error_code error;
  const json::value parsed = json::parse(cluster_json, error);
  if (error || !parsed.is_object())
    return Status(Code::invalid_argument, "the node's /v1/cluster answer is not a JSON object");
  const json::object& root = parsed.as_object();
  const json::value* members = root.if_contains("members");
  if (members == nullptr || !members->is_array())
    return Status(Code::invalid_argument, "the node's /v1/cluster answer has no members");
  std::string out = fmt::format("as seen by {}", text_of(root, "node"));
  if (const json::value* id = root.if_contains("cluster_id"); id && id->is_string())
    out += fmt::format(", cluster {}", id->as_string().empty() ? "(none yet)" : id->as_string());
  if (const json::value* layout = root.if_contains("layout"); layout && layout->is_object()) {
    out +=
        fmt::format(", layout version {}, {} partitions", text_of(layout->as_object(), "version"),
                    text_of(layout->as_object(), "partitions"));
  }
  const uint64_t target = root.contains("target_version") && root.at("target_version").is_number()
                              ? root.at("target_version").to_number<uint64_t>()
                              : 0;
  if (target != 0) {
    out += fmt::format(", moving to layout version {}", target);
  } else if (root.contains("balanced")) {
    auto count = [&](const char* name) {
      const json::value* value = root.if_contains(name);
      return value != nullptr && value->is_number() ? value->to_number<uint64_t>() : 0;
    };
    const uint64_t drops = count("drops_pending"), leavers = count("hints_for_leavers");
    out += ", balanced";
    if (drops != 0 || leavers != 0) {
      out += fmt::format(
          " (not settled here: {} moved partitions still to drop, {} hints still "
          "to send on for nodes that left)",
          drops, leavers);
    }
  }
  if (const json::value* hints = root.if_contains("hints"); hints && hints->is_object()) {
    out += fmt::format(", {} hints held here ({} bytes)", text_of(hints->as_object(), "count"),
                       text_of(hints->as_object(), "bytes"));
  }
  if (const json::value* ae = root.if_contains("anti_entropy"); ae && ae->is_object()) {
    const json::object& stats = ae->as_object();
    out += fmt::format(
        "\nanti-entropy: {} rounds ({} in sync), {} keys repaired, {} keys / {} bytes sent",
        text_of(stats, "rounds"), text_of(stats, "rounds_in_sync"), text_of(stats, "keys_repaired"),
        text_of(stats, "keys_sent"), text_of(stats, "bytes_sent"));
  }
  if (const json::value* refused = root.if_contains("refused"); refused && refused->is_object()) {
    const json::object& counts = refused->as_object();
    auto count = [&](const char* name) {
      const json::value* value = counts.if_contains(name);
      return value != nullptr && value->is_number() ? value->to_number<uint64_t>() : 0;
    };
    const uint64_t other = count("other_cluster_connections");
    const uint64_t strangers = count("non_member_messages");
    if (other != 0 || strangers != 0) {
      const std::string latest = text_of(counts, "last_non_member");
      out += fmt::format(
          "\nrefused here: {} connections from nodes of another cluster, {} messages from "
          "non-members{} (the node's log names them: a node points at the wrong cluster, or "
          "was removed from this one)",
          other, strangers,
          latest.empty() || latest == "-" ? "" : " (latest from '" + latest + "')");
    }
  }
  if (const json::value* moves = root.if_contains("transfers"); moves && moves->is_object()) {
    const json::object& stats = moves->as_object();
    out += fmt::format(
        "\ntransfers here: {} active, {} pending, {} done, about {} bytes left; {} "
        "keys / {} bytes received, {} partitions dropped",
        text_of(stats, "active"), text_of(stats, "pending"), text_of(stats, "done"),
        text_of(stats, "bytes_left"), text_of(stats, "keys_received"),
        text_of(stats, "bytes_received"), text_of(stats, "partitions_dropped"));
  }
  if (const json::value* under = root.if_contains("under_replicated");
      under && under->is_object() && text_of(under->as_object(), "count") != "0") {
    out += fmt::format("\nunder-replicated: {} (store, partition)s have a replica believed down",
                       text_of(under->as_object(), "count"));
  }
  out += "\n";
  out += fmt::format("{:<16} {:<6} {:<8} {:>8} {:<8} {:>5} {:>9} {:>10} {:>12} {:>6} {:>8}  {}\n",
                     "NODE", "STATE", "ROLE", "CAPACITY", "ZONE", "RING", "REPLICAS", "KEYS",
                     "BYTES", "READY", "HINTS", "HTTP");
  for (const json::value& member : members->as_array()) {
    if (!member.is_object())
      return Status(Code::invalid_argument, "a member of /v1/cluster is not a JSON object");
    const json::object& row = member.as_object();
    std::string id = text_of(row, "id");
    if (const json::value* self = row.if_contains("self");
        self && self->is_bool() && self->as_bool())
      id += " *";
    std::string ring = text_of(row, "ring_partitions");
    if (row.contains("ring_partitions_target"))
      ring += "->" + text_of(row, "ring_partitions_target");
    out += fmt::format("{:<16} {:<6} {:<8} {:>8} {:<8} {:>5} {:>9} {:>10} {:>12} {:>6} {:>8}  {}\n",
                       id, text_of(row, "state"), text_of(row, "role"), text_of(row, "capacity"),
                       text_of(row, "zone"), ring, text_of(row, "partitions"), text_of(row, "keys"),
                       text_of(row, "bytes"), text_of(row, "ready"), text_of(row, "hints_held_for"),
                       text_of(row, "http"));
  }
  out +=
      "(* = the node asked; state is its view. RING: partitions owned (-> in the target); "
      "REPLICAS: (store, partition)s replicated; KEYS, BYTES: each node's own count, by "
      "gossip; READY: holds all the target gives it)\n";
  return out;
}

}  // namespace ringkv
