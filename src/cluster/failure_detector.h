// FailureDetector: the phi accrual failure detector (Hayashibara et al.; the
// variant of Akka and Cassandra), fed by gossip heartbeats.
//
// For each peer it keeps the last `window` intervals between arrivals of
// fresh heartbeats (a higher heartbeat counter, learnt directly or through
// another node's gossip) and, from their mean and standard deviation, says
// how unlikely the silence since the last arrival is: phi = -log10(P(an
// interval at least this long)), with intervals taken as normally distributed.
// A peer is suspected while phi >= threshold. Unlike a fixed timeout, phi
// adapts to the observed rhythm: regular heartbeats give fast detection,
// jittery ones fewer false suspicions.
//
// Why phi accrual rather than SWIM's indirect probes: our gossip already
// carries a heartbeat counter per member every round, so the detector costs
// no extra message, and its threshold trades detection time against false
// suspicion in one number that operators know from Cassandra. Detection time
// and false suspicions are measured by the simulator (docs/BENCHMARKS.md).
//
// Deterministic: time comes in as arguments; nothing here reads a clock.
// Thread safety: none; one owner.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace ringkv {

struct FailureDetectorOptions {
  double threshold = 8.0;               // phi at which a peer is suspected
  uint64_t min_std_dev_ms = 200;        // floor of the interval spread
  uint64_t acceptable_pause_ms = 1000;  // added to the mean: tolerated hiccup
  uint64_t first_interval_ms = 1000;    // assumed rhythm before any interval is seen
  size_t window = 100;                  // intervals remembered per peer
};

class FailureDetector {
 public:
  explicit FailureDetector(FailureDetectorOptions options = {}) : options_(options) {}

  // A fresh heartbeat of `node` arrived at `now_ms` (the first one starts its history).
  void heartbeat(const std::string& node, uint64_t now_ms);
  // Forgets `node`'s history (it restarted: its rhythm starts over).
  void reset(const std::string& node, uint64_t now_ms);

  // 0 for a node never heard of.
  double phi(const std::string& node, uint64_t now_ms) const;
  bool suspected(const std::string& node, uint64_t now_ms) const {
    return phi(node, now_ms) >= options_.threshold;
  }
  bool knows(const std::string& node) const { return peers_.count(node) != 0; }
  const FailureDetectorOptions& options() const { return options_; }

 private:
  struct History {
    std::deque<uint64_t> intervals;
    double sum = 0;
    double sum_of_squares = 0;
    uint64_t last = 0;
  };
  void add_interval(History& history, uint64_t interval) const;

  FailureDetectorOptions options_;
  std::map<std::string, History> peers_;
};

}  // namespace ringkv
