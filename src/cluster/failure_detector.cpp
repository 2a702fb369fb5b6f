// The phi accrual failure detector; see failure_detector.h.
#include "cluster/failure_detector.h"

#include <algorithm>
#include <cmath>

namespace ringkv {

void FailureDetector::add_interval(History& history, uint64_t interval) const {
  history.intervals.push_back(interval);
  history.sum += double(interval);
  history.sum_of_squares += double(interval) * double(interval);
  if (history.intervals.size() > options_.window) {
    const double dropped = double(history.intervals.front());
    history.intervals.pop_front();
    history.sum -= dropped;
    history.sum_of_squares -= dropped * dropped;
  }
}

void FailureDetector::reset(const std::string& node, uint64_t now_ms) {
  History history;
  // Akka's bootstrap: two intervals around the assumed rhythm, so the first
  // silence is judged with a wide spread rather than none.
  const uint64_t first = options_.first_interval_ms;
  add_interval(history, first - first / 4);
  add_interval(history, first + first / 4);
  history.last = now_ms;
  peers_[node] = std::move(history);
}

void FailureDetector::heartbeat(const std::string& node, uint64_t now_ms) {
  auto found = peers_.find(node);
  if (found == peers_.end()) {
    reset(node, now_ms);
    return;
  }
  History& history = found->second;
  if (now_ms > history.last)
    add_interval(history, now_ms - history.last);
  history.last = std::max(history.last, now_ms);
}

double FailureDetector::phi(const std::string& node, uint64_t now_ms) const {
  auto found = peers_.find(node);
  if (found == peers_.end() || found->second.intervals.empty())
    return 0;
  const History& history = found->second;
  const double count = double(history.intervals.size());
  const double mean = history.sum / count;
  const double variance = std::max(0.0, history.sum_of_squares / count - mean * mean);
  const double std_dev = std::max(std::sqrt(variance), double(options_.min_std_dev_ms));
  const double elapsed = now_ms > history.last ? double(now_ms - history.last) : 0;
  const double expected = mean + double(options_.acceptable_pause_ms);
  // The logistic approximation of the normal distribution's tail (Akka's).
  const double y = (elapsed - expected) / std_dev;
  const double e = std::exp(-y * (1.5976 + 0.070566 * y * y));
  const double tail = elapsed > expected ? e / (1.0 + e) : 1.0 - 1.0 / (1.0 + e);
  if (tail <= 0)
    return 1e9;  // beyond what a double can say: certainly suspected
  return -std::log10(tail);
}

}  // namespace ringkv
