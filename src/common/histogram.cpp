// Histogram; see histogram.h.
#include "common/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "common/check.h"

namespace ringkv {
namespace {

constexpr int kSubBits = 7;                                // 128 sub-buckets per power of two
constexpr uint64_t kSubCount = uint64_t{1} << kSubBits;    // 128
constexpr uint64_t kExactBelow = uint64_t{2} << kSubBits;  // 256: one bucket per value below
// The top bucket holds UINT64_MAX: shift 56, mantissa 255.
constexpr size_t kBucketCount = (64 - kSubBits - 1) * kSubCount + kExactBelow;

}  // namespace

Histogram::Histogram() : counts_(kBucketCount, 0) {}

size_t Histogram::bucket_of(uint64_t value) {
  if (value < kExactBelow)
    return value;
  const int shift = std::bit_width(value) - (kSubBits + 1);
  return size_t(shift) * kSubCount + (value >> shift);
}

uint64_t Histogram::lowest_in(size_t bucket) {
  if (bucket < kExactBelow)
    return bucket;
  const uint64_t shift = bucket / kSubCount - 1;
  return (bucket - shift * kSubCount) << shift;
}

uint64_t Histogram::width_of(size_t bucket) {
  return bucket < kExactBelow ? 1 : uint64_t{1} << (bucket / kSubCount - 1);
}

void Histogram::record(uint64_t value) {
  ++counts_[bucket_of(value)];
  ++count_;
  sum_ += value;
  min_ = std::min(min_, value);
  max_ = std::max(max_, value);
}

void Histogram::merge(const Histogram& other) {
  for (size_t bucket = 0; bucket < kBucketCount; ++bucket)
    counts_[bucket] += other.counts_[bucket];
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  count_ = 0;
  sum_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
}

double Histogram::mean() const {
  return count_ == 0 ? 0.0 : double(sum_) / double(count_);
}

uint64_t Histogram::rank_of(double percent, uint64_t count) {
  // The small slack keeps 0.9 * 100000 at rank 90000 despite rounding.
  const double exact = percent / 100.0 * double(count);
  const auto rank = uint64_t(std::ceil(exact - 1e-9));
  return std::clamp<uint64_t>(rank, 1, std::max<uint64_t>(count, 1));
}

uint64_t Histogram::percentile(double percent) const {
  RINGKV_ASSERT(percent > 0 && percent <= 100, "a percentile is in (0, 100]");
  if (count_ == 0)
    return 0;
  if (percent >= 100)
    return max_;
  const uint64_t rank = rank_of(percent, count_);
  uint64_t seen = 0;
  for (size_t bucket = 0; bucket < kBucketCount; ++bucket) {
    seen += counts_[bucket];
    if (seen >= rank) {
      const uint64_t middle = lowest_in(bucket) + width_of(bucket) / 2;
      return std::clamp(middle, min_, max_);
    }
  }
  return max_;  // unreachable: the buckets hold count_ values
}

}  // namespace ringkv
