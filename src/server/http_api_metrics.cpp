// GET /metrics: the node's counters and gauges in the Prometheus text format.
#include <fmt/format.h>

#include "server/http_api.h"

namespace ringkv {

using net::HttpResponse;

HttpResponse HttpApi::metrics() {
  const auto& node = node_->stats();
  const auto queue = node_->write_queue().stats();
  std::string text;
  auto counter = [&text](std::string_view name, std::string_view help, uint64_t value,
                         std::string_view labels = {}) {
    if (!help.empty())  // the first of a labelled family
      text += fmt::format("# HELP {} {}\n# TYPE {} counter\n", name, help, name);
    text += fmt::format("{}{} {}\n", name, labels, value);
  };
  counter("ringkv_http_requests_total", "HTTP requests received", stats_.requests);
  counter("ringkv_http_responses_total", "HTTP responses by status class", stats_.responses_2xx,
          "{class=\"2xx\"}");
  counter("ringkv_http_responses_total", "", stats_.responses_3xx, "{class=\"3xx\"}");
  counter("ringkv_http_responses_total", "", stats_.responses_4xx, "{class=\"4xx\"}");
  counter("ringkv_http_responses_total", "", stats_.responses_5xx, "{class=\"5xx\"}");
  counter("ringkv_http_auth_refused_total",
          "requests answered 401 or 403 (no valid API token, or not allowed)", stats_.auth_refused);
  counter("ringkv_puts_acknowledged_total", "puts and deletes acknowledged",
          node.puts_acknowledged);
  counter("ringkv_puts_failed_total", "puts and deletes not acknowledged", node.puts_failed);
  counter("ringkv_puts_forwarded_total", "puts sent to a replica to coordinate",
          node.puts_forwarded);
  counter("ringkv_gets_total", "key reads answered", node.gets_answered);
  counter("ringkv_gets_failed_total", "key reads not answered", node.gets_failed);
  counter("ringkv_replica_writes_total", "replica copies changed by replication or repair",
          node.replica_writes);
  counter("ringkv_read_repairs_total", "replicas sent a merged set after a read",
          node.read_repairs);
  counter("ringkv_gossip_rounds_total", "gossip rounds started", node.gossip_rounds);
  counter("ringkv_suspicions_total", "members newly believed down (failure detector)",
          node.suspicions);
  counter("ringkv_recoveries_total", "members believed down seen alive again", node.recoveries);
  counter("ringkv_sloppy_writes_total", "write copies sent to a stand-in (sloppy quorum)",
          node.sloppy_writes);
  counter("ringkv_single_use_actors_total",
          "puts numbered under an actor of their own (no replica up, no hint kept here)",
          node.single_use_actors);
  counter("ringkv_stand_in_actors_total",
          "actors drawn by this stand-in to number writes while every replica was down",
          node.stand_in_actors);
  counter("ringkv_recoveries_started_total", "starts that found this node's data lost",
          node.recoveries_started);
  counter("ringkv_recoveries_done_total", "recoveries that refilled every partition",
          node.recoveries_done);
  counter("ringkv_reads_refused_recovering_total", "replica reads refused while recovering",
          node.reads_refused_recovering);
  counter("ringkv_inbound_refused_total",
          "peer requests refused as overloaded: their source was over its in-flight byte budget",
          node.inbound_refused);
  counter("ringkv_clock_entries_pruned_total",
          "superseded clock entries dropped after every member agreed twice",
          node.clock_entries_pruned);
  counter("ringkv_hints_stored_total", "hint writes taken as a stand-in", node.hints_stored);
  counter("ringkv_hints_refused_total", "hints refused over the hint byte limit",
          node.hints_refused);
  counter("ringkv_hints_delivered_total", "hints handed off and deleted", node.hints_delivered);
  counter("ringkv_hints_corrupt_total", "unreadable hints kept and skipped", node.hints_corrupt);
  counter("ringkv_hints_rerouted_total",
          "hints sent to a key's new replica, the key having moved off their target",
          node.hints_rerouted);
  counter("ringkv_anti_entropy_rounds_total", "Merkle comparisons started", node.ae_rounds);
  counter("ringkv_anti_entropy_rounds_in_sync_total", "Merkle comparisons that found no difference",
          node.ae_rounds_in_sync);
  counter("ringkv_anti_entropy_keys_sent_total", "keys sent to a peer by anti-entropy",
          node.ae_keys_sent);
  counter("ringkv_anti_entropy_bytes_sent_total", "tree hashes and records sent by anti-entropy",
          node.ae_bytes_sent);
  counter("ringkv_anti_entropy_keys_repaired_total", "local copies changed by anti-entropy",
          node.ae_keys_repaired);
  counter("ringkv_merkle_trees_built_total", "Merkle trees built from a scan of the data",
          node.merkle_builds);
  counter("ringkv_layout_changes_total", "cluster states adopted with a new layout or table",
          node.layout_changes);
  counter("ringkv_layout_flips_total", "targets this node committed as the layout",
          node.layout_flips);
  counter("ringkv_transfer_chunks_total", "partition stream chunks merged here",
          node.transfer_chunks);
  counter("ringkv_transfer_backoffs_total",
          "times the streaming throttle halved its rate for slower foreground writes",
          node.transfer_backoffs);
  counter("ringkv_transfer_keys_total", "keys received by partition streaming", node.transfer_keys);
  counter("ringkv_transfer_bytes_total", "bytes received by partition streaming",
          node.transfer_bytes);
  counter("ringkv_transfers_done_total", "(store, partition)s received and verified",
          node.transfers_done);
  counter("ringkv_transfers_lost_total", "(store, partition)s with no surviving replica to copy",
          node.transfers_lost);
  counter("ringkv_stream_chunks_served_total", "partition stream chunks sent to new replicas",
          node.stream_chunks_served);
  counter("ringkv_partitions_dropped_total", "copies dropped after they moved away",
          node.partitions_dropped);
  counter("ringkv_extra_writes_total", "writes also sent to a new replica during a move",
          node.extra_writes);
  counter("ringkv_generation_jumps_total",
          "times this node heard a newer generation of itself (an earlier start the members "
          "remember) and moved its own past it",
          node.generation_jumps);
  counter("ringkv_heartbeats_refused_total",
          "heartbeats whose generation or counter is beyond any clock (forged or corrupt)",
          node.heartbeats_refused);
  counter("ringkv_layout_deltas_sent_total",
          "cluster updates whose layout went as the changes from the receiver's layout",
          node.layout_deltas_sent);
  counter("ringkv_layout_deltas_applied_total", "layout deltas received and applied",
          node.layout_deltas_applied);
  counter("ringkv_layout_deltas_refused_total",
          "layout deltas dropped: this node's layout was not their base, or the result was "
          "not the layout they named (a whole layout follows by gossip)",
          node.layout_deltas_refused);
  counter("ringkv_peer_messages_refused_total",
          "peer messages dropped: from a node this cluster has no entry for, or another "
          "cluster's state",
          node.peer_messages_refused);
  counter("ringkv_peer_messages_undecodable_total",
          "peer messages the decoder refused (malformed, or a field out of bounds)",
          node_->frames_undecodable());
  counter("ringkv_other_cluster_contacts_total",
          "nodes of another cluster that dialled this one (they count it as their member)",
          node.foreign_cluster_contacts);
  counter("ringkv_commit_groups_total", "storage write groups (group commit)", queue.groups);
  counter("ringkv_commit_batches_total", "write batches committed", queue.batches);
  counter("ringkv_fsyncs_total", "fsyncs issued", queue.syncs);
  counter("ringkv_writes_refused_for_space_total",
          "write batches refused while the disk was nearly full", queue.refused_for_space);
  if (peers_ != nullptr) {
    const net::PeerTransport::Stats peers = peers_->stats();
    counter("ringkv_peer_frames_dropped_total",
            "peer messages not sent: queue full, peer unknown or too old", peers.frames_dropped);
    counter("ringkv_peer_connections_refused_total", "peer connections closed unserved, by reason",
            peers.refused, "{reason=\"bad_handshake_or_frame\"}");
    counter("ringkv_peer_connections_refused_total", "", peers.other_cluster,
            "{reason=\"other_cluster\"}");
    counter("ringkv_peer_connections_refused_total", "", peers.tls_refused, "{reason=\"tls\"}");
    counter("ringkv_peer_connections_refused_total", "", peers.identity_refused,
            "{reason=\"identity\"}");
    counter("ringkv_peer_connections_refused_total", "", peers.inbound_over_cap,
            "{reason=\"over_cap\"}");
    counter("ringkv_peer_connections_refused_total", "", peers.handshake_timeouts,
            "{reason=\"handshake_timeout\"}");
    counter("ringkv_peer_connections_refused_total", "", peers.idle_closed, "{reason=\"idle\"}");
    counter("ringkv_peer_connections_refused_total", "", peers.receive_budget_refused,
            "{reason=\"receive_budget\"}");
    text += fmt::format(
        "# HELP ringkv_peer_connections_open peer connections accepted and open\n"
        "# TYPE ringkv_peer_connections_open gauge\nringkv_peer_connections_open {}\n",
        peers.inbound_open);
  }
  const ClusterNode::HintTotals hints = node_->hint_totals();
  text += fmt::format(
      "# HELP ringkv_hints_pending hints held here, not yet handed off\n"
      "# TYPE ringkv_hints_pending gauge\nringkv_hints_pending {}\n"
      "# HELP ringkv_hint_bytes_pending bytes of hints held here\n"
      "# TYPE ringkv_hint_bytes_pending gauge\nringkv_hint_bytes_pending {}\n",
      hints.count, hints.bytes);
  text += fmt::format(
      "# HELP ringkv_writes_refused 1 while storage failure fences writes\n"
      "# TYPE ringkv_writes_refused gauge\nringkv_writes_refused {}\n"
      "# HELP ringkv_disk_nearly_full 1 while writes are refused for want of disk space\n"
      "# TYPE ringkv_disk_nearly_full gauge\nringkv_disk_nearly_full {}\n",
      node_->write_fence().ok() ? 0 : 1, node_->write_queue().refusing().ok() ? 0 : 1);
  HttpResponse response;
  response.headers.push_back({"Content-Type", "text/plain; version=0.0.4"});
  response.body = std::move(text);
  return response;
}

}  // namespace ringkv
