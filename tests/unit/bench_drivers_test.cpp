// Unit tests of cli/bench_drivers.h: the RESP command encoder and reply
// parser (OK, bulk, nil, error, truncated and malformed replies) and how SET
// and GET replies are judged; the etcd request bodies and range-answer
// parser; Redis addresses; the Redis driver against a canned-reply socket
// and, when redis-server is installed, against a real one.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cli/bench_drivers.h"
#include "common/base64url.h"

namespace ringkv::bench {
namespace {

using ::testing::HasSubstr;

// The whole of `bytes` as one reply; fails the test when it is not.
RespReply parse_one(std::string_view bytes) {
  size_t consumed = 0;
  auto parsed = parse_resp_reply(bytes, &consumed);
  EXPECT_TRUE(parsed.ok()) << parsed.status().message();
  if (!parsed.ok() || !parsed->has_value()) {
    ADD_FAILURE() << "incomplete: " << bytes;
    return {};
  }
  EXPECT_EQ(consumed, bytes.size());
  return **parsed;
}

bool incomplete(std::string_view bytes) {
  size_t consumed = 0;
  auto parsed = parse_resp_reply(bytes, &consumed);
  return parsed.ok() && !parsed->has_value();
}

bool is_malformed(std::string_view bytes) {
  size_t consumed = 0;
  auto parsed = parse_resp_reply(bytes, &consumed);
  return !parsed.ok() && parsed.status().message().starts_with("malformed Redis reply");
}

TEST(BenchDrivers, ParsesSystems) {
  for (System system : {System::ringkv, System::etcd, System::redis}) {
    auto parsed = parse_system(system_name(system));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, system);
  }
  auto bad = parse_system("mysql");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::invalid_argument);
  EXPECT_THAT(bad.status().message(), HasSubstr("ringkv, etcd or redis"));
}

