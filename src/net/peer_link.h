// PeerLink: how a node hands byte frames' payloads to its peers.
//
// ClusterNode (server/cluster_node.h) talks to peers only through this
// interface. Production gives it the PeerTransport (peer_transport.h: TCP,
// optionally TLS); the simulator gives it a deterministic network that frames
// and parses the same bytes (wire/frame.h). Delivery is at most once; a
// lost payload is the core's to retry (timeouts).
//
// Thread safety: the node's thread.
#pragma once

#include <string>

namespace ringkv::net {

class PeerLink {
 public:
  virtual ~PeerLink() = default;
  // Where `peer` listens ("HOST:PORT"). A changed address reconnects.
  virtual void set_address(const std::string& peer, const std::string& host_port) = 0;
  // Queues `payload` for `peer`; false when it was dropped (unknown peer, full queue).
  virtual bool send(const std::string& peer, std::string payload) = 0;
  // The id of the cluster this node belongs to (empty until it joins one):
  // nodes of two different clusters never exchange a payload.
  virtual void set_cluster(const std::string& cluster_id) = 0;
};

}  // namespace ringkv::net
