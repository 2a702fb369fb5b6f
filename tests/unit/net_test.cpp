// Tests of src/net: the HTTP server and client together over real sockets on
// 127.0.0.1, the event loop, and the percent-encoding of path segments.
//
// Each test runs its own EventLoop on a std::thread with a small handler (echo,
// a response given later through loop.post, a response held until the test
// releases it). Limits are checked from the client's side of the wire, with raw
// POSIX sockets where the client must misbehave (half a request, a dribble, plain
// HTTP to a TLS port). Nothing sleeps in the hope that something happened: every
// wait polls a condition with a bounded deadline.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/event_loop.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "net/http_types.h"

namespace ringkv::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The bound on every wait for something that should happen promptly.
constexpr std::chrono::milliseconds kWaitBound = 10s;
// A short request deadline for the tests that wait for it to pass.
constexpr uint32_t kShortTimeoutMs = 300;

template <typename Predicate>
bool wait_until(Predicate condition, std::chrono::milliseconds bound = kWaitBound) {
  const auto deadline = Clock::now() + bound;
  while (!condition()) {
    if (Clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

long elapsed_ms(Clock::time_point start) {
  return static_cast<long>(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
}

// Answers by target:
//   /delayed  later, through loop.post, with "later:" + the request body
//   /hold     later, when the test calls release_held()
//   /throw    throws
//   /close    echoes and asks the server to close the connection
//   anything else echoes the body, with the method, target and X-Echo header;
//   a HEAD request gets kHeadBody, which the server must not send.
class TestHandler : public HttpHandler {
 public:
  static constexpr std::string_view kHeadBody = "twelve bytes";

  explicit TestHandler(EventLoop& loop) : loop_(loop) {}

  std::optional<HttpResponse> handle(HttpRequest& request, const Responder& respond) override {
    ++requests_handled;
    if (request.target == "/delayed") {
      loop_.post([respond, body = std::move(request.body)] {
        respond(HttpResponse{200, {}, "later:" + body, false});
      });
      return std::nullopt;
    }
    if (request.target == "/hold") {
      held_.push_back(respond);
      every_held_.push_back(respond);
      ++requests_held;
      return std::nullopt;
    }
    if (request.target == "/throw") {
      throw std::runtime_error("handler failure for the test");
    }
    if (request.method == "HEAD") {
      return HttpResponse{200, {}, std::string(kHeadBody), false};
    }
    HttpResponse response;
    response.headers = {{"X-Method", request.method}, {"X-Target", request.target}};
    if (std::optional<std::string_view> echo = request.header("x-echo")) {
      response.headers.push_back({"X-Echo", std::string(*echo)});
    }
    response.body = std::move(request.body);
    response.close = request.target == "/close";
    return response;
  }

  // REQUIRES: called on the loop thread (as the one below).
  void release_held() {
    for (const Responder& respond : held_) {
      respond(HttpResponse{200, {}, "released", false});
    }
    held_.clear();
  }
  // Calls the Responder of the first request ever held once more: a handler bug.
  void call_first_held_again() { every_held_.front()(HttpResponse{200, {}, "stray", false}); }

  std::atomic<int> requests_handled{0};
  std::atomic<int> requests_held{0};

 private:
  EventLoop& loop_;
  std::vector<Responder> held_;        // touched on the loop thread only
  std::vector<Responder> every_held_;  // likewise; never cleared
};

// A server on its own loop thread; torn down in the order the headers require.
class RunningServer {
 public:
  explicit RunningServer(HttpServerOptions options) : handler(loop) {
    Result<std::unique_ptr<HttpServer>> started = HttpServer::start(loop, handler, options);
    if (!started.ok())
      throw std::runtime_error(started.status().to_string());
    server = std::move(started).value();
    thread = std::thread([this] { loop.run(); });
  }
  ~RunningServer() {
    loop.stop();
    thread.join();
    server.reset();
  }

  // Runs `function` on the loop thread and returns its result.
  template <typename Function>
  auto on_loop(Function function) {
    using Value = decltype(function());
    auto promise = std::make_shared<std::promise<Value>>();
    std::future<Value> future = promise->get_future();
    loop.post([promise, function]() mutable {
      if constexpr (std::is_void_v<Value>) {
        function();
        promise->set_value();
      } else {
        promise->set_value(function());
      }
    });
    if (future.wait_for(kWaitBound) != std::future_status::ready) {
      throw std::runtime_error("the event loop did not run a posted callback");
    }
    return future.get();
  }

  size_t open_connections() {
    return on_loop([this] { return server->open_connections(); });
  }

  HttpClientOptions client_options() const {
    HttpClientOptions options;
    options.port = server->port();
    options.timeout_ms = 5'000;
    return options;
  }

  EventLoop loop;
  TestHandler handler;
  std::unique_ptr<HttpServer> server;
  std::thread thread;
};

HttpRequest make_request(std::string method, std::string target, std::string body = "") {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  return request;
}

// A raw TCP connection, for clients that must misbehave.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) : descriptor_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (descriptor_ < 0)
      throw std::runtime_error("socket() failed");
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(descriptor_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      throw std::runtime_error("connect() failed");
    }
  }
  ~RawConnection() { ::close(descriptor_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool send_all(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t sent = ::send(descriptor_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0)
        return false;
      bytes.remove_prefix(static_cast<size_t>(sent));
    }
    return true;
  }

  // Reads what arrives within `bound`; returns false once the peer has closed
  // (end of stream or reset), true while the connection is still open.
  bool read_for(std::chrono::milliseconds bound) {
    const auto deadline = Clock::now() + bound;
    for (;;) {
      const long remaining_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (remaining_ms <= 0)
        return true;
      pollfd poll_descriptor{descriptor_, POLLIN, 0};
      if (::poll(&poll_descriptor, 1, static_cast<int>(remaining_ms)) <= 0)
        continue;
      char chunk[4096];
      const ssize_t received = ::recv(descriptor_, chunk, sizeof(chunk), 0);
      if (received <= 0)
        return false;
      received_.append(chunk, static_cast<size_t>(received));
    }
  }

  // Reads until the peer closes; false when it has not closed within `bound`.
  bool read_until_closed(std::chrono::milliseconds bound = kWaitBound) { return !read_for(bound); }

  // Reads until `text` has arrived; false when it does not within `bound`.
  bool read_until_contains(std::string_view text, std::chrono::milliseconds bound = kWaitBound) {
    const auto deadline = Clock::now() + bound;
    while (received_.find(text) == std::string::npos) {
      if (Clock::now() >= deadline)
        return false;
      if (!read_for(10ms) && received_.find(text) == std::string::npos)
        return false;
    }
    return true;
  }

  const std::string& received() const { return received_; }

 private:
  int descriptor_;
  std::string received_;
};

size_t count_occurrences(const std::string& text, std::string_view part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

// ---------------------------------------------------------------- http_types

TEST(PercentEncoding, RoundTripsEveryByte) {
  std::string every_byte;
  for (int byte = 0; byte < 256; ++byte)
    every_byte.push_back(static_cast<char>(byte));
  const std::string encoded = percent_encode(every_byte);
  EXPECT_EQ(encoded.find('/'), std::string::npos);
  EXPECT_EQ(percent_decode(encoded), every_byte);
}

TEST(PercentEncoding, KeepsUnreservedAndEscapesTheRest) {
  EXPECT_EQ(percent_encode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(percent_encode("a b/c?d%"), "a%20b%2Fc%3Fd%25");
  EXPECT_EQ(percent_encode("\xC3\xBC"), "%C3%BC");
  EXPECT_EQ(percent_decode("%c3%BC"), "\xC3\xBC");
  EXPECT_EQ(percent_decode("a+b"), "a+b");  // '+' is not special in paths
}

TEST(PercentEncoding, RejectsMalformedEscapes) {
  EXPECT_EQ(percent_decode("%zz"), std::nullopt);
  EXPECT_EQ(percent_decode("%4"), std::nullopt);
  EXPECT_EQ(percent_decode("abc%"), std::nullopt);
  EXPECT_EQ(percent_decode("%4g"), std::nullopt);
  EXPECT_EQ(percent_decode(""), "");
}

TEST(HttpTypes, HeaderLookupIgnoresCase) {
  HttpRequest request;
  request.headers = {{"Content-Type", "text/plain"}, {"X-A", "1"}, {"x-a", "2"}};
  EXPECT_EQ(request.header("content-type"), "text/plain");
  EXPECT_EQ(request.header("X-A"), "1");  // the first one wins
  EXPECT_EQ(request.header("missing"), std::nullopt);
  EXPECT_TRUE(header_name_equals("ETag", "etag"));
  EXPECT_FALSE(header_name_equals("ETag", "etags"));
}

// ---------------------------------------------------------------- event loop

TEST(EventLoop, EveryRepeatsAndPostWorksFromAnotherThread) {
  EventLoop loop;
  std::atomic<int> ticks{0};
  std::atomic<bool> posted{false};
  loop.every(5ms, [&] { ++ticks; });
  std::thread thread([&] { loop.run(); });
  loop.post([&] { posted = true; });
  EXPECT_TRUE(wait_until([&] { return posted.load() && ticks.load() >= 3; }));
  loop.stop();
  thread.join();
}

TEST(EventLoop, RunStaysAliveWhileIdleUntilStopped) {
  EventLoop loop;
  std::atomic<bool> returned{false};
  std::thread thread([&] {
    loop.run();
    returned = true;
  });
  std::promise<void> ran;
  loop.post([&] { ran.set_value(); });
  ASSERT_EQ(ran.get_future().wait_for(kWaitBound), std::future_status::ready);
  EXPECT_FALSE(returned.load());  // idle, yet still running
  loop.stop();
  thread.join();
  EXPECT_TRUE(returned.load());
}

// ---------------------------------------------------------------- plain HTTP

TEST(HttpServer, RoundTripsTwoRequestsOnOneKeepAliveConnection) {
  RunningServer running({});
  HttpClient client(running.client_options());
  for (const std::string body : {"first", "second"}) {
    HttpRequest request = make_request("POST", "/things/a%2Fb?x=1", body);
    request.headers.push_back({"X-Echo", "hello"});
    Result<HttpResponse> response = client.send(request);
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, body);
    EXPECT_EQ(response->header("x-method"), "POST");
    EXPECT_EQ(response->header("X-Target"), "/things/a%2Fb?x=1");
    EXPECT_EQ(response->header("X-Echo"), "hello");
    EXPECT_EQ(response->header("Server"), "ringkv");
    EXPECT_EQ(response->header("Content-Length"), std::to_string(body.size()));
    EXPECT_FALSE(response->close);
  }
  EXPECT_EQ(running.open_connections(), 1u);
  EXPECT_EQ(running.handler.requests_handled.load(), 2);
}

TEST(HttpServer, AnswersPipelinedRequestsInOrder) {
  RunningServer running({});
  RawConnection connection(running.server->port());
  ASSERT_TRUE(
      connection.send_all("get /one HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(connection.read_until_closed());
  const std::string& received = connection.received();
  EXPECT_EQ(count_occurrences(received, "HTTP/1.1 200 OK"), 2u) << received;
  EXPECT_LT(received.find("X-Target: /one"), received.find("X-Target: /two"));
  EXPECT_NE(received.find("X-Method: GET"), std::string::npos);  // upper-cased
}

TEST(HttpServer, HandlerMayAnswerLaterThroughTheResponder) {
  RunningServer running({});
  HttpClient client(running.client_options());
  for (int round = 0; round < 3; ++round) {
    Result<HttpResponse> response = client.send(make_request("PUT", "/delayed", "abc"));
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, "later:abc");
  }
  EXPECT_EQ(running.open_connections(), 1u);
}

TEST(HttpServer, LateResponderAfterTheClientLeftIsDropped) {
  RunningServer running({});
  HttpClientOptions options = running.client_options();
  options.timeout_ms = 200;
  {
    HttpClient impatient(options);
    Result<HttpResponse> response = impatient.send(make_request("GET", "/hold"));
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.status().code(), Code::unavailable);
    EXPECT_NE(response.status().message().find("timed out after 200 ms"), std::string::npos)
        << response.status().message();
  }
  EXPECT_EQ(running.handler.requests_held.load(), 1);
  // The connection stays with the handler until it answers; the answer then
  // meets a closed socket and the session ends.
  running.on_loop([&] { running.handler.release_held(); });
  ASSERT_TRUE(wait_until([&] { return running.open_connections() == 0; }));
  HttpClient client(running.client_options());
  Result<HttpResponse> response = client.send(make_request("GET", "/after"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
}

TEST(HttpServer, ResponderCalledAfterTheSessionEndedIsDropped) {
  RunningServer running({});
  RawConnection connection(running.server->port());
  ASSERT_TRUE(connection.send_all("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(wait_until([&] { return running.handler.requests_held.load() == 1; }));
  running.on_loop([&] { running.server->stop(); });
  ASSERT_TRUE(wait_until([&] { return running.open_connections() == 0; }));
  EXPECT_TRUE(connection.read_until_closed());
  running.on_loop([&] { running.handler.release_held(); });  // finds no session: dropped
  EXPECT_EQ(connection.received(), "");
}

TEST(HttpServer, StrayResponderCallCannotAnswerTheNextRequest) {
  RunningServer running({});
  HttpClient client(running.client_options());
  for (int round = 1; round <= 2; ++round) {
    std::future<Result<HttpResponse>> sent =
        std::async(std::launch::async, [&] { return client.send(make_request("GET", "/hold")); });
    ASSERT_TRUE(wait_until([&] { return running.handler.requests_held.load() == round; }));
    // The first request's Responder was already used; calling it again is ignored.
    if (round == 2) {
      running.on_loop([&] { running.handler.call_first_held_again(); });
    }
    running.on_loop([&] { running.handler.release_held(); });
    ASSERT_EQ(sent.wait_for(kWaitBound), std::future_status::ready);
    Result<HttpResponse> response = sent.get();
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->body, "released");
  }
  EXPECT_EQ(running.open_connections(), 1u);
}

TEST(HttpServer, HeadResponseAnnouncesTheLengthWithoutABody) {
  RunningServer running({});
  HttpClient client(running.client_options());
  Result<HttpResponse> response = client.send(make_request("HEAD", "/k"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->header("Content-Length"), std::to_string(TestHandler::kHeadBody.size()));
  EXPECT_EQ(response->body, "");
  RawConnection connection(running.server->port());
  ASSERT_TRUE(connection.send_all("HEAD /k HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(connection.read_until_closed());
  const std::string& received = connection.received();
  ASSERT_GE(received.size(), 4u);
  EXPECT_EQ(received.substr(received.size() - 4), "\r\n\r\n") << received;
  // The client's connection is still good after a HEAD.
  response = client.send(make_request("GET", "/after-head"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->header("X-Target"), "/after-head");
}

TEST(HttpServer, HandlerExceptionBecomes500) {
  RunningServer running({});
  HttpClient client(running.client_options());
  Result<HttpResponse> response = client.send(make_request("GET", "/throw"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->header("Content-Type"), "application/json");
  EXPECT_NE(response->body.find(R"("error":"internal")"), std::string::npos);
}

TEST(HttpServer, OversizedHeadersGet431AndClose) {
  HttpServerOptions options;
  options.header_bytes_max = 1024;
  RunningServer running(options);
  HttpClient client(running.client_options());
  HttpRequest request = make_request("GET", "/echo");
  request.headers.push_back({"X-Big", std::string(4096, 'a')});
  Result<HttpResponse> response = client.send(request);
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 431);
  EXPECT_EQ(response->header("Content-Type"), "application/json");
  EXPECT_NE(response->body.find(R"("error":"header_too_large")"), std::string::npos);
  EXPECT_NE(response->body.find(R"("message":")"), std::string::npos);
  EXPECT_TRUE(response->close);
  EXPECT_EQ(running.handler.requests_handled.load(), 0);
}

TEST(HttpServer, OversizedContentLengthGets413BeforeTheBodyIsSent) {
  HttpServerOptions options;
  options.body_bytes_max = 1024;
  RunningServer running(options);
  RawConnection connection(running.server->port());
  ASSERT_TRUE(
      connection.send_all("PUT /k HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n"));
  ASSERT_TRUE(connection.read_until_closed());
  EXPECT_EQ(connection.received().rfind("HTTP/1.1 413", 0), 0u) << connection.received();
  EXPECT_NE(connection.received().find(R"("error":"value_too_large")"), std::string::npos);
  EXPECT_EQ(running.handler.requests_handled.load(), 0);
}

TEST(HttpServer, OversizedBodyFromTheClientGets413) {
  HttpServerOptions options;
  options.body_bytes_max = 1024;
  RunningServer running(options);
  HttpClient client(running.client_options());
  Result<HttpResponse> response = client.send(make_request("PUT", "/k", std::string(4096, 'v')));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 413);
  EXPECT_TRUE(response->close);
  // At the limit exactly is fine, on a fresh connection.
  response = client.send(make_request("PUT", "/k", std::string(1024, 'v')));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
}

TEST(HttpServer, ChunkedBodyOverTheLimitGets413AndClose) {
  HttpServerOptions options;
  options.body_bytes_max = 1024;
  RunningServer running(options);
  RawConnection connection(running.server->port());
  const std::string chunk(800, 'c');
  ASSERT_TRUE(
      connection.send_all("PUT /k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (int count = 0; count < 2; ++count) {
    if (!connection.send_all("320\r\n" + chunk + "\r\n"))
      break;  // 0x320 = 800
  }
  connection.send_all("0\r\n\r\n");
  ASSERT_TRUE(connection.read_until_closed());
  EXPECT_EQ(connection.received().rfind("HTTP/1.1 413", 0), 0u) << connection.received();
  EXPECT_EQ(running.handler.requests_handled.load(), 0);
}

TEST(HttpServer, MalformedRequestGets400) {
  RunningServer running({});
  RawConnection connection(running.server->port());
  ASSERT_TRUE(connection.send_all("GET / HTTP/1.1\r\nNo colon here\r\n\r\n"));
  ASSERT_TRUE(connection.read_until_closed());
  EXPECT_EQ(connection.received().rfind("HTTP/1.1 400", 0), 0u) << connection.received();
  EXPECT_NE(connection.received().find(R"("error":"bad_request")"), std::string::npos);
}

TEST(HttpServer, ExpectContinueGetsAnInterimResponse) {
  RunningServer running({});
  RawConnection connection(running.server->port());
  ASSERT_TRUE(connection.send_all(
      "PUT /k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n"
      "Connection: close\r\n\r\n"));
  ASSERT_TRUE(connection.read_until_contains("HTTP/1.1 100 Continue\r\n\r\n"));
  ASSERT_TRUE(connection.send_all("hello"));
  ASSERT_TRUE(connection.read_until_closed());
  EXPECT_NE(connection.received().find("HTTP/1.1 200 OK"), std::string::npos);
  EXPECT_NE(connection.received().find("\r\n\r\nhello"), std::string::npos);
}

TEST(HttpServer, ClientSendingHalfARequestIsCutOffAtTheDeadline) {
  HttpServerOptions options;
  options.request_timeout_ms = kShortTimeoutMs;
  RunningServer running(options);
  const auto start = Clock::now();
  RawConnection connection(running.server->port());
  ASSERT_TRUE(connection.send_all("GET /echo HTTP/1.1\r\nHost: x\r\n"));
  ASSERT_TRUE(connection.read_until_closed(5s));
  EXPECT_GE(elapsed_ms(start), static_cast<long>(kShortTimeoutMs));
  EXPECT_EQ(connection.received(), "");  // cut off, not answered
  EXPECT_EQ(running.handler.requests_handled.load(), 0);
}

TEST(HttpServer, ClientDribblingBytesIsCutOffAtTheDeadline) {
  HttpServerOptions options;
  options.request_timeout_ms = kShortTimeoutMs;
  RunningServer running(options);
  const auto start = Clock::now();
  RawConnection connection(running.server->port());
  const std::string request = "GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 's');
  bool closed = false;
  for (size_t at = 0; at < request.size() && !closed; ++at) {
    if (!connection.send_all(request.substr(at, 1)))
      break;
    closed = !connection.read_for(20ms);
  }
  if (!closed)
    closed = connection.read_until_closed(5s);
  EXPECT_TRUE(closed);
  EXPECT_GE(elapsed_ms(start), static_cast<long>(kShortTimeoutMs));
  EXPECT_LT(elapsed_ms(start), 3'000);  // well before the dribble would have finished
}

TEST(HttpServer, IdleConnectionClosedByTheServerIsReopenedByTheClient) {
  HttpServerOptions options;
  options.request_timeout_ms = kShortTimeoutMs;
  RunningServer running(options);
  HttpClient client(running.client_options());
  Result<HttpResponse> response = client.send(make_request("GET", "/one"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  ASSERT_TRUE(wait_until([&] { return running.open_connections() == 0; }));
  response = client.send(make_request("POST", "/two", "body"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->body, "body");
}

TEST(HttpServer, ResponseAskingToCloseMakesTheClientReconnect) {
  RunningServer running({});
  HttpClient client(running.client_options());
  Result<HttpResponse> response = client.send(make_request("GET", "/close"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_TRUE(response->close);
  EXPECT_EQ(response->header("Connection"), "close");
  response = client.send(make_request("GET", "/again"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->header("X-Target"), "/again");
}

TEST(HttpServer, ConnectionsOverTheLimitGet503) {
  HttpServerOptions options;
  options.connections_max = 2;
  RunningServer running(options);
  auto first = std::make_unique<HttpClient>(running.client_options());
  HttpClient second(running.client_options());
  ASSERT_TRUE(first->send(make_request("GET", "/a")).ok());
  ASSERT_TRUE(second.send(make_request("GET", "/b")).ok());
  EXPECT_EQ(running.open_connections(), 2u);

  HttpClient third(running.client_options());
  Result<HttpResponse> refused = third.send(make_request("GET", "/c"));
  ASSERT_TRUE(refused.ok()) << refused.status().to_string();
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(refused->header("Retry-After"), "1");
  EXPECT_NE(refused->body.find(R"("error":"overloaded")"), std::string::npos);
  EXPECT_TRUE(refused->close);

  first.reset();  // frees a slot once the server sees the close
  ASSERT_TRUE(wait_until([&] { return running.open_connections() == 1; }));
  Result<HttpResponse> admitted = third.send(make_request("GET", "/d"));
  ASSERT_TRUE(admitted.ok()) << admitted.status().to_string();
  EXPECT_EQ(admitted->status, 200);
}

TEST(HttpServer, StopClosesOpenConnections) {
  RunningServer running({});
  RawConnection connection(running.server->port());
  ASSERT_TRUE(wait_until([&] { return running.open_connections() == 1; }));
  running.on_loop([&] { running.server->stop(); });
  EXPECT_TRUE(connection.read_until_closed());
  EXPECT_TRUE(wait_until([&] { return running.open_connections() == 0; }));
}

TEST(HttpServer, BindFailureNamesTheAddress) {
  RunningServer running({});
  HttpServerOptions options;
  options.port = running.server->port();
  EventLoop loop;
  TestHandler handler(loop);
  Result<std::unique_ptr<HttpServer>> second = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::unavailable);
  const std::string expected = "cannot listen on 127.0.0.1:" + std::to_string(options.port);
  EXPECT_NE(second.status().message().find(expected), std::string::npos)
      << second.status().message();
}

TEST(HttpClient, UnreachableServerIsUnavailable) {
  uint16_t free_port = 0;
  {
    RunningServer running({});
    free_port = running.server->port();
  }  // closed again: nothing listens there now
  HttpClientOptions options;
  options.port = free_port;
  options.timeout_ms = 2'000;
  HttpClient client(options);
  Result<HttpResponse> response = client.send(make_request("GET", "/"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::unavailable);
  const std::string expected = "cannot connect to 127.0.0.1:" + std::to_string(free_port);
  EXPECT_NE(response.status().message().find(expected), std::string::npos)
      << response.status().message();
}

// ---------------------------------------------------------------- TLS

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/ringkv_net_test_XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;
    certificate_file_ = directory_ + "/cert.pem";
    key_file_ = directory_ + "/key.pem";
    const std::string command = "openssl req -x509 -newkey rsa:2048 -nodes -keyout '" + key_file_ +
                                "' -out '" + certificate_file_ +
                                "' -days 1 -subj /CN=localhost >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }
  static void TearDownTestSuite() { std::filesystem::remove_all(directory_); }

  static HttpServerOptions tls_options() {
    HttpServerOptions options;
    options.tls_cert_file = certificate_file_;
    options.tls_key_file = key_file_;
    return options;
  }
  static HttpClientOptions tls_client(const RunningServer& running) {
    HttpClientOptions options = running.client_options();
    options.tls = true;
    options.insecure = true;
    return options;
  }

  static inline std::string directory_;
  static inline std::string certificate_file_;
  static inline std::string key_file_;
};

TEST_F(TlsTest, RoundTripWithoutVerification) {
  RunningServer running(tls_options());
  EXPECT_TRUE(running.server->tls());
  HttpClient client(tls_client(running));
  for (const std::string body : {"one", "two"}) {
    Result<HttpResponse> response = client.send(make_request("POST", "/echo", body));
    ASSERT_TRUE(response.ok()) << response.status().to_string();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, body);
  }
  EXPECT_EQ(running.open_connections(), 1u);
}

TEST_F(TlsTest, RoundTripVerifyingAgainstTheCaFile) {
  RunningServer running(tls_options());
  HttpClientOptions options = tls_client(running);
  options.host = "localhost";  // the certificate's name
  options.insecure = false;
  options.ca_file = certificate_file_;
  HttpClient client(options);
  Result<HttpResponse> response = client.send(make_request("GET", "/delayed"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->body, "later:");
}

TEST_F(TlsTest, UnknownCertificateFailsTheHandshakeWithAHint) {
  RunningServer running(tls_options());
  HttpClientOptions options = tls_client(running);
  options.host = "localhost";
  options.insecure = false;  // system CAs only: the self-signed certificate is unknown
  HttpClient client(options);
  Result<HttpResponse> response = client.send(make_request("GET", "/"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::unavailable);
  const std::string& message = response.status().message();
  EXPECT_NE(message.find("TLS handshake with localhost:"), std::string::npos) << message;
  EXPECT_NE(message.find("--cacert"), std::string::npos) << message;
  EXPECT_NE(message.find("--insecure"), std::string::npos) << message;
}

TEST_F(TlsTest, MissingCaFileIsNamedByTheClient) {
  HttpClientOptions options;
  options.tls = true;
  options.ca_file = directory_ + "/missing-ca.pem";
  HttpClient client(options);
  Result<HttpResponse> response = client.send(make_request("GET", "/"));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Code::invalid_argument);
  EXPECT_NE(response.status().message().find("'" + options.ca_file + "'"), std::string::npos)
      << response.status().message();
}

TEST_F(TlsTest, PlainHttpToTheTlsPortIsClosedAndTlsStillWorks) {
  RunningServer running(tls_options());
  {
    RawConnection connection(running.server->port());
    ASSERT_TRUE(connection.send_all("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(connection.read_until_closed());
    EXPECT_EQ(connection.received().find("HTTP/1.1"), std::string::npos);
  }
  HttpClient client(tls_client(running));
  Result<HttpResponse> response = client.send(make_request("GET", "/still"));
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(running.handler.requests_handled.load(), 1);
}

TEST_F(TlsTest, ConnectionsOverTheLimitGet503OverTls) {
  HttpServerOptions options = tls_options();
  options.connections_max = 1;
  RunningServer running(options);
  HttpClient first(tls_client(running));
  ASSERT_TRUE(first.send(make_request("GET", "/a")).ok());
  HttpClient second(tls_client(running));
  Result<HttpResponse> refused = second.send(make_request("GET", "/b"));
  ASSERT_TRUE(refused.ok()) << refused.status().to_string();
  EXPECT_EQ(refused->status, 503);
}

TEST_F(TlsTest, MissingCertificateFileIsNamed) {
  HttpServerOptions options = tls_options();
  options.tls_cert_file = directory_ + "/missing-cert.pem";
  EventLoop loop;
  TestHandler handler(loop);
  Result<std::unique_ptr<HttpServer>> server = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Code::invalid_argument);
  EXPECT_NE(
      server.status().message().find("cannot load TLS certificate '" + options.tls_cert_file + "'"),
      std::string::npos)
      << server.status().message();
}

TEST_F(TlsTest, MissingOrInvalidKeyFileIsNamed) {
  EventLoop loop;
  TestHandler handler(loop);
  HttpServerOptions options = tls_options();
  options.tls_key_file = directory_ + "/missing-key.pem";
  Result<std::unique_ptr<HttpServer>> server = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("'" + options.tls_key_file + "'"), std::string::npos)
      << server.status().message();

  options.tls_key_file = directory_ + "/garbage-key.pem";
  std::ofstream(options.tls_key_file) << "not a key\n";
  server = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), Code::invalid_argument);
  EXPECT_NE(
      server.status().message().find("cannot load TLS private key '" + options.tls_key_file + "'"),
      std::string::npos)
      << server.status().message();
}

TEST_F(TlsTest, InvalidCertificateFileIsNamed) {
  EventLoop loop;
  TestHandler handler(loop);
  HttpServerOptions options = tls_options();
  options.tls_cert_file = directory_ + "/garbage-cert.pem";
  std::ofstream(options.tls_cert_file) << "not a certificate\n";
  Result<std::unique_ptr<HttpServer>> server = HttpServer::start(loop, handler, options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(
      server.status().message().find("cannot load TLS certificate '" + options.tls_cert_file + "'"),
      std::string::npos)
      << server.status().message();
}

}  // namespace
}  // namespace ringkv::net