TEST(BenchDrivers, EncodesRespCommands) {
  EXPECT_EQ(resp_command({"GET", "user1"}), "*2\r\n$3\r\nGET\r\n$5\r\nuser1\r\n");
  EXPECT_EQ(resp_command({"SET", "k", ""}), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  // Binary-safe: the length, not a terminator, delimits an argument.
  const std::string binary("a\r\n\0b", 5);
  EXPECT_EQ(resp_command({"SET", "k", binary}),
            std::string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na\r\n\0b\r\n", 31));
  // A command encoding parses back as an array of its arguments.
  EXPECT_EQ(parse_one(resp_command({"SET", "k", binary})).type, RespReply::Type::array);
}

TEST(BenchDrivers, ParsesRespReplies) {
  RespReply ok = parse_one("+OK\r\n");
  EXPECT_EQ(ok.type, RespReply::Type::simple);
  EXPECT_EQ(ok.text, "OK");
  RespReply bulk = parse_one("$5\r\nhe\r\no\r\n");
  EXPECT_EQ(bulk.type, RespReply::Type::bulk);
  EXPECT_EQ(bulk.text, "he\r\no");
  RespReply empty = parse_one("$0\r\n\r\n");
  EXPECT_EQ(empty.type, RespReply::Type::bulk);
  EXPECT_EQ(empty.text, "");
  EXPECT_EQ(parse_one("$-1\r\n").type, RespReply::Type::nil);
  EXPECT_EQ(parse_one("*-1\r\n").type, RespReply::Type::nil);
  RespReply error = parse_one("-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(error.type, RespReply::Type::error);
  EXPECT_EQ(error.text, "ERR wrong number of arguments for 'get' command");
  RespReply integer = parse_one(":-42\r\n");
  EXPECT_EQ(integer.type, RespReply::Type::integer);
  EXPECT_EQ(integer.text, "-42");
  RespReply array = parse_one("*2\r\n$1\r\na\r\n*1\r\n:1\r\n");
  EXPECT_EQ(array.type, RespReply::Type::array);
  EXPECT_EQ(array.text, "2");
}

TEST(BenchDrivers, ReportsHowMuchOneReplyTook) {
  size_t consumed = 0;
  auto parsed = parse_resp_reply("+OK\r\n$-1\r\n", &consumed);
  ASSERT_TRUE(parsed.ok());
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ(consumed, 5u);
}

TEST(BenchDrivers, TruncatedRepliesAskForMore) {
  const std::string whole[] = {"+OK\r\n", "$5\r\nhello\r\n", "$-1\r\n", "-ERR x\r\n",
                               "*2\r\n$1\r\na\r\n:7\r\n"};
  for (const std::string& reply : whole) {
    for (size_t length = 0; length < reply.size(); ++length)
      EXPECT_TRUE(incomplete(reply.substr(0, length))) << reply << " cut at " << length;
  }
}

TEST(BenchDrivers, RejectsMalformedReplies) {
  EXPECT_TRUE(is_malformed("OK\r\n"));                  // no type byte
  EXPECT_TRUE(is_malformed("!3\r\nabc\r\n"));           // a RESP3 type
  EXPECT_TRUE(is_malformed("+OK\n"));                   // bare LF
  EXPECT_TRUE(is_malformed("+OK\rX"));                  // CR without LF
  EXPECT_TRUE(is_malformed("$abc\r\n"));                // length not a number
  EXPECT_TRUE(is_malformed("$\r\n"));                   // no length
  EXPECT_TRUE(is_malformed("$-2\r\n"));                 // below -1
  EXPECT_TRUE(is_malformed("$+3\r\nabc\r\n"));          // a sign Redis never sends
  EXPECT_TRUE(is_malformed("$3\r\nabcd\r\n"));          // longer than said
  EXPECT_TRUE(is_malformed("$3\r\nabXY"));              // not followed by CRLF
  EXPECT_TRUE(is_malformed("$99999999999\r\n"));        // over 512 MiB
  EXPECT_TRUE(is_malformed(":12a\r\n"));                // integer not a number
  EXPECT_TRUE(is_malformed("*1\r\n?\r\n"));             // a bad element
  EXPECT_TRUE(is_malformed(std::string(70'000, '+')));  // a line without end
}

TEST(BenchDrivers, JudgesSetReplies) {
  EXPECT_TRUE(redis_set_result(parse_one("+OK\r\n")).ok());
  const Status error = redis_set_result(parse_one("-OOM command not allowed\r\n"));
  ASSERT_FALSE(error.ok());
  EXPECT_THAT(error.message(), HasSubstr("OOM command not allowed"));
  for (std::string_view other : {"+QUEUED\r\n", "$2\r\nOK\r\n", ":1\r\n", "$-1\r\n"}) {
    const Status status = redis_set_result(parse_one(other));
    ASSERT_FALSE(status.ok()) << other;
    EXPECT_THAT(status.message(), HasSubstr("malformed Redis reply")) << other;
  }
}

TEST(BenchDrivers, JudgesGetReplies) {
  auto found = redis_get_result(parse_one("$3\r\nabc\r\n"));
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(*found);
  auto missing = redis_get_result(parse_one("$-1\r\n"));
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);
  auto error = redis_get_result(
      parse_one("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"));
  ASSERT_FALSE(error.ok());
  EXPECT_THAT(error.status().message(), HasSubstr("WRONGTYPE Operation"));
  for (std::string_view other : {"+OK\r\n", ":0\r\n", "*0\r\n"}) {
    auto status = redis_get_result(parse_one(other));
    ASSERT_FALSE(status.ok()) << other;
    EXPECT_THAT(status.status().message(), HasSubstr("malformed Redis reply")) << other;
  }
}

TEST(BenchDrivers, ParsesRedisAddresses) {
  auto plain = parse_redis_address("127.0.0.1:6380");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->host, "127.0.0.1");
  EXPECT_EQ(plain->port, 6380);
  auto url = parse_redis_address("redis://localhost:7000/");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->port, 7000);
  auto bare = parse_redis_address("redis.example");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->port, 6379);
  auto v6 = parse_redis_address("[::1]:6390");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 6390);
  for (std::string_view bad : {"", ":6379", "host:", "host:0", "host:65536", "host:x",
                               "http://host:1", "::1:6379", "[::1", "[::1]x"}) {
    EXPECT_FALSE(parse_redis_address(bad).ok()) << bad;
  }
}

TEST(BenchDrivers, EncodesEtcdBodies) {
  const std::string value("v\0\"\\", 4);
  const std::string put = etcd_put_body("user1", value);
  const boost::json::object parsed = boost::json::parse(put).as_object();
  EXPECT_EQ(base64_decode(std::string(parsed.at("key").as_string())), "user1");
  EXPECT_EQ(base64_decode(std::string(parsed.at("value").as_string())), value);
  EXPECT_EQ(parsed.size(), 2u);
  EXPECT_EQ(etcd_range_body("k1"), R"({"key":"azE="})");
}

TEST(BenchDrivers, ParsesEtcdRangeAnswers) {
  auto found = parse_etcd_range(
      R"({"header":{"cluster_id":"1","revision":"5"},"kvs":[{"key":"azE=","value":"eA==",)"
      R"("create_revision":"2","mod_revision":"5","version":"4"}],"count":"1"})");
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(*found);
  auto missing = parse_etcd_range(R"({"header":{"cluster_id":"1","revision":"5"}})");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(*missing);
  auto empty = parse_etcd_range(R"({"kvs":[]})");
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(*empty);
  for (std::string_view bad :
       {"", "{", "[]", "\"kvs\"", R"({"kvs":{}})", R"({"kvs":1})", R"({"header":{}} trailing)"}) {
    auto parsed = parse_etcd_range(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("malformed etcd range answer")) << bad;
  }
}

// A listening socket on 127.0.0.1 with a kernel-chosen port.
struct Listener {
  int fd = -1;
  uint16_t port = 0;
  Listener() {
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    EXPECT_EQ(::listen(fd, 4), 0);
    socklen_t length = sizeof address;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
    port = ntohs(address.sin_port);
  }
  ~Listener() { ::close(fd); }
};

// Accepts one connection, reads one request, sends `reply`, then closes
// (`close`) or holds the connection until the test ends.
Status driver_against(std::string reply, bool close, bool write, uint32_t timeout_ms = 5'000) {
  Listener listener;
  std::thread server([&] {
    const int connection = ::accept(listener.fd, nullptr, nullptr);
    char buffer[4096];
    [[maybe_unused]] ssize_t ignored = ::recv(connection, buffer, sizeof buffer, 0);
    ignored = ::send(connection, reply.data(), reply.size(), MSG_NOSIGNAL);
    if (!close)
      std::this_thread::sleep_for(std::chrono::milliseconds(timeout_ms + 500));
    ::close(connection);
  });
  auto driver = make_redis_driver({"127.0.0.1", listener.port}, timeout_ms);
  Status status = write ? driver->write("k", "v", {}) : driver->read("k", nullptr);
  server.join();
  return status;
}

TEST(BenchDrivers, RedisDriverJudgesWhatTheSocketSays) {
  EXPECT_TRUE(driver_against("+OK\r\n", true, true).ok());
  EXPECT_TRUE(driver_against("$-1\r\n", true, false).ok());
  EXPECT_TRUE(driver_against("$1\r\nv\r\n", true, false).ok());
  const Status error = driver_against("-ERR unknown command\r\n", true, true);
  ASSERT_FALSE(error.ok());
  EXPECT_THAT(error.message(), HasSubstr("ERR unknown command"));
  const Status truncated = driver_against("$5\r\nab", true, false);
  ASSERT_FALSE(truncated.ok());
  EXPECT_THAT(truncated.message(), HasSubstr("closed in the middle of a reply"));
  const Status garbage = driver_against("HTTP/1.1 400 Bad Request\r\n\r\n", true, false);
  ASSERT_FALSE(garbage.ok());
  EXPECT_THAT(garbage.message(), HasSubstr("malformed Redis reply"));
  const Status extra = driver_against("+OK\r\n+OK\r\n", true, true);
  ASSERT_FALSE(extra.ok());
  EXPECT_THAT(extra.message(), HasSubstr("bytes after the reply"));
  const Status silent = driver_against("", false, false, 200);  // the receive timeout
  ASSERT_FALSE(silent.ok());
  EXPECT_EQ(silent.code(), Code::unavailable);
}

TEST(BenchDrivers, RedisDriverReportsARefusedConnection) {
  uint16_t port = 0;
  {
    Listener listener;  // closed again: nothing listens on the port
    port = listener.port;
  }
  auto driver = make_redis_driver({"127.0.0.1", port}, 1'000);
  const Status status = driver->read("k", nullptr);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Code::unavailable);
  EXPECT_THAT(status.message(), HasSubstr("connect"));
}

TEST(BenchDrivers, RedisDriverAgainstARealServer) {
  if (std::system("command -v redis-server >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "redis-server is not installed (scripts/setup.sh --bench)";
  uint16_t port = 0;
  {
    Listener listener;
    port = listener.port;
  }
  char pattern[] = "/tmp/ringkv-redis-test.XXXXXX";
  ASSERT_NE(::mkdtemp(pattern), nullptr);
  const std::string dir = pattern;
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string port_text = std::to_string(port);
    ::execlp("redis-server", "redis-server", "--port", port_text.c_str(), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", dir.c_str(), "--logfile",
             (dir + "/redis.log").c_str(), nullptr);
    ::_exit(127);
  }
  auto driver = make_redis_driver({"127.0.0.1", port}, 2'000);
  Status ready(Code::unavailable, "not started");
  for (int attempt = 0; attempt < 100 && !ready.ok(); ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ready = driver->read("absent", nullptr);
  }
  EXPECT_TRUE(ready.ok()) << ready.message();
  if (ready.ok()) {
    std::string context = "stale";
    EXPECT_TRUE(driver->read("user1", &context).ok());
    EXPECT_EQ(context, "");  // Redis has none
    const std::string value("x\r\n\0y", 5);
    EXPECT_TRUE(driver->write("user1", value, {}).ok());
    EXPECT_TRUE(driver->read("user1", nullptr).ok());
    // A second connection sees the write.
    auto other = make_redis_driver({"127.0.0.1", port}, 2'000);
    EXPECT_TRUE(other->write("user2", "v", {}).ok());
    EXPECT_TRUE(other->read("user1", nullptr).ok());
  }
  ::kill(pid, SIGTERM);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ringkv::bench
