// Peer message helpers; see messages.h.
#include "cluster/messages.h"

namespace ringkv {

std::string_view message_name(const PeerMessage& message) {
  static constexpr std::string_view kNames[] = {
      "replica_write",      "replica_write_reply", "replica_read",
      "replica_read_reply", "forward_put",         "forward_put_reply",
      "create_store",       "create_store_reply",  "join_request",
      "join_reply",         "cluster_update",      "gossip",
      "ae_roots",           "ae_leaves",           "ae_sync",
      "ae_sync_reply",      "tombstone_check",     "tombstone_check_reply",
      "tombstone_reap",     "stream_request",      "stream_chunk",
      "prune_check",        "prune_check_reply",   "clock_prune"};
  static_assert(std::size(kNames) == std::variant_size_v<PeerMessage>);
  return kNames[message.index()];
}

}  // namespace ringkv
