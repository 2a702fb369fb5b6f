// Unit tests of common/histogram.h: percentiles of known distributions
// against the exact percentiles of the sorted values (within the stated
// relative error), exact max, merging, and the empty histogram.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/histogram.h"
#include "common/random.h"

namespace ringkv {
namespace {

constexpr double kPercents[] = {0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100};

Histogram record_all(const std::vector<uint64_t>& values) {
  Histogram histogram;
  for (uint64_t value : values)
    histogram.record(value);
  return histogram;
}

// Every percentile of kPercents within Histogram::kRelativeError of the
// nearest-rank percentile of the sorted values.
void expect_percentiles_within_bound(const Histogram& histogram, std::vector<uint64_t> values) {
  std::sort(values.begin(), values.end());
  for (double percent : kPercents) {
    const uint64_t exact = values[Histogram::rank_of(percent, values.size()) - 1];
    const uint64_t reported = histogram.percentile(percent);
    const double error = std::abs(double(reported) - double(exact));
    EXPECT_LE(error, double(exact) * Histogram::kRelativeError)
        << "p" << percent << ": reported " << reported << ", exact " << exact;
  }
}

TEST(Histogram, AnEmptyHistogramAnswersZeros) {
  const Histogram histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.min(), 0u);
  EXPECT_EQ(histogram.max(), 0u);
  EXPECT_EQ(histogram.mean(), 0.0);
  for (double percent : kPercents)
    EXPECT_EQ(histogram.percentile(percent), 0u) << percent;
}

TEST(Histogram, RankIsTheNearestRank) {
  EXPECT_EQ(Histogram::rank_of(50, 100), 50u);
  EXPECT_EQ(Histogram::rank_of(50, 101), 51u);
  EXPECT_EQ(Histogram::rank_of(90, 100000), 90000u);  // no rounding past the exact rank
  EXPECT_EQ(Histogram::rank_of(99.9, 1000), 999u);
  EXPECT_EQ(Histogram::rank_of(0.001, 10), 1u);  // at least the first
  EXPECT_EQ(Histogram::rank_of(100, 7), 7u);
}

TEST(Histogram, UniformOneToAHundredThousandMicrosecondsIsWithinTheBound) {
  std::vector<uint64_t> values;
  for (uint64_t value = 1; value <= 100'000; ++value)
    values.push_back(value);
  const Histogram histogram = record_all(values);
  EXPECT_EQ(histogram.count(), 100'000u);
  EXPECT_EQ(histogram.min(), 1u);
  EXPECT_EQ(histogram.max(), 100'000u);
  EXPECT_DOUBLE_EQ(histogram.mean(), 50'000.5);
  expect_percentiles_within_bound(histogram, values);
  EXPECT_NEAR(double(histogram.percentile(50)), 50'000, 50'000 * Histogram::kRelativeError);
}

TEST(Histogram, ValuesBelow256AreExact) {
  std::vector<uint64_t> values;
  for (uint64_t value = 0; value < 256; ++value)
    values.push_back(value);
  const Histogram histogram = record_all(values);
  for (double percent : kPercents)
    EXPECT_EQ(histogram.percentile(percent), values[Histogram::rank_of(percent, 256) - 1]);
}

TEST(Histogram, AConstantAnswersItselfAtEveryPercentile) {
  Histogram histogram;
  for (int index = 0; index < 1000; ++index)
    histogram.record(4242);
  for (double percent : kPercents)
    EXPECT_EQ(histogram.percentile(percent), 4242u) << percent;
  EXPECT_EQ(histogram.mean(), 4242.0);
  EXPECT_EQ(histogram.min(), 4242u);
  EXPECT_EQ(histogram.max(), 4242u);
}

TEST(Histogram, ABimodalDistributionKeepsBothModes) {
  Random random(17);
  std::vector<uint64_t> values;
  for (int index = 0; index < 100'000; ++index) {
    // 90% fast (150-250 µs), 10% slow (40-60 ms).
    values.push_back(random.chance(90) ? random.between(150, 250) : random.between(40'000, 60'000));
  }
  const Histogram histogram = record_all(values);
  expect_percentiles_within_bound(histogram, values);
  EXPECT_LE(histogram.percentile(50), 250u);
  EXPECT_LE(histogram.percentile(85), 250u);
  EXPECT_GE(histogram.percentile(95), 40'000u * (1 - Histogram::kRelativeError));
}

TEST(Histogram, TheWholeRangeFromMicrosecondsToHoursIsWithinTheBound) {
  Random random(5);
  std::vector<uint64_t> values;
  const uint64_t hour_us = 3'600'000'000;
  for (int index = 0; index < 50'000; ++index) {
    // Log-uniform over 1 µs .. 2 hours.
    const double exponent = double(random.below(1'000'000)) / 1e6 * std::log2(2.0 * hour_us);
    values.push_back(uint64_t(std::exp2(exponent)));
  }
  values.push_back(2 * hour_us);
  const Histogram histogram = record_all(values);
  expect_percentiles_within_bound(histogram, values);
  EXPECT_EQ(histogram.max(), 2 * hour_us);
}

TEST(Histogram, MaxIsExactAndPercentilesNeverExceedIt) {
  Histogram histogram;
  for (uint64_t value : {10u, 20u, 123'456'789u})
    histogram.record(value);
  EXPECT_EQ(histogram.max(), 123'456'789u);
  EXPECT_EQ(histogram.percentile(100), 123'456'789u);
  EXPECT_LE(histogram.percentile(99.9), histogram.max());
  histogram.record(UINT64_MAX);  // the top bucket exists
  EXPECT_EQ(histogram.max(), UINT64_MAX);
  EXPECT_EQ(histogram.percentile(100), UINT64_MAX);
  EXPECT_LE(histogram.percentile(80), UINT64_MAX);
}

TEST(Histogram, MergingPartsEqualsRecordingIntoOne) {
  Random random(99);
  Histogram whole;
  std::vector<Histogram> parts(4);
  for (int index = 0; index < 40'000; ++index) {
    const uint64_t value = random.between(1, 5'000'000);
    whole.record(value);
    parts[index % parts.size()].record(value);
  }
  Histogram merged;
  for (const Histogram& part : parts)
    merged.merge(part);
  EXPECT_EQ(merged, whole);
  EXPECT_EQ(merged.count(), whole.count());
  EXPECT_EQ(merged.mean(), whole.mean());
  for (double percent : kPercents)
    EXPECT_EQ(merged.percentile(percent), whole.percentile(percent)) << percent;
  Histogram empty;
  merged.merge(empty);  // an empty part changes nothing (min included)
  EXPECT_EQ(merged, whole);
}

TEST(Histogram, ResetForgetsEverything) {
  Histogram histogram;
  histogram.record(7);
  histogram.record(70'000);
  histogram.reset();
  EXPECT_EQ(histogram, Histogram());
  EXPECT_EQ(histogram.percentile(50), 0u);
}

}  // namespace
}  // namespace ringkv
