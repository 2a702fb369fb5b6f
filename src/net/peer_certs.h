// Certificates of a cluster's peer port (mutual TLS between nodes).
//
// A cluster has a CA of its own (`ringkv cert ca`): an EC P-256 key and a
// self-signed certificate allowed to sign only end certificates. Each node
// gets a certificate from it (`ringkv cert node --id ID`) whose subject
// common name is its node id, with the id and any hosts given as subject
// alternative names (so the same certificate can also serve HTTPS) and
// both the server and the client usage: the peer transport accepts a peer
// only with a certificate from the cluster CA, and takes the node id from
// that certificate, not from what the peer says (net/peer_transport.h).
//
// Files, in the directory given: ca.crt, ca.key, ID.crt, ID.key (keys mode
// 0600). Nothing is ever overwritten.
//
// Thread safety: pure functions over files.
#pragma once

#include <openssl/ssl.h>

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace ringkv::net {

struct IssuedFiles {
  std::string certificate;
  std::string key;
};

// Creates DIR/ca.crt and DIR/ca.key (creating DIR), valid for `days`.
Result<IssuedFiles> create_cluster_ca(const std::string& directory, int days = 3650);

// Issues DIR/ID.crt and DIR/ID.key for node `node_id`, signed by DIR/ca.crt
// and DIR/ca.key; `hosts` (IP addresses or DNS names) become alternative
// names beside the id.
Result<IssuedFiles> issue_node_certificate(const std::string& directory, const std::string& node_id,
                                           const std::vector<std::string>& hosts, int days = 825);

// Revokes the certificate at `certificate_path` (issued by DIR/ca.crt): adds
// its serial to the cluster's revocation list DIR/ca.crl (made if absent,
// signed by DIR/ca.key, valid for ten years) and rewrites it atomically.
// Nodes given the list (serve --peer-crl) refuse that certificate from
// their next start or SIGHUP on. Returns the list's path.
Result<std::string> revoke_certificate(const std::string& directory,
                                       const std::string& certificate_path);

// The node id of the certificate the other side of `ssl` presented (its
// subject common name), or nullopt when it presented none.
std::optional<std::string> peer_certificate_node_id(SSL* ssl);

}  // namespace ringkv::net
