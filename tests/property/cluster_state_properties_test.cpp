// Property tests of cluster-state merging (cluster/cluster_state.h): states
// that gossip merges must converge whatever the order, so the merge is
// commutative, associative and idempotent, and every node computes the
// same target from the merged state. The states are generated as nodes
// would make them: one base, then independent changes (adds, removals,
// reweights, flips, API tokens created and revoked) on copies.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <fmt/format.h>

#include "cluster/cluster_state.h"
#include "ring/assignment.h"

namespace ringkv {
namespace {

ClusterState base_state() {
  ClusterState state;
  for (int index = 0; index < 4; ++index) {
    state.members.push_back({fmt::format("n{}", index), "p", "h", 1, fmt::format("z{}", index % 2),
                             MemberRole::owner, 1});
  }
  state.layout = plan_assignment(Layout::empty(6), ring_nodes(state.members), 3)->layout;
  return state;
}

// One node's view after a few changes of its own, as change_cluster and
// maybe_flip make them (versions above everything it had seen).
ClusterState evolve(ClusterState state) {
  const int steps = *rc::gen::inRange(0, 4);
  for (int step = 0; step < steps; ++step) {
    uint64_t version = 0;
    for (const Member& member : state.members)
      version = std::max(version, member.version);
    ++version;
    const int kind = *rc::gen::inRange(0, 6);
    const size_t pick = *rc::gen::inRange<size_t>(0, state.members.size() + 1);
    if (kind >= 4) {  // a token created (same ids on two nodes: a tie) or revoked
      for (const ApiToken& token : state.tokens)
        version = std::max(version, token.version + 1);
      const std::string id = fmt::format("t{}", *rc::gen::inRange(0, 4));
      auto found = std::find_if(state.tokens.begin(), state.tokens.end(),
                                [&](const ApiToken& token) { return token.id == id; });
      if (found == state.tokens.end()) {
        const auto scope = static_cast<TokenScope>(*rc::gen::inRange(0, 3));
        state.tokens.push_back({id, std::string(64, "0af"[*rc::gen::inRange(0, 3)]), scope,
                                scope == TokenScope::admin ? "" : "orders", "", false, version});
        std::sort(state.tokens.begin(), state.tokens.end(),
                  [](const ApiToken& a, const ApiToken& b) { return a.id < b.id; });
      } else if (!found->revoked) {
        found->revoked = true;
        found->secret_hash.clear();
        found->version = version;
      }
    } else if (kind == 0 || pick == state.members.size()) {  // a join
      Member joined{fmt::format("j{}", *rc::gen::inRange(0, 6)),
                    "p",
                    "h",
                    *rc::gen::inRange<uint32_t>(1, 4),
                    "z0",
                    MemberRole::owner,
                    version};
      bool known = false;
      for (Member& member : state.members)
        known = known || member.id == joined.id;
      if (!known) {
        state.members.push_back(joined);
        std::sort(state.members.begin(), state.members.end(),
                  [](const Member& a, const Member& b) { return a.id < b.id; });
      }
    } else if (kind == 1) {  // a removal (never of the last owner)
      if (ring_nodes(state.members).size() > 1) {
        state.members[pick].role = MemberRole::removed;
        state.members[pick].version = version;
      }
    } else if (kind == 2) {  // a reweight
      state.members[pick].capacity = *rc::gen::inRange<uint32_t>(1, 5);
      state.members[pick].version = version;
    } else if (auto target = target_layout(state, 3)) {  // a flip
      state.layout = *target;
    }
  }
  return state;
}

RC_GTEST_PROP(ClusterStateMerge, IsCommutativeAssociativeAndIdempotent, ()) {
  const ClusterState base = base_state();
  const ClusterState a = evolve(base), b = evolve(base), c = evolve(base);
  RC_ASSERT(merge_cluster_states(a, b) == merge_cluster_states(b, a));
  RC_ASSERT(merge_cluster_states(merge_cluster_states(a, b), c) ==
            merge_cluster_states(a, merge_cluster_states(b, c)));
  RC_ASSERT(merge_cluster_states(a, a) == a);
  // Merging what one already holds changes nothing (gossip stops).
  const ClusterState ab = merge_cluster_states(a, b);
  RC_ASSERT(merge_cluster_states(ab, a) == ab);
  // What merges is what persists: the merged state survives its codec.
  auto decoded = decode_cluster_state(encode_cluster_state(ab));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == ab);
}

RC_GTEST_PROP(ClusterStateMerge, KeepsEveryChangeAndEveryNodeComputesOneTarget, ()) {
  const ClusterState base = base_state();
  const ClusterState a = evolve(base), b = evolve(base);
  const ClusterState merged = merge_cluster_states(a, b);
  // Every entry is the newer of the two sides' (no change is lost unless
  // the other side changed the same node later).
  for (const ClusterState* side : {&a, &b}) {
    for (const Member& member : side->members) {
      const Member* kept = find_member(merged, member.id);
      RC_ASSERT(kept != nullptr);
      RC_ASSERT(kept->version >= member.version);
    }
  }
  // The state survives its codec, and the target is a function of it.
  auto decoded = decode_cluster_state(encode_cluster_state(merged));
  RC_ASSERT(decoded.ok());
  RC_ASSERT(*decoded == merged);
  const auto once = target_layout(merged, 3);
  const auto again = target_layout(*decoded, 3);
  RC_ASSERT(once.has_value() == again.has_value());
  if (once)
    RC_ASSERT(*once == *again);
}

}  // namespace
}  // namespace ringkv
