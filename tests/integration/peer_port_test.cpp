// Integration tests of the peer port's bounds with real processes: a flood
// of connections that never finish their handshake keeps no member out and
// stops no client, and each is closed at the handshake timeout.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
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
      [&] {
        return metric(*nodes_[0], "ringkv_peer_connections_open") <= members_connections + 1;
      },
      30))
      << metric(*nodes_[0], "ringkv_peer_connections_open");
}

}  // namespace
}  // namespace ringkv
