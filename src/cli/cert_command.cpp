// `ringkv cert`; see cert_command.h.
#include "cli/cert_command.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "net/peer_certs.h"

namespace ringkv {
namespace {

struct CertFlags {
  std::string directory = "./ringkv-certs";
  std::string node_id;
  std::string certificate;
  std::vector<std::string> hosts;
  int days = 0;
};

int report(const Result<net::IssuedFiles>& issued, const char* what) {
  if (!issued.ok()) {
    std::fprintf(stderr, "error: %s\n", issued.status().message().c_str());
    return 1;
  }
  std::printf("%s: %s (certificate)\n%s: %s (private key: keep it secret)\n", what,
              issued->certificate.c_str(), what, issued->key.c_str());
  return 0;
}

}  // namespace

void add_cert_command(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<CertFlags>();
  CLI::App* cert = app.add_subcommand(
      "cert", "make the cluster CA and node certificates for mutual TLS between nodes");
  cert->require_subcommand(1);
  CLI::App* ca = cert->add_subcommand("ca", "create the cluster CA (ca.crt, ca.key)");
  ca->add_option("--dir", flags->directory, "directory for the files")->capture_default_str();
  ca->add_option("--days", flags->days, "validity (default 3650)");
  ca->callback([flags, &exit_code] {
    exit_code =
        report(net::create_cluster_ca(flags->directory, flags->days > 0 ? flags->days : 3650),
               "cluster CA");
    if (exit_code == 0) {
      std::printf(
          "next: `ringkv cert node --dir %s --id NODE` for each node; copy ca.crt and the "
          "node's pair to it, and keep ca.key off the nodes\n",
          flags->directory.c_str());
    }
  });
  CLI::App* node = cert->add_subcommand("node", "issue a node's certificate (ID.crt, ID.key)");
  node->add_option("--dir", flags->directory, "directory holding ca.crt and ca.key")
      ->capture_default_str();
  node->add_option("--id", flags->node_id, "the node's --node-id (the certificate names it)")
      ->required();
  node->add_option("--host", flags->hosts,
                   "an address or DNS name of the node (repeatable; for HTTPS on it too)");
  node->add_option("--days", flags->days, "validity (default 825)");
  node->callback([flags, &exit_code] {
    exit_code = report(net::issue_node_certificate(flags->directory, flags->node_id, flags->hosts,
                                                   flags->days > 0 ? flags->days : 825),
                       flags->node_id.c_str());
    if (exit_code == 0) {
      std::printf(
          "start it with: ringkv serve --node-id %s --peer-ca %s/ca.crt --peer-cert %s/%s.crt "
          "--peer-key %s/%s.key ...\n",
          flags->node_id.c_str(), flags->directory.c_str(), flags->directory.c_str(),
          flags->node_id.c_str(), flags->directory.c_str(), flags->node_id.c_str());
    }
  });
  CLI::App* revoke = cert->add_subcommand(
      "revoke", "revoke a node's certificate: add it to the CA's revocation list (ca.crl)");
  revoke->add_option("--dir", flags->directory, "directory holding ca.crt and ca.key")
      ->capture_default_str();
  revoke->add_option("--id", flags->node_id, "the node whose DIR/ID.crt to revoke");
  revoke->add_option("--cert", flags->certificate,
                     "the certificate file to revoke (instead of --id)");
  revoke->callback([flags, &exit_code] {
    if (flags->node_id.empty() == flags->certificate.empty()) {
      std::fprintf(stderr, "error: give --id or --cert (one of them)\n");
      exit_code = 1;
      return;
    }
    const std::string path = !flags->certificate.empty()
                                 ? flags->certificate
                                 : flags->directory + "/" + flags->node_id + ".crt";
    auto list = net::revoke_certificate(flags->directory, path);
    if (!list.ok()) {
      std::fprintf(stderr, "error: %s\n", list.status().message().c_str());
      exit_code = 1;
      return;
    }
    std::printf(
        "revoked %s: %s lists it. Copy it to every node and give it with --peer-crl "
        "(then `kill -HUP` the nodes: each closes its peer connections and refuses that "
        "certificate from then on)\n",
        path.c_str(), list->c_str());
    exit_code = 0;
  });
}

}  // namespace ringkv
