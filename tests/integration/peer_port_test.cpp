// Integration tests of the peer port's bounds with real processes: a flood
// of connections that never finish their handshake keeps no member out and
// stops no client, and each is closed at the handshake timeout.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster_fixture.h"

namespace ringkv {
namespace {

using namespace testing;  // ClusterTest, ServeProcess and the helpers

// `count` TCP connections to `host_port` that send nothing; closed on destruction.
class SilentConnections {
 public:
  SilentConnections(const std::string& host_port, int count) {
    const size_t colon = host_port.rfind(':');
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1))));
    ::inet_pton(AF_INET, host_port.substr(0, colon).c_str(), &address.sin_addr);
    for (int index = 0; index < count; ++index) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      if (fd < 0)
        break;
      if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        break;
      }
      fds_.push_back(fd);
    }
  }
  ~SilentConnections() {
    for (int fd : fds_)
      ::close(fd);
  }
  size_t size() const { return fds_.size(); }

 private:
  std::vector<int> fds_;
};

// As many descriptors as the hard limit allows (the test holds thousands of
// connections; the nodes raise their own limits the same way).
rlim_t raise_file_limit() {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
  ::getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

TEST_F(ClusterTest, TenThousandSilentPeerConnectionsKeepNoMemberOrClientOut) {
  const rlim_t files = raise_file_limit();
  // 10,000 where the limit allows (leaving room for the test's own files).
  const int count = static_cast<int>(std::min<rlim_t>(10'000, files > 600 ? files - 500 : 100));
  const std::string n1_peer = peer_address_seen(*nodes_[0], "n1");
  ASSERT_FALSE(n1_peer.empty());
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("s", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  // n2 stops, so that it must make new connections to n1 through the flood.
  ASSERT_EQ(nodes_[1]->stop(), 0) << nodes_[1]->output();
  ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], "n2") == "down"; }, 30));

  // The members' connections (n3's, and the one it joined through).
  const int64_t members_connections = metric(*nodes_[0], "ringkv_peer_connections_open");
  ASSERT_GE(members_connections, 1);
  SilentConnections flood(n1_peer, count);
  ASSERT_EQ(flood.size(), static_cast<size_t>(count)) << "the test could not open its connections";
  // n1 holds at most its cap open and still serves clients.
  auto put = first.put("s", "during-flood", "v");
  ASSERT_TRUE(put.ok()) << put.status().to_string() << nodes_[0]->output();
  const int64_t open = metric(*nodes_[0], "ringkv_peer_connections_open");
  EXPECT_GE(open, 0);
  EXPECT_LE(open, 1024);
  // n2 comes back: its connections to n1 get through while the flood holds.
  ASSERT_TRUE(nodes_[1]->start()) << nodes_[1]->output();
  ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], "n2") == "up"; }, 30))
      << nodes_[0]->output();
  auto got = client_for(*nodes_[1]).get("s", "during-flood");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(values(*got), (std::vector<std::string>{"v"}));
  // None of the flood finished a handshake: each is closed at its timeout
  // (5 s); what stays open is the members' (n2's new one too).
  EXPECT_TRUE(eventually(
      [&] { return metric(*nodes_[0], "ringkv_peer_connections_open") <= members_connections + 1; },
      30))
      << metric(*nodes_[0], "ringkv_peer_connections_open");
}

