// Unit tests of peer mutual TLS (net/peer_certs.h, net/peer_transport.h):
// nodes with certificates from the cluster CA exchange frames and are known
// by the id their certificate names; a certificate from another CA, none, or
// a handshake that names another node than the certificate is refused; a
// node that answers at an address as another node than the one dialled is
// refused; the files reload without a restart.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <filesystem>
#include <thread>

#include "net/peer_certs.h"
#include "net/peer_transport.h"

namespace ringkv::net {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;

struct Received {
  std::vector<std::pair<std::string, std::string>> frames;
};

class PeerTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ =
        (std::filesystem::temp_directory_path() / ("ringkv-peer-tls-" + std::to_string(::getpid())))
            .string();
    std::filesystem::remove_all(directory_);
    ASSERT_TRUE(create_cluster_ca(directory_ + "/a").ok());
    ASSERT_TRUE(create_cluster_ca(directory_ + "/b").ok());
    for (const char* id : {"n1", "n2", "n3"})
      ASSERT_TRUE(issue_node_certificate(directory_ + "/a", id, {"127.0.0.1"}).ok());
    ASSERT_TRUE(issue_node_certificate(directory_ + "/b", "n3", {}).ok());
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  PeerTlsFiles files(const std::string& ca, const std::string& id) const {
    const std::string dir = directory_ + "/" + ca;
    return {dir + "/ca.crt", dir + "/" + id + ".crt", dir + "/" + id + ".key", ""};
  }
  Result<std::unique_ptr<PeerTransport>> start_checked(const std::string& id,
                                                       const PeerTlsFiles& tls,
                                                       Received& received) {
    PeerTransportOptions options;
    options.self_id = id;
    options.tls = tls;
    return PeerTransport::start(loop_, options,
                                [&received](const std::string& from, std::string p) {
                                  received.frames.emplace_back(from, std::move(p));
                                });
  }
  std::unique_ptr<PeerTransport> start(const std::string& id, const PeerTlsFiles& tls,
                                       Received& received) {
    PeerTransportOptions options;
    options.self_id = id;
    options.tls = tls;
    options.backoff_min = 10ms;
    options.backoff_max = 50ms;
    options.handshake_timeout = 1s;
    auto transport =
        PeerTransport::start(loop_, options, [&received](const std::string& from, std::string p) {
          received.frames.emplace_back(from, std::move(p));
        });
    EXPECT_TRUE(transport.ok()) << transport.status().to_string();
    return transport.ok() ? std::move(transport).value() : nullptr;
  }
  // Runs the loop until `done` or 10 s (a timer ticks so that the guard is seen).
  bool run_until(const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + 10s;
    asio::steady_timer tick(loop_.context());
    std::function<void()> rearm = [&] {
      tick.expires_after(20ms);
      tick.async_wait([&](const boost::system::error_code& error) {
        if (!error)
          rearm();
      });
    };
    rearm();
    loop_.run_until([&] { return done() || std::chrono::steady_clock::now() > give_up; });
    tick.cancel();
    return done();
  }
  static std::string address(const PeerTransport& transport) {
    return "127.0.0.1:" + std::to_string(transport.port());
  }

  std::string directory_;
  EventLoop loop_;
};

TEST_F(PeerTlsTest, NodesOfTheClusterCaExchangeFramesUnderTheirCertifiedIds) {
  Received at1, at2;
  auto n1 = start("n1", files("a", "n1"), at1);
  auto n2 = start("n2", files("a", "n2"), at2);
  n1->set_address("n2", address(*n2));
  n2->set_address("n1", address(*n1));
  ASSERT_TRUE(n1->send("n2", "to n2"));
  ASSERT_TRUE(n2->send("n1", "to n1"));
  ASSERT_TRUE(run_until([&] { return at1.frames.size() == 1 && at2.frames.size() == 1; }));
  EXPECT_EQ(at2.frames[0], (std::pair<std::string, std::string>{"n1", "to n2"}));
  EXPECT_EQ(at1.frames[0], (std::pair<std::string, std::string>{"n2", "to n1"}));
}

