// EventLoop over one Boost.Asio io_context (see event_loop.h).
//
// The io_context is created with a concurrency hint of 1: one thread runs it,
// other threads only post(). A work guard keeps run() alive while nothing is
// pending, so an idle node does not fall out of its loop; stop() is the only way
// out. Repeating timers and the signal set are owned here and die with the loop,
// so no callback outlives the objects it was registered on.
#include "net/event_loop.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <utility>
#include <vector>

namespace ringkv::net {

namespace asio = boost::asio;

namespace {

// One every() registration: a timer re-armed after each tick. Ticks missed
// while the loop was busy are skipped rather than fired in a burst.
class RepeatingTimer {
 public:
  RepeatingTimer(asio::io_context& context, std::chrono::milliseconds interval,
                 std::function<void()> callback)
      : timer_(context), interval_(interval), callback_(std::move(callback)) {}

  void start() {
    timer_.expires_after(interval_);
    arm();
  }

 private:
  void arm() {
    timer_.async_wait([this](const boost::system::error_code& error) {
      if (error)
        return;  // cancelled: the loop is going away
      callback_();
      const auto now = asio::steady_timer::clock_type::now();
      auto next = timer_.expiry() + interval_;
      if (next < now)
        next = now + interval_;
      timer_.expires_at(next);
      arm();
    });
  }

  asio::steady_timer timer_;
  std::chrono::milliseconds interval_;
  std::function<void()> callback_;
};

}  // namespace

struct EventLoop::Impl {
  // Declared first so that it is destroyed last: the timers and the signal set
  // below must be destroyed while their io_context still exists.
  asio::io_context context{1};
  asio::executor_work_guard<asio::io_context::executor_type> work_guard{context.get_executor()};
  std::vector<std::unique_ptr<RepeatingTimer>> repeating_timers;
  std::unique_ptr<asio::signal_set> shutdown_signals;
  std::function<void(int)> shutdown_callback;
  std::unique_ptr<asio::signal_set> reload_signals;
  std::function<void()> reload_callback;

  void wait_for_reload_signal() {
    reload_signals->async_wait([this](const boost::system::error_code& error, int) {
      if (error)
        return;
      if (reload_callback)
        reload_callback();
      wait_for_reload_signal();
    });
  }

  void wait_for_shutdown_signal() {
    shutdown_signals->async_wait([this](const boost::system::error_code& error, int signal_number) {
      if (error)
        return;
      if (shutdown_callback)
        shutdown_callback(signal_number);
      wait_for_shutdown_signal();  // a second signal reaches the callback too
    });
  }
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}

EventLoop::~EventLoop() = default;

void EventLoop::run() {
  impl_->context.run();
}

void EventLoop::run_until(const std::function<bool()>& done) {
  while (!done() && !impl_->context.stopped())
    impl_->context.run_one();
}

void EventLoop::stop() {
  impl_->context.stop();
}

void EventLoop::post(std::function<void()> callback) {
  asio::post(impl_->context, std::move(callback));
}

void EventLoop::every(std::chrono::milliseconds interval, std::function<void()> callback) {
  auto timer = std::make_unique<RepeatingTimer>(impl_->context, interval, std::move(callback));
  timer->start();
  impl_->repeating_timers.push_back(std::move(timer));
}

void EventLoop::on_shutdown_signal(std::function<void(int)> callback) {
  impl_->shutdown_callback = std::move(callback);
  if (impl_->shutdown_signals)
    return;  // already listening; the new callback takes over
  impl_->shutdown_signals = std::make_unique<asio::signal_set>(impl_->context, SIGINT, SIGTERM);
  impl_->wait_for_shutdown_signal();
}

void EventLoop::on_reload_signal(std::function<void()> callback) {
  impl_->reload_callback = std::move(callback);
  if (impl_->reload_signals)
    return;
  impl_->reload_signals = std::make_unique<asio::signal_set>(impl_->context, SIGHUP);
  impl_->wait_for_reload_signal();
}

asio::io_context& EventLoop::context() {
  return impl_->context;
}

}  // namespace ringkv::net