// A node of another cluster listening where a member used to be (an
// address reused, a config copied): the members dial it and both sides
// refuse the connection, saying so in the log and in `cluster status`;
// nothing crosses, and both clusters keep serving.
TEST_F(ClusterTest, ANodeOfAnotherClusterWhereAMemberWasIsRefusedOnBothSides) {
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("s", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  ASSERT_TRUE(first.put("s", "k", "ours").ok());
  const std::string n3_peer = peer_address_seen(*nodes_[0], "n3");
  ASSERT_FALSE(n3_peer.empty());
  ASSERT_EQ(nodes_[2]->stop(), 0) << nodes_[2]->output();
  // x1 forms a cluster of its own, then restarts (no longer a fresh founder)
  // on n3's peer address.
  const std::vector<std::string> other = {"serve",       "--node-id",        "x1",
                                          "--data-dir",  directory_ + "/x1", "--listen-http",
                                          "127.0.0.1:0", "--listen-peer",    "127.0.0.1:0"};
  auto stranger = std::make_unique<ServeProcess>(other);
  ASSERT_TRUE(stranger->start()) << stranger->output();
  ASSERT_EQ(stranger->stop(), 0) << stranger->output();
  std::vector<std::string> moved = other;
  moved.back() = n3_peer;
  stranger = std::make_unique<ServeProcess>(moved);
  ASSERT_TRUE(stranger->start()) << stranger->output();

  const std::string ours = std::string(cluster_view(*nodes_[0]).at("cluster_id").as_string());
  const std::string theirs = std::string(cluster_view(*stranger).at("cluster_id").as_string());
  EXPECT_EQ(ours.size(), 32u);
  EXPECT_NE(ours, theirs);
  auto refused = [](const boost::json::value& view) {
    return view.is_object() ? view.at("refused").at("other_cluster_connections").as_int64() : -1;
  };
  ASSERT_TRUE(eventually([&] {
    return refused(cluster_view(*nodes_[0])) > 0 && refused(cluster_view(*stranger)) > 0;
  })) << stranger->output();
  EXPECT_NE(nodes_[0]->output().find("belongs to cluster '" + theirs + "'"), std::string::npos)
      << nodes_[0]->output();
  EXPECT_NE(stranger->output().find("belongs to cluster '" + ours + "'"), std::string::npos)
      << stranger->output();
  const auto [code, status] = run_cli("cluster status --server " + nodes_[0]->url());
  EXPECT_EQ(code, 0) << status;
  EXPECT_NE(status.find("cluster " + ours), std::string::npos) << status;
  EXPECT_NE(status.find("connections from nodes of another cluster"), std::string::npos) << status;
  // Nothing crossed: x1 knows no member of ours, and both keep serving.
  EXPECT_EQ(cluster_view(*stranger).at("members").as_array().size(), 1u);
  EXPECT_EQ(cluster_view(*nodes_[0]).at("members").as_array().size(), 3u);
  auto got = first.get("s", "k");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(values(*got), (std::vector<std::string>{"ours"}));
  KvClient x1 = client_for(*stranger);
  ASSERT_TRUE(x1.create_store("t", StoreConfig{.n = 1, .r = 1, .w = 1}).ok());
  EXPECT_TRUE(x1.put("t", "k", "theirs").ok()) << "a healthy node of its own cluster";
}

// A cluster whose nodes speak mutual TLS with certificates of one CA
// (`ringkv cert`), and a second CA whose certificates it must refuse.
class MutualTlsClusterTest : public ClusterTest {
 protected:
  MutualTlsClusterTest() {
    certs_ = make_temp_directory("certs");
    EXPECT_EQ(run_cli("cert ca --dir " + certs_).first, 0);
    EXPECT_EQ(run_cli("cert ca --dir " + certs_ + "/other").first, 0);
    for (int index = 1; index <= 4; ++index)
      EXPECT_EQ(run_cli(fmt::format("cert node --dir {} --id n{}", certs_, index)).first, 0);
    EXPECT_EQ(run_cli(fmt::format("cert node --dir {}/other --id n4", certs_)).first, 0);
    per_node_arguments_ = [this](int index) {
      return peer_flags(certs_, fmt::format("n{}", index));
    };
  }
  ~MutualTlsClusterTest() override { std::filesystem::remove_all(certs_); }

  static std::vector<std::string> peer_flags(const std::string& directory, const std::string& id) {
    return {"--peer-ca",   directory + "/ca.crt",
            "--peer-cert", directory + "/" + id + ".crt",
            "--peer-key",  directory + "/" + id + ".key"};
  }
  // The count of peer connections `node` refused for `reason` (/metrics).
  int64_t refused_for(ServeProcess& node, const std::string& reason) {
    return metric_line(
        node, fmt::format("ringkv_peer_connections_refused_total{{reason=\"{}\"}}", reason));
  }
  int64_t metric_line(ServeProcess& node, const std::string& series) {
    auto response = client_for(node).send({"GET", "/metrics", {}, {}});
    if (!response.ok())
      return -1;
    const size_t at = response->body.find("\n" + series + " ");
    return at == std::string::npos ? -1 : std::stoll(response->body.substr(at + series.size() + 2));
  }

  std::string certs_;
};

TEST_F(MutualTlsClusterTest, MembersSpeakMutualTlsAndANodeOfAnotherCaCannotJoin) {
  EXPECT_NE(nodes_[0]->output().find("peers: mutual TLS"), std::string::npos)
      << nodes_[0]->output();
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("s", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  ASSERT_TRUE(first.put("s", "k", "over tls").ok());
  auto got = client_for(*nodes_[2]).get("s", "k");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(values(*got), (std::vector<std::string>{"over tls"}));
  // Certificates reload on SIGHUP, without a restart.
  nodes_[0]->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return nodes_[0]->output().find("peer certificates reloaded") != std::string::npos;
  })) << nodes_[0]->output();

  // n4 with a certificate of another CA asks to join: refused at the TLS
  // handshake, on both sides.
  std::vector<std::string> flags = {"serve",
                                    "--node-id",
                                    "n4",
                                    "--data-dir",
                                    directory_ + "/n4",
                                    "--listen-http",
                                    "127.0.0.1:0",
                                    "--listen-peer",
                                    "127.0.0.1:0",
                                    "--join",
                                    contact_};
  const std::vector<std::string> foreign = peer_flags(certs_ + "/other", "n4");
  flags.insert(flags.end(), foreign.begin(), foreign.end());
  ServeProcess stranger(flags);
  ASSERT_TRUE(stranger.start_until("TLS handshake")) << stranger.output();
  ASSERT_TRUE(eventually([&] { return refused_for(*nodes_[0], "tls") >= 1; }))
      << nodes_[0]->output();
  EXPECT_EQ(cluster_view(*nodes_[0]).at("members").as_array().size(), 3u);

  // A certificate of this CA, but for n4, cannot start a node named n2.
  const std::vector<std::string> n4 = peer_flags(certs_, "n4");
  const auto [code, output] =
      run_cli(fmt::format("serve --node-id n2 --data-dir {}/x --listen-http 127.0.0.1:0 "
                          "--listen-peer 127.0.0.1:0 --join {} {} {} {} {} {} {}",
                          directory_, contact_, n4[0], n4[1], n4[2], n4[3], n4[4], n4[5]));
  EXPECT_EQ(code, 1) << output;
  EXPECT_NE(output.find("is for node 'n4', this node is 'n2'"), std::string::npos) << output;
}

