// Unit tests of the peer transport on loopback: frames arrive in order both
// ways, a peer that restarts is reconnected, and bad peers are refused.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <thread>

#include "net/peer_transport.h"

namespace ringkv::net {
namespace {

using namespace std::chrono_literals;

struct Received {
  std::vector<std::pair<std::string, std::string>> frames;
};

std::unique_ptr<PeerTransport> start(EventLoop& loop, const std::string& id, Received& received,
                                     uint16_t port = 0, uint32_t version = kPeerProtocolVersion) {
  PeerTransportOptions options;
  options.self_id = id;
  options.port = port;
  options.protocol_version = version;
  options.frame_bytes_max = 1024;
  options.backoff_min = 10ms;
  options.backoff_max = 50ms;
  auto transport = PeerTransport::start(loop, options,
                                        [&received](const std::string& from, std::string payload) {
                                          received.frames.emplace_back(from, std::move(payload));
                                        });
  EXPECT_TRUE(transport.ok()) << transport.status().message();
  return std::move(transport).value();
}

std::string address(const PeerTransport& transport) {
  return "127.0.0.1:" + std::to_string(transport.port());
}

// Runs the loop until `done` or a 10 s guard (a hang fails the test, not CI).
bool run_until(EventLoop& loop, const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + 10s;
  // A timer ticks meanwhile, so that the guard is looked at even when
  // nothing else happens.
  boost::asio::steady_timer tick(loop.context());
  std::function<void()> rearm = [&] {
    tick.expires_after(50ms);
    tick.async_wait([&](const boost::system::error_code& error) {
      if (!error)
        rearm();
    });
  };
  rearm();
  loop.run_until([&] { return done() || std::chrono::steady_clock::now() > give_up; });
  tick.cancel();
  return done();
}

TEST(PeerTransport, FramesArriveInOrderBothWays) {
  EventLoop loop;
  Received at_a, at_b;
  auto a = start(loop, "a", at_a);
  auto b = start(loop, "b", at_b);
  a->set_address("b", address(*b));
  b->set_address("a", address(*a));
  for (int index = 0; index < 100; ++index)
    ASSERT_TRUE(a->send("b", "frame " + std::to_string(index)));
  ASSERT_TRUE(b->send("a", std::string("\0binary\xff", 8)));
  ASSERT_TRUE(a->send("b", ""));  // an empty frame is a frame
  ASSERT_TRUE(
      run_until(loop, [&] { return at_b.frames.size() == 101 && at_a.frames.size() == 1; }));
  for (int index = 0; index < 100; ++index) {
    EXPECT_EQ(at_b.frames[index].first, "a");
    EXPECT_EQ(at_b.frames[index].second, "frame " + std::to_string(index));
  }
  EXPECT_EQ(at_b.frames[100].second, "");
  EXPECT_EQ(at_a.frames[0],
            (std::pair<std::string, std::string>{"b", std::string("\0binary\xff", 8)}));
  EXPECT_EQ(a->stats().connects, 1u);
}

TEST(PeerTransport, UnknownPeerAndFullQueueDropAndCount) {
  EventLoop loop;
  Received received;
  PeerTransportOptions options;
  options.self_id = "a";
  options.queue_bytes_max = 100;
  auto a = PeerTransport::start(loop, options, [](const std::string&, std::string) {});
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE((*a)->send("nobody", "x"));
  (*a)->set_address("b", "127.0.0.1:1");  // nothing listens there
  EXPECT_TRUE((*a)->send("b", std::string(60, 'x')));
  EXPECT_FALSE((*a)->send("b", std::string(60, 'x')));  // over 100 queued bytes
  EXPECT_EQ((*a)->stats().frames_dropped, 2u);
}

// A frame that could not go out within frame_age_max is dropped, never sent
// late (the node core's clock pruning relies on it); a fresh one still goes.
TEST(PeerTransport, AFrameOlderThanItsAgeLimitIsDroppedNotSentLate) {
  EventLoop loop;
  Received at_a, at_b;
  PeerTransportOptions options;
  options.self_id = "a";
  options.backoff_min = 10ms;
  options.backoff_max = 20ms;
  options.frame_age_max = 100ms;
  auto a = PeerTransport::start(loop, options, [](const std::string&, std::string) {});
  ASSERT_TRUE(a.ok());
  auto b = start(loop, "b", at_b);
  const uint16_t port = b->port();
  b.reset();  // nothing listens on b's port while the frame waits
  (*a)->set_address("b", "127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE((*a)->send("b", "stale"));
  ASSERT_TRUE(run_until(loop, [&] { return (*a)->stats().frames_expired == 1; }));
  auto b2 = start(loop, "b", at_b, port);
  ASSERT_TRUE((*a)->send("b", "fresh"));
  ASSERT_TRUE(run_until(loop, [&] { return !at_b.frames.empty(); }));
  EXPECT_EQ(at_b.frames[0].second, "fresh");
  EXPECT_EQ((*a)->stats().frames_expired, 1u);
}

TEST(PeerTransport, ReconnectsToAPeerThatRestarted) {
  EventLoop loop;
  Received at_a, at_b;
  auto a = start(loop, "a", at_a);
  auto b = start(loop, "b", at_b);
  const uint16_t port = b->port();
  a->set_address("b", address(*b));
  ASSERT_TRUE(a->send("b", "before"));
  ASSERT_TRUE(run_until(loop, [&] { return at_b.frames.size() == 1; }));
  b.reset();  // b goes away; what a sends meanwhile may be lost
  Received at_b2;
  auto b2 = start(loop, "b", at_b2, port);
  // a notices the broken connection on a write and reconnects with backoff;
  // it keeps sending until a frame gets through.
  int sent = 0;
  ASSERT_TRUE(run_until(loop, [&] {
    if (at_b2.frames.empty() && sent < 1000)
      a->send("b", "after " + std::to_string(sent++));
    return !at_b2.frames.empty();
  }));
  EXPECT_EQ(at_b2.frames[0].first, "a");
  EXPECT_GE(a->stats().connects, 2u);
}

// A raw client: speaks the handshake with `version`, then sends `bytes`.
void raw_client(uint16_t port, uint32_t version, const std::string& bytes) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  std::string hello = "RKVP";
  for (int shift = 24; shift >= 0; shift -= 8)
    hello.push_back(static_cast<char>((version >> shift) & 0xff));
  hello += std::string("\0\1x\0\0", 5);  // id "x", no cluster, dialled by address
  boost::system::error_code error;
  boost::asio::write(socket, boost::asio::buffer(hello + bytes), error);
  std::string reply(10, '\0');
  boost::asio::read(socket, boost::asio::buffer(reply), error);
}

TEST(PeerTransport, RefusesOtherVersionsAndOversizedFrames) {
  EventLoop loop;
  Received received;
  auto a = start(loop, "a", received);
  const uint16_t port = a->port();
  std::thread other_version([port] { raw_client(port, 99, std::string("\0\0\0\1z", 5)); });
  ASSERT_TRUE(run_until(loop, [&] { return a->stats().refused == 1; }));
  other_version.join();
  // A frame claiming 1 MiB (the limit here is 1 KiB) closes the connection
  // before anything is allocated or delivered.
  std::thread oversized(
      [port] { raw_client(port, kPeerProtocolVersion, std::string("\0\x10\0\0", 4)); });
  ASSERT_TRUE(run_until(loop, [&] { return a->stats().refused == 2; }));
  oversized.join();
  EXPECT_TRUE(received.frames.empty());
}

// Raw connections made on the test's thread (the kernel completes them
// against the listener's backlog; the loop accepts them when it runs).
struct RawClients {
  boost::asio::io_context io;
  std::vector<std::unique_ptr<boost::asio::ip::tcp::socket>> sockets;

