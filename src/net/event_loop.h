// EventLoop: the single thread on which a node's logic runs.
//
// A thin owner of a Boost.Asio io_context behind a pimpl, so that code above
// src/net (the server driver, the node) can post work and set timers without
// including Asio. All callbacks run on the thread that calls run().
//
// Thread safety: post() and stop() may be called from any thread; everything
// else from the loop thread (or before run()).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace ringkv::net {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs callbacks until stop(). Returns when stopped.
  void run();
  // Runs callbacks one at a time until `done()` is true (start-up work that
  // must finish before the node serves, e.g. creating default stores).
  void run_until(const std::function<bool()>& done);
  // Makes run() return soon; pending callbacks may not run.
  void stop();
  // Queues `callback` to run on the loop thread. Thread-safe.
  void post(std::function<void()> callback);
  // Runs `callback` on the loop thread every `interval` until the loop stops.
  void every(std::chrono::milliseconds interval, std::function<void()> callback);
  // Calls `callback(signal_number)` on the loop thread when SIGINT or SIGTERM arrives.
  void on_shutdown_signal(std::function<void(int)> callback);
  // Calls `callback` on the loop thread when SIGHUP arrives (reload certificates).
  void on_reload_signal(std::function<void()> callback);

  boost::asio::io_context& context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringkv::net
