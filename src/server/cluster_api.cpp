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

#include "server/api_bodies.h"
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
  // For the plan's estimate: the data every member holds (by gossip), the n
  // of every store, and this node's transfer ceiling.
  const NodeCore::RebalanceView rebalance = node_->rebalance_view();
  uint64_t bytes_held = 0;
  for (const NodeCore::NodeView& view : rebalance.nodes)
    bytes_held += view.bytes;
  std::vector<uint32_t> store_replicas;
  for (const StoreEntry* entry : node_->catalog().list())
    store_replicas.push_back(entry->config.n);
  const uint64_t rate = rebalance.rate_ceiling_bytes_per_sec;
  node_->change_cluster(change, dry_run,
                        [respond, previous, dry_run, bytes_held,
                         store_replicas = std::move(store_replicas), rate](ClusterChangeDone done) {
                          if (!done.status.ok()) {
                            respond(change_error(done.status));
                            return;
                          }
                          json::object out{{"committed", done.committed}, {"dry_run", dry_run}};
                          if (done.plan) {
                            RingPlanReport report;
                            report.plan = &*done.plan;
                            report.previous = &previous;
                            report.replica_count = kAssignmentReplicas;
                            report.bytes_held = bytes_held;
                            report.store_replicas = store_replicas;
                            report.receive_bytes_per_sec = rate;
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
  // Per node index: lists naming it, and lists it heads (its replicas of an
  // n = 1 store).
  std::vector<uint32_t> listed, headed, listed_next;
  if (layout != nullptr && !layout->is_empty()) {
    listed = layout->list_counts();
    headed.assign(layout->nodes().size(), 0);
    for (uint32_t partition = 0; partition < layout->partition_count(); ++partition)
      ++headed[layout->list(partition)[0]];
  }
  if (target != nullptr && !target->is_empty())
    listed_next = target->list_counts();
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
      uint32_t owned = 0, first = 0, owned_next = 0;
      if (auto index = layout->node_index(member.id); index && *index < listed.size()) {
        owned = listed[*index];
        first = headed[*index];
      }
      entry["ring_partitions"] = owned;
      entry["ring_first"] = first;
      if (target != nullptr) {
        if (auto index = target->node_index(member.id); index && *index < listed_next.size())
          owned_next = listed_next[*index];
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
  out["transfers"] =
      json::object{{"active", rebalance.active},
                   {"pending", rebalance.pending},
                   {"done", rebalance.done},
                   {"bytes_left", rebalance.bytes_left},
                   {"rate_bytes_per_sec", rebalance.rate_bytes_per_sec},
                   {"rate_ceiling_bytes_per_sec", rebalance.rate_ceiling_bytes_per_sec},
                   {"backoffs", stats.transfer_backoffs},
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
