// Property tests of layout deltas (ring/layout_delta.h) over random node
// tables and random sequences of changes planned by plan_assignment: each
// change's delta decodes and applies to exactly the next layout. (Applied to
// another base it may give anything valid: gossip names the base's and the
// result's digests, cluster/membership.cpp.)
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>

#include "ring/assignment.h"
#include "ring/layout_delta.h"

namespace ringkv {
namespace {

RingNode arbitrary_node(const std::string& id) {
  return {id, *rc::gen::inRange<uint32_t>(1, 9), "zone-" + std::to_string(*rc::gen::inRange(0, 5)),
          NodeState::active};
}

// One random change: add, remove, reweight, rezone or start leaving.
std::vector<RingNode> arbitrary_change(std::vector<RingNode> nodes, int& next_id) {
  const int kind = *rc::gen::inRange(0, 5);
  const size_t pick = *rc::gen::inRange<size_t>(0, nodes.size());
  const size_t active = std::count_if(nodes.begin(), nodes.end(), [](const RingNode& node) {
    return node.state == NodeState::active;
  });
  if (kind == 0 || active <= 3) {
    nodes.push_back(arbitrary_node("node-" + std::to_string(next_id++)));
  } else if (kind == 1) {
    nodes.erase(nodes.begin() + static_cast<std::ptrdiff_t>(pick));
  } else if (kind == 2) {
    nodes[pick].capacity = *rc::gen::inRange<uint32_t>(1, 9);
  } else if (kind == 3) {
    nodes[pick].zone = "zone-" + std::to_string(*rc::gen::inRange(0, 5));
  } else {
    nodes[pick].state = NodeState::leaving;
  }
  std::sort(nodes.begin(), nodes.end(),
            [](const RingNode& left, const RingNode& right) { return left.id < right.id; });
  return nodes;
}

RC_GTEST_PROP(LayoutDeltaProperties, EveryChangesDeltaGivesExactlyTheNextLayout, ()) {
  int next_id = 0;
  std::vector<RingNode> nodes;
  const auto count = *rc::gen::inRange(3, 20);
  for (int index = 0; index < count; ++index)
    nodes.push_back(arbitrary_node("node-" + std::to_string(next_id++)));
  std::sort(nodes.begin(), nodes.end(),
            [](const RingNode& left, const RingNode& right) { return left.id < right.id; });
  const auto bits = *rc::gen::inRange<uint32_t>(4, 10);
  auto first = plan_assignment(Layout::empty(bits), nodes, 3);
  RC_ASSERT(first.ok());
  Layout base = first->layout;
  for (int change = 0; change < 10; ++change) {
    nodes = arbitrary_change(std::move(nodes), next_id);
    auto planned = plan_assignment(base, nodes, 3);
    RC_ASSERT(planned.ok());
    const Layout& next = planned->layout;
    const auto bytes = encode_layout_delta(base, next);
    RC_ASSERT(bytes.has_value());
    // (Larger than the whole layout when most entries moved: gossip then
    // sends the whole layout.)
    RC_CLASSIFY(bytes->size() >= encode_layout(next).size(), "delta not smaller");
    auto delta = decode_layout_delta(*bytes);
    RC_ASSERT(delta.ok());
    auto applied = apply_layout_delta(base, *delta);
    RC_ASSERT(applied.ok());
    RC_ASSERT(*applied == next);
    base = next;
  }
}

}  // namespace
}  // namespace ringkv