  boost::asio::ip::tcp::socket& open(uint16_t port) {
    sockets.push_back(std::make_unique<boost::asio::ip::tcp::socket>(io));
    sockets.back()->connect({boost::asio::ip::make_address("127.0.0.1"), port});
    return *sockets.back();
  }
  // Whether the other side has closed `socket` (reads past the hello to EOF).
  static bool closed_by_peer(boost::asio::ip::tcp::socket& socket) {
    std::array<char, 256> scratch{};
    boost::system::error_code error;
    socket.non_blocking(true);
    for (;;) {
      socket.read_some(boost::asio::buffer(scratch), error);
      if (error == boost::asio::error::would_block)
        return false;
      if (error)
        return true;
    }
  }
};

// A hello from `id` stating `cluster` that dialled `dialled` (empty: an address).
std::string hello_of(const std::string& id, const std::string& cluster = {},
                     const std::string& dialled = {}) {
  std::string hello = "RKVP";
  for (int shift = 24; shift >= 0; shift -= 8)
    hello.push_back(static_cast<char>((kPeerProtocolVersion >> shift) & 0xff));
  hello.push_back(static_cast<char>(id.size() >> 8));
  hello.push_back(static_cast<char>(id.size() & 0xff));
  hello += id;
  hello.push_back(static_cast<char>(cluster.size()));
  hello += cluster;
  hello.push_back(static_cast<char>(dialled.size()));
  return hello + dialled;
}

PeerTransportOptions bounded_options(const std::string& id) {
  PeerTransportOptions options;
  options.self_id = id;
  options.backoff_min = 10ms;
  options.backoff_max = 50ms;
  options.handshake_timeout = 200ms;
  options.idle_timeout = 400ms;
  return options;
}

// A connection that never finishes its handshake is closed at the timeout,
// and so is one that greets and then sends nothing, or only a frame's
// header and a byte at a time (a dribble is no frame).
TEST(PeerTransport, SilentIdleAndDribblingConnectionsAreClosedAtTheirTimeouts) {
  EventLoop loop;
  auto a = PeerTransport::start(loop, bounded_options("a"), [](const std::string&, std::string) {});
  ASSERT_TRUE(a.ok());
  RawClients clients;
  auto& silent = clients.open((*a)->port());
  ASSERT_TRUE(run_until(loop, [&] { return (*a)->stats().handshake_timeouts == 1; }));
  EXPECT_TRUE(RawClients::closed_by_peer(silent));

  auto& idle = clients.open((*a)->port());
  boost::asio::write(idle, boost::asio::buffer(hello_of("x")));
  auto& dribbling = clients.open((*a)->port());
  boost::asio::write(dribbling, boost::asio::buffer(hello_of("y") + std::string("\0\0\0\x40", 4)));
  const auto started = std::chrono::steady_clock::now();
  bool dribble = true;
  loop.every(50ms, [&] {  // a byte every 50 ms: the 64-byte frame would take 3.2 s
    boost::system::error_code ignored;
    if (dribble)
      boost::asio::write(dribbling, boost::asio::buffer("z", 1), ignored);
  });
  ASSERT_TRUE(run_until(loop, [&] { return (*a)->stats().idle_closed == 2; }));
  dribble = false;
  EXPECT_LT(std::chrono::steady_clock::now() - started, 2s);  // closed while still dribbling
  EXPECT_TRUE(RawClients::closed_by_peer(idle));
  EXPECT_EQ((*a)->stats().inbound_open, 0u);
  EXPECT_EQ((*a)->stats().frames_received, 0u);
}

// At the connection cap, connections that never finish their handshake
// give way to a peer that does: its frames arrive.
TEST(PeerTransport, AFloodOfSilentConnectionsDoesNotKeepAPeerOut) {
  EventLoop loop;
  PeerTransportOptions options = bounded_options("a");
  options.inbound_max = 8;
  options.handshake_timeout = 60s;  // the cap, not the timeout, must make room
  Received at_a;
  auto a = PeerTransport::start(loop, options, [&at_a](const std::string& from, std::string p) {
    at_a.frames.emplace_back(from, std::move(p));
  });
  ASSERT_TRUE(a.ok());
  RawClients clients;
  for (int index = 0; index < 200; ++index)
    clients.open((*a)->port());
  ASSERT_TRUE(run_until(loop, [&] { return (*a)->stats().inbound_over_cap >= 192; }));
  EXPECT_LE((*a)->stats().inbound_open, 8u);
  Received at_b;
  auto b = start(loop, "b", at_b);
  b->set_address("a", "127.0.0.1:" + std::to_string((*a)->port()));
  ASSERT_TRUE(b->send("a", "through"));
  ASSERT_TRUE(run_until(loop, [&] { return at_a.frames.size() == 1; }));
  EXPECT_EQ(at_a.frames[0], (std::pair<std::string, std::string>{"b", "through"}));
}

// Partly received frames share one budget: a frame that would take more
// than the budget closes its connection; a peer's small frames still arrive.
TEST(PeerTransport, PartlyReceivedFramesStayWithinTheReceiveBudget) {
  EventLoop loop;
  PeerTransportOptions options = bounded_options("a");
  options.frame_bytes_max = 4 << 20;
  options.receive_bytes_max = 512 << 10;
  Received at_a;
  auto a = PeerTransport::start(loop, options, [&at_a](const std::string& from, std::string p) {
    at_a.frames.emplace_back(from, std::move(p));
  });
  ASSERT_TRUE(a.ok());
  RawClients clients;
  auto& greedy = clients.open((*a)->port());
  // A 3 MiB frame (within frame_bytes_max), of which 256 KiB arrive.
  boost::asio::write(greedy, boost::asio::buffer(hello_of("x") + std::string("\0\x30\0\0", 4) +
                                                 std::string(256 << 10, 'g')));
  ASSERT_TRUE(run_until(loop, [&] { return (*a)->stats().receive_budget_refused == 1; }));
  EXPECT_TRUE(RawClients::closed_by_peer(greedy));
  Received at_b;
  auto b = start(loop, "b", at_b);
  b->set_address("a", "127.0.0.1:" + std::to_string((*a)->port()));
  ASSERT_TRUE(b->send("a", std::string(100 << 10, 'b')));
  ASSERT_TRUE(run_until(loop, [&] { return at_a.frames.size() == 1; }));
  EXPECT_EQ(at_a.frames[0].second.size(), size_t{100 << 10});
}

// Nodes of two clusters never exchange a frame: both sides refuse the
// handshake, and the side that was dialled hears who did. A node in no
// cluster yet (joining) talks to either.
TEST(PeerTransport, NodesOfTwoClustersRefuseEachOther) {
  EventLoop loop;
  Received at_a, at_b, at_c;
  std::vector<std::pair<std::string, std::string>> dialled_b;
  auto make = [&](const std::string& id, const std::string& cluster, Received& received) {
    PeerTransportOptions options = bounded_options(id);
    options.cluster_id = cluster;
    if (id == "b") {
      options.on_other_cluster = [&dialled_b](const std::string& peer, const std::string& theirs) {
        dialled_b.emplace_back(peer, theirs);
      };
    }
    auto transport =
        PeerTransport::start(loop, options, [&received](const std::string& from, std::string p) {
          received.frames.emplace_back(from, std::move(p));
        });
    EXPECT_TRUE(transport.ok());
    return std::move(transport).value();
  };
  auto a = make("a", "cluster-a", at_a);
  auto b = make("b", "cluster-b", at_b);
  auto c = make("c", "", at_c);
  a->set_address("b", address(*b));
  c->set_address("a", address(*a));
  c->set_address("b", address(*b));
  ASSERT_TRUE(a->send("b", "crosses clusters"));
  ASSERT_TRUE(run_until(loop, [&] { return !dialled_b.empty() && a->stats().other_cluster > 0; }));
  EXPECT_EQ(dialled_b[0], (std::pair<std::string, std::string>{"a", "cluster-a"}));
  ASSERT_TRUE(c->send("a", "joining"));
  ASSERT_TRUE(c->send("b", "joining"));
  ASSERT_TRUE(run_until(loop, [&] { return at_a.frames.size() == 1 && at_b.frames.size() == 1; }));
  EXPECT_EQ(at_b.frames[0].first, "c") << "nothing of a's reached b";
  // c joins cluster-a: its new connections state it, and b refuses them.
  c->set_cluster("cluster-a");
  Received at_b2;
  b.reset();
  b = make("b2", "cluster-b", at_b2);
  c->set_address("b", address(*b));
  ASSERT_TRUE(c->send("b", "after joining a"));
  ASSERT_TRUE(run_until(loop, [&] { return b->stats().other_cluster > 0; }));
  EXPECT_TRUE(at_b2.frames.empty());
}

// A node hears that another cluster counts it as a member only from a node
// that dialled it by its own id: one that dialled an address it was given
// (a misconfigured seed list) knows nothing of this node.
TEST(PeerTransport, OnlyANodeThatDialledThisOneByItsIdReportsItAsItsMember) {
  EventLoop loop;
  Received received;
  std::vector<std::string> reported;
  PeerTransportOptions options = bounded_options("b");
  options.cluster_id = "cluster-b";
  options.on_other_cluster = [&reported](const std::string& peer, const std::string&) {
    reported.push_back(peer);
  };
  auto b = PeerTransport::start(loop, options, [&](const std::string& from, std::string p) {
    received.frames.emplace_back(from, std::move(p));
  });
  ASSERT_TRUE(b.ok());
  RawClients clients;
  const uint16_t port = (*b)->port();
  for (const auto& [id, dialled] : std::vector<std::pair<std::string, std::string>>{
           {"by-address", ""}, {"for-another", "n7"}, {"for-b", "b"}}) {
    boost::asio::write(clients.open(port), boost::asio::buffer(hello_of(id, "cluster-x", dialled)));
  }
  ASSERT_TRUE(run_until(loop, [&] { return (*b)->stats().other_cluster == 3; }));
  EXPECT_EQ(reported, std::vector<std::string>{"for-b"});
  EXPECT_TRUE(received.frames.empty());
}

// A node in no cluster yet accepts anyone; when it joins one, the
// connections whose hello stated another cluster are closed, and their
// frames no longer arrive.
TEST(PeerTransport, JoiningAClusterClosesConnectionsOfAnother) {
  EventLoop loop;
  Received received;
  auto a =
      PeerTransport::start(loop, bounded_options("a"), [&](const std::string& from, std::string p) {
        received.frames.emplace_back(from, std::move(p));
      });
  ASSERT_TRUE(a.ok());
  RawClients clients;
  auto& stranger = clients.open((*a)->port());
  auto& fellow = clients.open((*a)->port());
  const std::string frame = std::string("\0\0\0\2hi", 6);
  boost::asio::write(stranger, boost::asio::buffer(hello_of("x", "cluster-x") + frame));
  boost::asio::write(fellow, boost::asio::buffer(hello_of("y", "cluster-a") + frame));
  ASSERT_TRUE(run_until(loop, [&] { return received.frames.size() == 2; }));
  (*a)->set_cluster("cluster-a");
  EXPECT_EQ((*a)->stats().other_cluster, 1u);
  ASSERT_TRUE(run_until(loop, [&] { return RawClients::closed_by_peer(stranger); }));
  boost::asio::write(fellow, boost::asio::buffer(frame));
  ASSERT_TRUE(run_until(loop, [&] { return received.frames.size() == 3; }));
  EXPECT_EQ(received.frames.back().first, "y");
  EXPECT_FALSE(RawClients::closed_by_peer(fellow));
}

}  // namespace
}  // namespace ringkv::net
