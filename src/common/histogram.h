// Histogram: a log-linear latency histogram in the manner of HdrHistogram
// (pure: no I/O, no clocks), used by `ringkv bench`.
//
// It counts non-negative integers (the bench records microseconds) over the
// whole uint64_t range. Values below 256 each have a bucket of their own
// (exact); above, every power of two [2^k, 2^(k+1)) is split into 128 equal
// sub-buckets, so a bucket is never wider than 1/128 of its lower bound. A
// percentile answers the middle of the bucket that holds the value of that
// rank (clamped to the exact min and max), hence within kRelativeError
// (1/256, 0.4%) of the exact percentile of the recorded values.
//
// record() is O(1) (a bit scan and an increment); merge() adds bucket by
// bucket, and a histogram merged from parts equals one that recorded every
// value itself. 7,424 buckets of 8 bytes: about 58 KiB each.
//
// Thread safety: none; one owner. Record into one histogram per thread and
// merge them at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ringkv {

class Histogram {
 public:
  // Largest |reported - exact| / exact of any percentile.
  static constexpr double kRelativeError = 1.0 / 256;

  Histogram();

  void record(uint64_t value);
  // Adds every value `other` recorded.
  void merge(const Histogram& other);
  // Forgets every value.
  void reset();

  uint64_t count() const { return count_; }
  // The exact smallest, largest and mean recorded value; 0 when empty.
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  double mean() const;
  // The value at `percent` (0 < percent <= 100): the value of rank
  // rank_of(percent, count()) in sorted order, within kRelativeError; 100
  // answers max() exactly. 0 when empty.
  uint64_t percentile(double percent) const;

  // The 1-based rank in sorted order that `percent` of `count` values names:
  // ceil(percent / 100 * count), at least 1 (the nearest-rank definition).
  static uint64_t rank_of(double percent, uint64_t count);

  friend bool operator==(const Histogram&, const Histogram&) = default;

 private:
  static size_t bucket_of(uint64_t value);
  static uint64_t lowest_in(size_t bucket);
  static uint64_t width_of(size_t bucket);

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;  // exact while the sum stays below 2^64 (584,000 years of µs)
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
};

}  // namespace ringkv