TEST_F(PeerTlsTest, ACertificateOfAnotherCaIsRefusedBothWays) {
  Received at1, at3;
  auto n1 = start("n1", files("a", "n1"), at1);
  auto stranger = start("n3", files("b", "n3"), at3);
  stranger->set_address("n1", address(*n1));
  n1->set_address("n3", address(*stranger));
  ASSERT_TRUE(stranger->send("n1", "let me in"));
  ASSERT_TRUE(n1->send("n3", "who are you"));
  ASSERT_TRUE(run_until([&] { return n1->stats().tls_refused >= 2; }));
  EXPECT_TRUE(at1.frames.empty());
  EXPECT_TRUE(at3.frames.empty());
}

TEST_F(PeerTlsTest, AStartWithACertificateForAnotherNodeIsRefused) {
  PeerTransportOptions options;
  options.self_id = "n3";
  options.tls = files("a", "n2");
  auto transport = PeerTransport::start(loop_, options, [](const std::string&, std::string) {});
  ASSERT_FALSE(transport.ok());
  EXPECT_NE(transport.status().message().find("is for node 'n2', this node is 'n3'"),
            std::string::npos)
      << transport.status().message();
}

// n2's certificate, a handshake that says n3: refused, nothing delivered.
TEST_F(PeerTlsTest, AMemberCertificateCannotSpeakForAnotherMember) {
  Received at1;
  auto n1 = start("n1", files("a", "n1"), at1);
  const uint16_t port = n1->port();
  const PeerTlsFiles n2 = files("a", "n2");
  std::thread impostor([port, n2] {
    asio::io_context io;
    asio::ssl::context context(asio::ssl::context::tls_client);
    context.load_verify_file(n2.ca_file);
    context.use_certificate_chain_file(n2.cert_file);
    context.use_private_key_file(n2.key_file, asio::ssl::context::pem);
    asio::ssl::stream<asio::ip::tcp::socket> stream(io, context);
    boost::system::error_code error;
    stream.lowest_layer().connect({asio::ip::make_address("127.0.0.1"), port}, error);
    stream.handshake(asio::ssl::stream_base::client, error);
    std::string hello = "RKVP";
    hello += std::string("\0\0\0\3\0\2n3\0\0", 10);  // version 3, "n3", no cluster, no dialled
    hello += std::string("\0\0\0\4fake", 8);         // then a frame
    asio::write(stream, asio::buffer(hello), error);
    // Until n1 closes, or 5 s (so that a failing test still ends).
    const timeval timeout{5, 0};
    ::setsockopt(stream.lowest_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &timeout,
                 sizeof timeout);
    std::array<char, 64> scratch{};
    stream.read_some(asio::buffer(scratch), error);
  });
  const bool refused = run_until([&] { return n1->stats().identity_refused == 1; });
  impostor.join();
  ASSERT_TRUE(refused);
  EXPECT_TRUE(at1.frames.empty());
}

// n1 dials "n3" at n2's address: n2 answers as itself, and n1 refuses to
// hand it n3's frames.
TEST_F(PeerTlsTest, TheNodeThatAnswersMustBeTheOneDialled) {
  Received at1, at2;
  auto n1 = start("n1", files("a", "n1"), at1);
  auto n2 = start("n2", files("a", "n2"), at2);
  n1->set_address("n3", address(*n2));
  ASSERT_TRUE(n1->send("n3", "for n3"));
  ASSERT_TRUE(run_until([&] { return n1->stats().identity_refused >= 1; }));
  EXPECT_TRUE(at2.frames.empty());
}

