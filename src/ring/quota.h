// Quotas: how many partitions each node should own (largest-remainder
// apportionment, the method used to seat parliaments).
//
// Each claimant's exact share is total * weight / sum of weights. Claimants
// whose exact share is over their cap get the cap, and the rest is shared again
// among the others ("water filling"). Everyone else gets the floor of their
// exact share, and the seats left over go to the largest remainders, ties
// broken first by whoever already held more than its floor (so planning a
// table again from its own result keeps every quota and moves nothing), then
// by the larger previous holding, the larger weight, the lower index.
//
// Invariants of the result: every quota is within one of the exact share of
// the uncapped claimants (floor or ceiling); no quota exceeds its cap; the sum
// is `total` whenever the caps of positive-weight claimants allow it; weight 0
// gets 0. Pure integer arithmetic, so every node computes the same quotas.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace ringkv {

struct QuotaClaim {
  uint64_t weight = 0;
  uint32_t cap = 0;
  uint32_t previous = 0;  // what the claimant held before: breaks ties
};

// REQUIRES: total * weight and cap * (sum of weights) fit in 64 bits (true for
// total <= 2^20 and a weight sum below 2^40).
std::vector<uint32_t> apportion(uint32_t total, std::span<const QuotaClaim> claims);

}  // namespace ringkv
