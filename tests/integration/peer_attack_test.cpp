// The attacks a process that reaches the peer port could make, each sent by
// a raw peer speaking the protocol to a real node: a forged state with a
// higher layout, a join request for a member's id, a replica read, a
// heartbeat with generation 2^64 - 1, a member with an oversized address.
// Each is refused and counted, the data and the membership stay as they
// were, and the node restarts fine.
//
// Over plain TCP a peer's id is what its handshake says: these attacks come
// from a node that names itself (x9). One that names itself as a member is
// stopped only by peer mutual TLS, which binds the id to a certificate.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "cluster/messages.h"
#include "cluster_fixture.h"
#include "ring/assignment.h"
#include "wire/frame.h"
#include "wire/peer_codec.h"

namespace ringkv {
namespace {

using namespace testing;  // ClusterTest, ServeProcess and the helpers
namespace asio = boost::asio;

// A peer speaking the handshake and frames over a plain connection.
class RawPeer {
 public:
  RawPeer(const std::string& host_port, const std::string& id, const std::string& cluster)
      : socket_(io_) {
    const size_t colon = host_port.rfind(':');
    socket_.connect({asio::ip::make_address(host_port.substr(0, colon)),
                     static_cast<uint16_t>(std::stoi(host_port.substr(colon + 1)))});
    std::string hello = "RKVP";
    hello += std::string("\0\0\0\3", 4);  // protocol version 3
    hello.push_back(static_cast<char>(id.size() >> 8));
    hello.push_back(static_cast<char>(id.size() & 0xff));
    hello += id;
    hello.push_back(static_cast<char>(cluster.size()));
    hello += cluster;
    hello.push_back('\0');  // dialled by address
    asio::write(socket_, asio::buffer(hello));
  }
  void send(const PeerMessage& message) {
    asio::write(socket_, asio::buffer(frame_payload(encode_peer_message(message))));
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
};

class PeerAttackTest : public ClusterTest {
 protected:
  int64_t refused(ServeProcess& node) {
    const boost::json::value view = cluster_view(node);
    return view.is_object() ? view.at("refused").at("non_member_messages").as_int64() : -1;
  }
};

TEST_F(PeerAttackTest, EachForgedMessageIsRefusedAndTheDataAndMembershipStay) {
  KvClient first = client_for(*nodes_[0]);
  ASSERT_TRUE(first.create_store("s", StoreConfig{.n = 3, .r = 2, .w = 2}).ok());
  for (int index = 0; index < 20; ++index)
    ASSERT_TRUE(first.put("s", fmt::format("k{}", index), fmt::format("v{}", index)).ok());
  const boost::json::value before = cluster_view(*nodes_[0]);
  const std::string cluster_id(before.at("cluster_id").as_string());
  const int64_t layout_version = before.at("layout_version").as_int64();
  const std::string n2_peer = peer_address_seen(*nodes_[0], "n2");
  const std::string n1_peer = peer_address_seen(*nodes_[0], "n1");

  // The cluster id is no secret (a node's handshake states it): the forger has it.
  RawPeer forger(n1_peer, "x9", cluster_id);
  // 1. A state whose layout, far newer, gives every partition to x9:
  //    adopted, the members would hand their partitions over and drop them.
  ClusterUpdate takeover;
  takeover.cluster_id = cluster_id;
  takeover.members.push_back(
      {"x9", "127.0.0.1:1", "http://127.0.0.1:1", 1, "", MemberRole::owner, 1'000'000});
  const Layout planned =
      plan_assignment(Layout::empty(10), ring_nodes(takeover.members), 3).value().layout;
  takeover.layout = encode_layout(
      Layout::create(10, layout_version + 100, planned.nodes(), planned.width(), planned.lists())
          .value());
  forger.send(takeover);
  // 2. A join request for member n2, at the forger's address.
  forger.send(JoinRequest{1, Member{"n2", "127.0.0.1:1", "http://127.0.0.1:1", 1, ""}, true});
  // 3. A replica read of a key.
  ReplicaRead read;
  read.op = 2;
  read.store.name = "s";
  read.store.config = StoreConfig{.n = 3, .r = 2, .w = 2};
  read.key = "k1";
  forger.send(read);
  // 4. A heartbeat that would silence n2 for ever.
  forger.send(Gossip{false, 1, {Heartbeat{"n2", ~uint64_t{0}, ~uint64_t{0}}}, 0});
  // 5. A join request whose address the cluster state could not hold.
  forger.send(
      JoinRequest{3, Member{"x9", std::string(1025, 'a'), "http://127.0.0.1:1", 1, ""}, true});

  // Frames on one connection are handled in order: once the last is
  // counted, every one before it was handled.
  ASSERT_TRUE(eventually([&] {
    return metric(*nodes_[0], "ringkv_peer_messages_undecodable_total") >= 1;
  })) << nodes_[0]->output();
  auto unchanged = [&](ServeProcess& node) {
    const boost::json::value view = cluster_view(node);
    EXPECT_EQ(view.at("cluster_id").as_string(), cluster_id);
    EXPECT_EQ(view.at("layout_version").as_int64(), layout_version);
    EXPECT_EQ(view.at("members").as_array().size(), 3u);
    EXPECT_EQ(peer_address_seen(node, "n2"), n2_peer);
    EXPECT_EQ(state_seen(node, "n2"), "up");
  };
  unchanged(*nodes_[0]);
  EXPECT_EQ(refused(*nodes_[0]), 4) << "the state, the join, the read and the gossip";
  // The status and the log name the sender.
  EXPECT_EQ(cluster_view(*nodes_[0]).at("refused").at("last_non_member").as_string(), "x9");
  EXPECT_TRUE(eventually([&] {
    return nodes_[0]->output().find(
               "peer messages from nodes that are not members of this "
               "cluster (latest from 'x9'") != std::string::npos;
  }));
  // The node restarts fine and every key is there.
  ASSERT_EQ(nodes_[0]->stop(), 0) << nodes_[0]->output();
  ASSERT_TRUE(nodes_[0]->start()) << nodes_[0]->output();
  KvClient restarted = client_for(*nodes_[0]);
  ASSERT_TRUE(eventually([&] { return state_seen(*nodes_[0], "n2") == "up"; }));
  unchanged(*nodes_[0]);
  for (int index = 0; index < 20; ++index) {
    auto got = restarted.get("s", fmt::format("k{}", index));
    ASSERT_TRUE(got.ok()) << got.status().to_string();
    EXPECT_EQ(values(*got), (std::vector<std::string>{fmt::format("v{}", index)}));
  }
}

}  // namespace
}  // namespace ringkv
