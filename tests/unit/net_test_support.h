// Shared helpers of the src/net tests: a test handler, a server running on its
// own EventLoop thread, raw sockets for misbehaving clients, and bounded waits.
#pragma once

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

namespace ringkv::net::test_support {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The bound on every wait for something that should happen promptly.
inline constexpr std::chrono::milliseconds kWaitBound = 10s;
// A short request deadline for the tests that wait for it to pass.
inline constexpr uint32_t kShortTimeoutMs = 300;

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

inline long elapsed_ms(Clock::time_point start) {
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

  void answered_later(const HttpResponse& response) override {
    ++answers_later;
    last_answered_later_body = response.body;  // the loop thread's; read once quiet
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
  std::atomic<int> answers_later{0};  // answered_later() calls
  std::string last_answered_later_body;

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

inline HttpRequest make_request(std::string method, std::string target, std::string body = "") {
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

inline size_t count_occurrences(const std::string& text, std::string_view part) {
  size_t count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

}  // namespace ringkv::net::test_support