TEST_F(PeerTlsTest, CertificatesReloadForNewConnectionsAndABadFileChangesNothing) {
  Received at1, at2;
  auto n1 = start("n1", files("a", "n1"), at1);
  // The files n1 loaded are replaced by a certificate from another CA:
  // reloading fails (the CA file is still a's, the pair b's is for n3) and
  // n1 keeps working with what it had.
  const PeerTlsFiles live = files("a", "n1");
  std::filesystem::copy_file(directory_ + "/b/n3.crt", live.cert_file,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(directory_ + "/b/n3.key", live.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  const Status refused = n1->reload_tls();
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("is for node 'n3'"), std::string::npos) << refused.message();
  auto n2 = start("n2", files("a", "n2"), at2);
  n2->set_address("n1", address(*n1));
  ASSERT_TRUE(n2->send("n1", "still served"));
  ASSERT_TRUE(run_until([&] { return at1.frames.size() == 1; }));
  // A new certificate for n1 from the same CA takes over on reload.
  std::filesystem::remove(live.cert_file);
  std::filesystem::remove(live.key_file);
  ASSERT_TRUE(issue_node_certificate(directory_ + "/a", "n1", {}).ok());
  EXPECT_TRUE(n1->reload_tls().ok());
  n1->set_address("n2", address(*n2));
  ASSERT_TRUE(n1->send("n2", "with the new certificate"));
  ASSERT_TRUE(run_until([&] { return at2.frames.size() == 1; }));
  EXPECT_EQ(at2.frames[0].first, "n1");
}

// A node's certificate revoked (a removed node, a lost key): once its peers
// reload the revocation list, its open connections are closed, it cannot
// connect again, and the others are unaffected.
TEST_F(PeerTlsTest, ARevokedCertificateIsRefusedFromTheReloadOn) {
  const std::string ca = directory_ + "/a";
  PeerTlsFiles with_list = files("a", "n1");
  with_list.crl_file = ca + "/ca.crl";
  // No list yet: the start fails and names it.
  Received ignored;
  EXPECT_EQ(start_checked("n1", with_list, ignored).status().message().find("ca.crl") ==
                std::string::npos,
            false);
  // A list that names another certificate (n9's) first.
  ASSERT_TRUE(issue_node_certificate(ca, "n9", {}).ok());
  auto listed = revoke_certificate(ca, ca + "/n9.crt");
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(*listed, with_list.crl_file);
  Received at1, at2, at3;
  auto n1 = start("n1", with_list, at1);
  auto n2 = start("n2", files("a", "n2"), at2);
  auto n3 = start("n3", files("a", "n3"), at3);
  ASSERT_TRUE(n1 && n2 && n3);
  n2->set_address("n1", address(*n1));
  n3->set_address("n1", address(*n1));
  ASSERT_TRUE(n3->send("n1", "before"));
  ASSERT_TRUE(run_until([&] { return at1.frames.size() == 1; }));
  // n3 is revoked (twice lists it once; another CA's certificate is refused).
  ASSERT_TRUE(revoke_certificate(ca, ca + "/n3.crt").ok());
  ASSERT_TRUE(revoke_certificate(ca, ca + "/n3.crt").ok());
  EXPECT_FALSE(revoke_certificate(ca, directory_ + "/b/n3.crt").ok());
  const uint64_t refused_before = n1->stats().tls_refused + n3->stats().tls_refused;
  const size_t received_before = at1.frames.size();
  ASSERT_TRUE(n1->reload_tls().ok());
  // The reload closed both connections (a frame written on one as it closed
  // is lost: delivery is at most once), so both keep sending until n2's
  // frames arrive again and n3 has been refused.
  auto last_send = std::chrono::steady_clock::now() - 1s;
  auto keep_sending = [&] {
    if (std::chrono::steady_clock::now() - last_send > 50ms) {
      last_send = std::chrono::steady_clock::now();
      (void)n2->send("n1", "n2 after");
      (void)n3->send("n1", "n3 after");
    }
  };
  auto from = [&](const std::string& id) {
    return std::count_if(at1.frames.begin() + static_cast<ptrdiff_t>(received_before),
                         at1.frames.end(), [&](const auto& frame) { return frame.first == id; });
  };
  ASSERT_TRUE(run_until([&] {
    keep_sending();
    return from("n2") >= 3 && n1->stats().tls_refused + n3->stats().tls_refused > refused_before;
  }));
  EXPECT_EQ(from("n3"), 0) << "a revoked node's frame arrived after the reload";
}

TEST(PeerCerts, NothingIsOverwrittenAndANodeNeedsTheCa) {
  const std::string directory =
      (std::filesystem::temp_directory_path() / ("ringkv-certs-" + std::to_string(::getpid())))
          .string();
  std::filesystem::remove_all(directory);
  auto missing = issue_node_certificate(directory, "n1", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("ringkv cert ca"), std::string::npos);
  ASSERT_TRUE(create_cluster_ca(directory).ok());
  EXPECT_EQ(create_cluster_ca(directory).status().code(), Code::already_exists);
  ASSERT_TRUE(issue_node_certificate(directory, "n1", {"10.0.0.1", "node1.example"}).ok());
  EXPECT_EQ(issue_node_certificate(directory, "n1", {}).status().code(), Code::already_exists);
  EXPECT_FALSE(issue_node_certificate(directory, "../n1", {}).ok());
  EXPECT_EQ(std::filesystem::status(directory + "/n1.key").permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  std::filesystem::remove_all(directory);
}

}  // namespace
}  // namespace ringkv::net
