// The cluster part of the HTTP API (see http_api.h):
//   GET  /v1/cluster                     members as this node sees them, the
//                                        layout and target, transfers, and
//                                        under-replicated partitions;
//   POST /v1/cluster/changes[?dry_run=true]
//        {"add":[{"id":"n4","capacity":2,"zone":"b"}], "remove":["n2"],
//         "capacity":{"n3":4}}           commit a change (or only plan it);
//   POST /v1/cluster/changes/cancel      restore the layout's table.
// A change answers 200 with {"committed", "plan"} — the plan has the fields
// of `ringkv ring plan --json` (server/plan_report.h) — or an error naming
// the node and what to do.
#include <fmt/format.h>
#include <boost/json.hpp>

#include <cmath>
#include <map>

#include "server/http_api.h"
#include "server/http_json.h"
#include "server/plan_report.h"

namespace ringkv {
namespace {

namespace json = boost::json;
using net::HttpRequest;
using net::HttpResponse;

constexpr size_t kUnderReplicatedListed = 100;
constexpr size_t kChangeBodyBytesMax = 1 << 20;

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

HttpResponse change_error(const Status& status) {
  switch (status.code()) {
    case Code::invalid_argument:
      return error_response(400, "invalid_change", status.message());
    case Code::not_found:
      return error_response(404, "not_found", status.message());
    case Code::already_exists:
      return error_response(409, "conflict", status.message());
    case Code::unavailable:
      return error_response(503, "unavailable", status.message());
    case Code::overloaded:
      return error_response(503, "overloaded", status.message());
    default:
      return error_response(500, std::string(code_name(status.code())), status.message());
  }
}

}  // namespace

std::optional<HttpResponse> HttpApi::cluster_change(const HttpRequest& request, bool cancel,
                                                    const net::Responder& respond) {
  const std::string_view target = request.target;
  const bool dry_run = target.find("dry_run=true") != std::string_view::npos ||
                       target.find("dry_run=1") != std::string_view::npos;
  ClusterChange change;
  if (cancel) {
    change.cancel = true;
  } else {
    if (request.body.size() > kChangeBodyBytesMax)
      return error_response(413, "too_large", "a change body is at most 1 MiB");
    std::string error;
    if (!parse_change(request.body, change, error))
      return error_response(400, "invalid_change", error);
  }
  const Layout* layout = node_->layout();
  if (layout == nullptr)
    return error_response(503, "starting", "this node is not a member of a cluster yet; retry");
  const Layout previous = *layout;
  node_->change_cluster(
      change, dry_run, [respond = counted(respond), previous, dry_run](ClusterChangeDone done) {
        if (!done.status.ok()) {
          respond(change_error(done.status));
          return;
        }
        json::object out{{"committed", done.committed}, {"dry_run", dry_run}};
        if (done.plan) {
          const RingPlanReport report{&*done.plan, &previous, kAssignmentReplicas, 0};
          out["plan"] = ring_plan_json(report);
        } else {
          out["plan"] = nullptr;
        }
        respond(json_response(200, std::move(out)));
      });
  return std::nullopt;
}

HttpResponse HttpApi::cluster() {
  const Status fence = node_->write_fence();
  std::vector<NodeCore::PeerView> peer_views = node_->peer_views();
  const ClusterNode::HintTotals hints = node_->hint_totals();
  const NodeCore::RebalanceView rebalance = node_->rebalance_view();
  std::map<std::string, const NodeCore::NodeView*> counts;
  for (const NodeCore::NodeView& view : rebalance.nodes)
    counts.emplace(view.id, &view);
  const Layout* layout = node_->layout();
  const Layout* target = node_->target();
  std::map<std::string, NodeCore::PeerView> views;
  for (NodeCore::PeerView& view : peer_views)
    views.emplace(view.id, std::move(view));
  const auto& stats = node_->stats();
  json::array members;
  for (const Member& member : node_->members()) {
    if (member.role == MemberRole::removed && !(layout && layout->node_index(member.id)))
      continue;  // gone: kept in the state only so that merges do not revive it
    json::object entry{{"id", member.id},
                       {"zone", member.zone},
                       {"capacity", member.capacity},
                       {"role", to_string(member.role)},
                       {"http", member.http_address},
                       {"peer", member.peer_address}};
    // Its own counts, as its last heartbeat told them (this node's: now).
    if (auto count = counts.find(member.id); count != counts.end()) {
      entry["partitions"] = count->second->partitions;
      entry["keys"] = count->second->keys;
      entry["bytes"] = count->second->bytes;
      if (target != nullptr) {
        entry["ready"] = count->second->ready;
        entry["moves"] = json::object{{"total", count->second->moves_total},
                                      {"done", count->second->moves_done},
                                      {"bytes", count->second->moved_bytes}};
      }
    }
    if (layout != nullptr) {
      uint32_t owned = 0, owned_next = 0;
      if (auto index = layout->node_index(member.id))
        owned = layout->partition_counts()[*index];
      entry["ring_partitions"] = owned;
      if (target != nullptr) {
        if (auto index = target->node_index(member.id))
          owned_next = target->partition_counts()[*index];
        entry["ring_partitions_target"] = owned_next;
      }
    }
    if (auto view = views.find(member.id); view != views.end()) {
      // As this node sees it: gossip heartbeats and the failure detector.
      entry["state"] = view->second.alive ? "up" : "down";
      entry["phi"] = std::round(view->second.phi * 100) / 100;
      entry["generation"] = view->second.generation;
      entry["heartbeat"] = view->second.heartbeat;
      entry["hints_held_for"] = view->second.hints;
      entry["hint_bytes_held_for"] = view->second.hint_bytes;
    }
    if (member.id == options_.node_id) {
      entry["self"] = true;
      const NodeCore::RecoveryView recovery = node_->recovery();
      entry["state"] = !fence.ok() ? "refusing_writes" : recovery.recovering ? "recovering" : "up";
      entry["actor"] = fmt::format("{:016x}", node_->actor());
      if (!fence.ok())
        entry["problem"] = fence.message();
      if (recovery.recovering) {
        entry["recovery"] = json::object{{"partitions_done", recovery.partitions_done},
                                         {"partitions_total", recovery.partitions_total}};
        entry["problem"] =
            "this node's data directory was lost; it serves no reads until it has been refilled "
            "from the other replicas";
      }
    }
    members.push_back(std::move(entry));
  }
  json::object out{{"node", options_.node_id},
                   {"cluster_id", node_->cluster_id()},
                   {"members", std::move(members)},
                   {"stores", node_->catalog().list().size()},
                   {"hints", json::object{{"count", hints.count}, {"bytes", hints.bytes}}}};
  // What this node refused from outside its cluster (the log names them).
  out["refused"] = json::object{
      {"other_cluster_connections", peers_ != nullptr ? peers_->stats().other_cluster : 0},
      {"other_cluster_contacts", stats.foreign_cluster_contacts},
      {"non_member_messages", stats.peer_messages_refused},
      {"last_non_member", stats.last_refused_sender}};
  out["anti_entropy"] = json::object{{"rounds", stats.ae_rounds},
                                     {"rounds_in_sync", stats.ae_rounds_in_sync},
                                     {"keys_sent", stats.ae_keys_sent},
                                     {"bytes_sent", stats.ae_bytes_sent},
                                     {"keys_repaired", stats.ae_keys_repaired},
                                     {"trees_built", stats.merkle_builds}};
  if (layout != nullptr) {
    out["layout"] =
        json::object{{"version", layout->version()}, {"partitions", layout->partition_count()}};
    out["layout_version"] = layout->version();
  } else {
    out["layout"] = nullptr;  // still joining
    out["layout_version"] = 0;
  }
  out["target_version"] = target != nullptr ? target->version() : 0;
  const bool balanced = layout != nullptr && target == nullptr;
  out["balanced"] = balanced;
  // Balanced, and nothing of a finished change left here: no moved
  // partition still to drop, no hint still to send on for a node that left.
  out["drops_pending"] = rebalance.drops_pending;
  out["hints_for_leavers"] = rebalance.hints_for_leavers;
  out["settled"] = balanced && rebalance.drops_pending == 0 && rebalance.hints_for_leavers == 0;
  out["transfers"] = json::object{{"active", rebalance.active},
                                  {"pending", rebalance.pending},
                                  {"done", rebalance.done},
                                  {"bytes_left", rebalance.bytes_left},
                                  {"keys_received", stats.transfer_keys},
                                  {"bytes_received", stats.transfer_bytes},
                                  {"partitions_dropped", stats.partitions_dropped}};
  json::array under;
  for (const auto& [store, partition] : rebalance.under_replicated) {
    if (under.size() >= kUnderReplicatedListed)
      break;
    under.push_back(json::object{{"store", store}, {"partition", partition}});
  }
  out["under_replicated"] =
      json::object{{"count", rebalance.under_replicated.size()}, {"first", std::move(under)}};
  return json_response(200, std::move(out));
}

}  // namespace ringkv