// A cluster started with the CA's revocation list (--peer-crl): a revoked
// certificate of the cluster's own CA cannot join, and a member whose
// certificate is revoked later is cut off by a SIGHUP of the others.
class RevocationTest : public MutualTlsClusterTest {
 protected:
  RevocationTest() {
    EXPECT_EQ(run_cli(fmt::format("cert revoke --dir {} --id n4", certs_)).first, 0);
    per_node_arguments_ = [this](int index) {
      std::vector<std::string> flags = peer_flags(certs_, fmt::format("n{}", index));
      flags.insert(flags.end(), {"--peer-crl", certs_ + "/ca.crl"});
      return flags;
    };
  }
};

TEST_F(RevocationTest, ARevokedCertificateCannotJoinAndARevokedMemberIsCutOffOnSighup) {
  std::vector<std::string> flags = {"serve",
                                    "--node-id",
                                    "n4",
                                    "--data-dir",
                                    directory_ + "/n4",
                                    "--listen-http",
                                    "127.0.0.1:0",
                                    "--listen-peer",
                                    "127.0.0.1:0",
                                    "--join",
                                    contact_};
  const std::vector<std::string> n4 = peer_flags(certs_, "n4");
  flags.insert(flags.end(), n4.begin(), n4.end());
  ServeProcess revoked(flags);
  // (In TLS 1.3 the dialler's handshake ends before its certificate is
  // checked: it sees the connection close, the dialled node says why.)
  ASSERT_TRUE(revoked.start_until("to admit this node")) << revoked.output();
  ASSERT_TRUE(eventually([&] { return refused_for(*nodes_[0], "tls") >= 1; }))
      << nodes_[0]->output();
  EXPECT_EQ(cluster_view(*nodes_[0]).at("members").as_array().size(), 3u);

  // n3 is revoked; n1 and n2 reload: its connections close, it cannot make
  // new ones, and the others see it down.
  ASSERT_EQ(state_seen(*nodes_[0], "n3"), "up");
  const auto [code, output] = run_cli(fmt::format("cert revoke --dir {} --id n3", certs_));
  ASSERT_EQ(code, 0) << output;
  EXPECT_NE(output.find("--peer-crl"), std::string::npos) << output;
  const int64_t refused_before = refused_for(*nodes_[0], "tls") + refused_for(*nodes_[1], "tls");
  nodes_[0]->signal(SIGHUP);
  nodes_[1]->signal(SIGHUP);
  EXPECT_TRUE(eventually([&] {
    return state_seen(*nodes_[0], "n3") == "down" && state_seen(*nodes_[1], "n3") == "down";
  })) << nodes_[0]->output();
  EXPECT_GT(refused_for(*nodes_[0], "tls") + refused_for(*nodes_[1], "tls"), refused_before);
  EXPECT_EQ(state_seen(*nodes_[0], "n2"), "up");
}

}  // namespace
}  // namespace ringkv
