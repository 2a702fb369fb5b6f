// Coordinator (coordinator.h), the read path: a get asks the replicas (both replica sets of a
// strict store during a move), answers with the merge of the first r, and
// read-repairs the replicas that lacked something.
#include "cluster/coordinator.h"

#include <algorithm>

#include <fmt/format.h>

#include "cluster/node_core.h"
#include "cluster/node_core_errors.h"

namespace ringkv {

using namespace core_errors;

// ---- get ----

void Coordinator::get(uint64_t now_ms, RequestId request, std::string_view store_name,
                      std::string key) {
  core_.now_ms_ = now_ms;
  Result<const StoreEntry*> found = request_store(store_name, now_ms);
  if (!found.ok()) {
    ++core_.stats_.gets_failed;
    core_.effects_.push_back(get_failed(request, found.status()));
    return;
  }
  const StoreEntry* store = *found;
  const std::vector<NodeId> replicas = core_.replicas_of(*store, key);
  if (replicas.size() < store->config.r) {
    ++core_.stats_.gets_failed;
    core_.effects_.push_back(get_failed(request, too_few_nodes(*store, "r", store->config.r)));
    return;
  }
  // A strict read cannot meet r without r replicas of the list: it fails
  // at once, as a strict write does, rather than at the request timeout.
  const uint32_t needed =
      std::min<uint32_t>(store->config.r, static_cast<uint32_t>(replicas.size()));
  if (Status reachable = strict_reachable(*store, replicas, needed, now_ms, /*read=*/true);
      !reachable.ok()) {
    ++core_.stats_.gets_failed;
    core_.effects_.push_back(get_failed(request, reachable));
    return;
  }
  const uint64_t op = core_.next_op();
  PendingGet& pending = gets_[op];
  pending.request = request;
  pending.store = store;
  pending.key = key;
  pending.needed = needed;
  pending.replicas = static_cast<uint32_t>(replicas.size());
  pending.deadline = now_ms + core_.options_.request_timeout_ms;
  std::optional<Target> local;
  for (const Target& target : place(*store, key, replicas)) {
    pending.asked.push_back(target.node);
    if (!target.hint_for.empty())
      pending.stand_ins.insert(target.node);
    if (core_.is_self(target.node))
      local = target;
    else
      core_.send(target.node,
                 ReplicaRead{op, core_.spec_of(*store), key, target.hint_for,
                             core_.fenced_version(*store), core_.fenced_target(*store)});
  }
  // A strict store during a move reads from both replica sets (joint quorum):
  // a write acknowledged under either layout is met whichever a node uses.
  if (store->config.quorum == QuorumMode::strict)
    pending.joint = core_.rebalancer_.joint_list(*store, key, replicas);
  if (!pending.joint.empty()) {
    pending.joint_needed =
        std::min<uint32_t>(store->config.r, static_cast<uint32_t>(pending.joint.size()));
    for (const NodeId& extra : core_.rebalancer_.target_extras(*store, key, replicas)) {
      pending.joint_only.insert(extra);
      pending.asked.push_back(extra);
      core_.send(extra, ReplicaRead{op,
                                    core_.spec_of(*store),
                                    key,
                                    {},
                                    core_.fenced_version(*store),
                                    core_.fenced_target(*store)});
    }
  }
  if (local && core_.recovery_.active() && local->hint_for.empty()) {
    // Our own copy is being refilled: it does not count toward r.
    get_answered(op, core_.options_.self,
                 Status(Code::unavailable, "this node lost its data and is recovering"));
  } else if (local) {
    get_answered(op, core_.options_.self,
                 local->hint_for.empty() ? core_.read_local(*store, key)
                                         : core_.handoff_.read_hint(*store, local->hint_for, key));
  }
}

void Coordinator::get_answered(uint64_t op, const NodeId& node, Result<SiblingSet> answer) {
  auto found = gets_.find(op);
  if (found == gets_.end())
    return;
  PendingGet& pending = found->second;
  if (std::find(pending.asked.begin(), pending.asked.end(), node) == pending.asked.end())
    return;  // not asked (or answered twice: a duplicated message)
  for (const ReadAnswer& seen : pending.answers) {
    if (seen.node == node)
      return;
  }
  if (answer.ok()) {
    pending.answers.push_back({node, std::move(*answer)});
  } else {
    pending.failed.push_back(node);
    if (pending.joint_only.count(node) == 0)
      ++pending.failures;
    pending.last_failure = answer.status();
  }
  maybe_finish_get(op);
}

void Coordinator::maybe_finish_get(uint64_t op) {
  auto found = gets_.find(op);
  PendingGet& pending = found->second;
  uint32_t answered = 0, joint_answered = 0, joint_failures = 0;
  for (const ReadAnswer& answer : pending.answers) {
    answered += pending.joint_only.count(answer.node) == 0 ? 1 : 0;
    joint_answered +=
        std::find(pending.joint.begin(), pending.joint.end(), answer.node) != pending.joint.end();
  }
  for (const NodeId& node : pending.failed) {
    joint_failures +=
        std::find(pending.joint.begin(), pending.joint.end(), node) != pending.joint.end();
  }
  if (!pending.replied && !pending.joint.empty() &&
      joint_failures > pending.joint.size() - pending.joint_needed) {
    pending.replied = true;
    ++core_.stats_.gets_failed;
    core_.effects_.push_back(get_failed(
        pending.request,
        Status(Code::unavailable,
               fmt::format("read needs r = {} of the new replicas during a rebalance but {} of "
                           "{} failed ({})",
                           pending.joint_needed, joint_failures, pending.joint.size(),
                           pending.last_failure.message()))));
  }
  if (!pending.replied && answered >= pending.needed && joint_answered >= pending.joint_needed) {
    SiblingSet merged;
    if (pending.answers.size() == 1 && pending.asked.size() == 1) {
      // The only replica asked (n = 1): its set is the answer, and no read
      // repair will compare it (that needs two), so it moves, not copies.
      merged = std::move(pending.answers[0].set);
    } else {
      for (const ReadAnswer& answer : pending.answers)
        merged.merge(answer.set);
    }
    pending.replied = true;
    ++core_.stats_.gets_answered;
    core_.effects_.push_back(
        GetReply{pending.request, Status::Ok(), std::move(merged), pending.store});
  } else if (!pending.replied && pending.failures > pending.replicas - pending.needed) {
    pending.replied = true;
    ++core_.stats_.gets_failed;
    core_.effects_.push_back(get_failed(
        pending.request,
        Status(Code::unavailable,
               fmt::format("read needs r = {} replicas but only {} of {} answered ({} failed: {})",
                           pending.needed, answered, pending.replicas, pending.failures,
                           pending.last_failure.message()))));
  }
  if (pending.answers.size() + pending.failed.size() == pending.asked.size()) {
    read_repair(pending);
    gets_.erase(found);
  }
}

void Coordinator::read_repair(PendingGet& get) {
  if (get.answers.size() < 2)
    return;
  SiblingSet merged;
  for (const ReadAnswer& answer : get.answers)
    merged.merge(answer.set);
  for (const ReadAnswer& answer : get.answers) {
    if (answer.set == merged || get.stand_ins.count(answer.node) != 0)
      continue;  // up to date, or a stand-in (its hint goes home by handoff)
    ++core_.stats_.read_repairs;
    if (core_.is_self(answer.node)) {
      core_.merge_locally(*get.store, get.key, merged, [](Status) {});
    } else {
      core_.send(answer.node,
                 ReplicaWrite{0, core_.spec_of(*get.store), get.key, merged, {}, false});
    }
  }
}

// Gets past their deadline: answered with what came (or unavailable), the
// silent replicas suspected, what did come read-repaired.
void Coordinator::get_tick(uint64_t now_ms) {
  for (uint64_t op : expired_ops(gets_, now_ms)) {
    PendingGet& pending = gets_.at(op);
    for (const NodeId& asked : pending.asked) {
      const bool answered =
          std::any_of(pending.answers.begin(), pending.answers.end(),
                      [&](const ReadAnswer& answer) { return answer.node == asked; });
      if (!answered && !core_.is_self(asked))
        core_.gossiper_.suspect(asked);
    }
    if (!pending.replied) {
      ++core_.stats_.gets_failed;
      core_.effects_.push_back(get_failed(
          pending.request,
          Status(Code::unavailable,
                 fmt::format("read timed out: {} of r = {} replicas answered (n = {})",
                             pending.answers.size(), pending.needed, pending.replicas))));
    }
    read_repair(pending);
    gets_.erase(op);
  }
}

}  // namespace ringkv
