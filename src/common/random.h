// Random: a seeded, deterministic random number generator (splitmix64).
//
// The node core and the simulator draw every random choice from one of these,
// seeded by their driver, so that the same seed gives the same run on every
// platform (the standard library's distributions differ between
// implementations; this does not).
//
// Thread safety: none; one owner.
#pragma once

#include <cstdint>

namespace ringkv {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, bound). REQUIRES: bound > 0.
  uint64_t below(uint64_t bound) { return next() % bound; }
  // Uniform in [low, high].
  uint64_t between(uint64_t low, uint64_t high) { return low + below(high - low + 1); }
  // True with probability `percent` / 100.
  bool chance(double percent) { return double(below(1'000'000)) < percent * 10'000; }

 private:
  uint64_t state_;
};

}  // namespace ringkv
