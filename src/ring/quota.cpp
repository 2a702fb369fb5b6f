// Largest-remainder apportionment with caps; see quota.h.
#include "ring/quota.h"

#include <algorithm>
#include <numeric>

namespace ringkv {
namespace {

// Fixes every open claimant whose exact share of `remaining` exceeds its cap
// at the cap. Returns whether any was fixed (then shares must be recomputed).
bool fix_capped(uint64_t remaining, uint64_t weight_sum, std::span<const QuotaClaim> claims,
                std::vector<bool>& open, std::vector<uint32_t>& quotas) {
  bool any = false;
  for (size_t index = 0; index < claims.size(); ++index) {
    if (open[index] && remaining * claims[index].weight > claims[index].cap * weight_sum) {
      quotas[index] = claims[index].cap;
      open[index] = false;
      any = true;
    }
  }
  return any;
}

void share_by_largest_remainder(uint64_t remaining, uint64_t weight_sum,
                                std::span<const QuotaClaim> claims, const std::vector<bool>& open,
                                std::vector<uint32_t>& quotas) {
  std::vector<uint64_t> remainders(claims.size(), 0);
  std::vector<size_t> order;
  uint64_t given = 0;
  for (size_t index = 0; index < claims.size(); ++index) {
    if (!open[index])
      continue;
    const uint64_t product = remaining * claims[index].weight;
    quotas[index] = static_cast<uint32_t>(product / weight_sum);
    remainders[index] = product % weight_sum;
    given += quotas[index];
    order.push_back(index);
  }
  // Among equal remainders, first whoever already held more than its floor
  // (the extra seat): then the winners of a plan win again when the same table
  // is planned from its result, so an unchanged cluster moves nothing.
  auto held_extra = [&](size_t index) { return claims[index].previous > quotas[index]; };
  std::sort(order.begin(), order.end(), [&](size_t left, size_t right) {
    if (remainders[left] != remainders[right])
      return remainders[left] > remainders[right];
    if (held_extra(left) != held_extra(right))
      return held_extra(left);
    if (claims[left].previous != claims[right].previous)
      return claims[left].previous > claims[right].previous;
    if (claims[left].weight != claims[right].weight)
      return claims[left].weight > claims[right].weight;
    return left < right;
  });
  // The fractional parts sum to the seats left over, each below one, so at
  // least that many claimants have a positive remainder: nobody at an exact
  // integer share (possibly its cap) gets an extra seat.
  for (size_t rank = 0; given < remaining && rank < order.size(); ++rank, ++given)
    ++quotas[order[rank]];
}

}  // namespace

std::vector<uint32_t> apportion(uint32_t total, std::span<const QuotaClaim> claims) {
  std::vector<uint32_t> quotas(claims.size(), 0);
  std::vector<bool> open(claims.size());
  for (size_t index = 0; index < claims.size(); ++index)
    open[index] = claims[index].weight > 0;
  // Each round fixes at least one claimant or finishes, so at most
  // claims.size() + 1 rounds.
  for (;;) {
    uint64_t remaining = total;
    uint64_t weight_sum = 0;
    for (size_t index = 0; index < claims.size(); ++index) {
      if (open[index])
        weight_sum += claims[index].weight;
      else
        remaining -= std::min<uint64_t>(remaining, quotas[index]);
    }
    if (weight_sum == 0)
      return quotas;
    if (!fix_capped(remaining, weight_sum, claims, open, quotas)) {
      share_by_largest_remainder(remaining, weight_sum, claims, open, quotas);
      return quotas;
    }
  }
}

}  // namespace ringkv
