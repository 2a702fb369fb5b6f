"""Judges a nemesis run from the recorded history, not from what nodes claim
about themselves. Once faults are healed it waits for every node to answer
each key alike (the converged state), then checks:

  - every acknowledged write is in the converged state, or causally superseded:
    a write (or delete) whose context came from a read that returned it, and
    that is itself in the state or superseded, in turn;
  - nothing superseded by an acknowledged write or delete is in the state
    (no resurrected delete, no stale sibling kept beside its successor);
  - every value read or kept was written by some client;
  - the replicas of every partition end with equal Merkle roots.

It reports availability (answered with success / invoked) per fault type and
how long convergence took after the last fault healed."""

import bisect
import json
import time
from collections import defaultdict

from workload import http, parse_read


class Report:
    def __init__(self):
        self.lines = []
        self.violations = 0
        self.convergence = 0.0  # seconds after the heal, the slowest store's

    def violation(self, text):
        self.violations += 1
        if self.violations <= 40:
            self.lines.append("VIOLATION: " + text)

    def say(self, text):
        self.lines.append(text)


def read_everywhere(urls, store, key):
    """Each node's answer for `key` (a tuple of values), or None if one did not answer."""
    answers = []
    for url in urls:
        try:
            status, headers, body = http(url, "GET", f"/v1/stores/{store}/keys/{key}",
                                         headers={"Accept": "application/json"})
        except Exception:
            return None
        ok, values, _ = parse_read(status, headers, body)
        if not ok:
            return None
        answers.append(values)
    return answers


def merkle_roots(urls, store):
    """{partition: {root, ...}} over every node, or None if one did not answer."""
    roots = defaultdict(set)
    for url in urls:
        try:
            status, _, body = http(url, "GET", f"/v1/stores/{store}/merkle")
        except Exception:
            return None
        if status != 200:
            return None
        for entry in json.loads(body)["partitions"]:
            roots[entry["partition"]].add(entry["root"])
    return roots


def converge(urls, store, keys, seconds):
    """The state every node agrees on, per key, and when; None for keys that never agreed."""
    give_up = time.monotonic() + seconds
    state = {}
    while True:
        for number in range(keys):
            key = f"k{number}"
            if key in state:
                continue
            answers = read_everywhere(urls, store, key)
            if answers is not None and all(a == answers[0] for a in answers):
                # Agreement once may be a coincidence of two stale copies: read again.
                again = read_everywhere(urls, store, key)
                if again == answers:
                    state[key] = set(answers[0])
        if len(state) == keys or time.monotonic() > give_up:
            return state
        time.sleep(0.5)


def availability(report, ops, windows):
    """Share of operations answered with success, and latency, per fault and store."""
    by_fault = defaultdict(lambda: [0, 0, []])
    starts = [op.start for op in ops]  # ops are in start order
    for name, began, ended, _ in windows:
        if name.startswith("crash:"):
            continue
        for op in ops[bisect.bisect_left(starts, began):bisect.bisect_left(starts, ended)]:
            entry = by_fault[(name, op.store)]
            entry[0] += 1
            entry[1] += 1 if op.ok else 0
            entry[2].append(op.end - op.start)
    report.say("availability (answered with success / invoked) and latency per fault and store:")
    for (name, store), (invoked, succeeded, latencies) in sorted(by_fault.items()):
        share = 100.0 * succeeded / invoked if invoked else 0.0
        latencies.sort()
        median = latencies[len(latencies) // 2] * 1000 if latencies else 0
        p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0
        report.say(f"  {name:20s} {store:7s} {succeeded:6d}/{invoked:<6d} {share:5.1f}%   "
                   f"median {median:6.1f} ms  p99 {p99:7.1f} ms")


def check(history, urls, stores, keys, healed, windows, converge_seconds=180):
    """stores: {name: quorum mode}; windows: the faults to report availability for.
    The whole history is judged. report.convergence holds the seconds from
    `healed` until every store read alike everywhere and had equal roots."""
    report = Report()
    ops = sorted(history.ops, key=lambda op: op.start)
    availability(report, ops, windows)
    for store, quorum in stores.items():
        check_store(report, [op for op in ops if op.store == store], urls, store, quorum, keys,
                    healed, converge_seconds)
    return report


def check_store(report, ops, urls, store, quorum, keys, healed, converge_seconds):
    writes = [op for op in ops if op.kind in ("put", "rmw", "delete")]
    written = {op.value for op in writes if op.value}
    acknowledged = [op for op in writes if op.ok]
    report.say(f"store '{store}' ({quorum}): {len(ops)} operations, {len(writes)} writes "
               f"({len(acknowledged)} acknowledged)")

    # ---- convergence ----
    state = converge(urls, store, keys, converge_seconds)
    converged_at = time.monotonic()
    missing = [f"k{n}" for n in range(keys) if f"k{n}" not in state]
    for key in missing:
        report.violation(f"{store}/{key}: nodes still answer differently {converge_seconds} s "
                         f"after the faults healed: {read_everywhere(urls, store, key)}")
    report.say(f"  every key read alike on every node {converged_at - healed:.1f} s after the heal")
    report.convergence = max(report.convergence, converged_at - healed)
    roots_at = None
    give_up = time.monotonic() + converge_seconds
    while time.monotonic() < give_up:
        roots = merkle_roots(urls, store)
        if roots is not None and all(len(r) == 1 for r in roots.values()):
            roots_at = time.monotonic()
            break
        time.sleep(1)
    if roots_at is None:
        differing = {p: r for p, r in (merkle_roots(urls, store) or {}).items() if len(r) > 1}
        report.violation(f"{store}: replicas' Merkle roots still differ {converge_seconds} s "
                         f"after the heal: {len(differing)} partitions")
    else:
        report.say(f"  every partition's replicas had equal Merkle roots {roots_at - healed:.1f} s "
                   "after the heal")
        report.convergence = max(report.convergence, roots_at - healed)

    judge(report, store, quorum, ops, state)


def judge(report, store, quorum, ops, state):
    """The checks of the converged `state` ({key: set of values}) against the
    history `ops` of one store; no I/O (checker_test.py feeds it histories)."""
    writes = [op for op in ops if op.kind in ("put", "rmw", "delete")]
    written = {op.value for op in writes if op.value}
    acknowledged = [op for op in writes if op.ok]
    readers = defaultdict(list)  # value -> the writes whose context saw it
    for op in writes:
        for value in op.seen:
            readers[value].append(op)
    by_value = {op.value: op for op in writes if op.value}

    # A write's readers began after it did: walking the writes from the last
    # one started back to the first computes every reader before the value it
    # read (no recursion: a key's chain of read-modify-writes can be long).
    accounted = {}  # value -> in the state, or superseded by a write accounted for
    superseded = {}  # value -> an acknowledged write that descends from it, or None
    # (A reader's own read ended before it began, and that read began after
    # the value's write did: start times strictly increase along a chain, so
    # `[]` below finds every reader's entry; a KeyError would be a harness bug.)
    # A refused write (nothing stored) accounts for nothing.
    for op in sorted((w for w in writes if w.value), key=lambda w: (w.start, w.end),
                     reverse=True):
        value = op.value
        accounted[value] = value in state.get(op.key, set()) or any(
            not w.refused and (w.kind == "delete" or accounted[w.value]) for w in readers[value])
        successor = None
        for w in readers[value]:
            successor = w if w.ok else superseded[w.value] if w.value else None
            if successor is not None:
                break
        superseded[value] = successor

    lost = 0
    for op in acknowledged:
        if op.value and op.key in state and not accounted[op.value]:
            lost += 1
            report.violation(f"{store}/{op.key}: acknowledged write {op.value} (by {op.node}) is "
                             f"lost: not in {sorted(state[op.key])} and no write that read it is")
    for key, values in state.items():
        for value in values:
            if value not in written:
                report.violation(f"{store}/{key}: holds {value!r}, which no client wrote")
                continue
            successor = superseded.get(value)
            if successor is not None:
                report.violation(
                    f"{store}/{key}: {value} is back though acknowledged {successor.kind} "
                    f"{successor.value or ''} (by {successor.node}) superseded it")
    for op in ops:
        if op.kind == "get" and op.ok:
            for value in op.read:
                if value not in written:
                    report.violation(f"{store}/{op.key}: a read on {op.node} returned {value!r}, "
                                     "which no client wrote")
    if quorum == "strict":
        stale = check_strict_reads(report, ops, writes, by_value)
        report.say(f"  strict reads: {stale} saw less than a write acknowledged before they began")
    siblings = sum(1 for values in state.values() if len(values) > 1)
    report.say(f"  converged state: {sum(len(v) for v in state.values())} values over "
               f"{len(state)} keys ({siblings} with siblings); {lost} acknowledged writes lost")


def check_strict_reads(report, ops, writes, by_value):
    """In a strict store r + w > n: a read that began after a write was
    acknowledged returns it or something descended from it (a later write
    whose context covered it) unless an acknowledged write or delete covered
    it before the read began; and it returns nothing that a delete
    acknowledged before it began had covered."""
    def descends(value, newer):
        """`newer` (a value) is `value` or was written with a context that
        covered it, through any chain of contexts (a walk back through what
        each write's read saw, never past writes that began before `value`'s)."""
        old = by_value.get(value)
        if old is None:
            return newer == value
        todo, seen_values = [newer], set()
        while todo:
            current = todo.pop()
            if current == value:
                return True
            if current in seen_values:
                continue
            seen_values.add(current)
            op = by_value.get(current)
            if op is not None and op.start >= old.start:
                todo.extend(op.seen)
        return False

    # Walk the history in time order: an acknowledgement (at its end) adds
    # its value to the key's frontier and removes what it covered; a read (at
    # its start) must cover every value on the frontier and return nothing an
    # acknowledged delete covered. A read that began the instant an ack came
    # is not held to it (reads first).
    events = []
    for op in writes:
        if op.ok:
            events.append((op.end, 1, op))
    for op in ops:
        if op.kind == "get" and op.ok:
            events.append((op.start, 0, op))
    events.sort(key=lambda event: (event[0], event[1]))
    frontier = defaultdict(dict)  # key -> {value: its acknowledged write}
    deleted = defaultdict(list)   # key -> acknowledged deletes, in order
    # Deletes that may have happened (not refused), by start: one that began
    # before a read ended may already have removed what its context covered.
    maybe_deletes = defaultdict(list)
    for op in sorted(writes, key=lambda w: w.start):
        if op.kind == "delete" and not op.refused:
            maybe_deletes[op.key].append(op)
    delete_starts = {key: [d.start for d in ds] for key, ds in maybe_deletes.items()}
    stale = 0
    for _, kind, op in events:
        if kind == 1:
            covered = [v for v in frontier[op.key]
                       if any(descends(v, seen) for seen in op.seen)]
            for value in covered:
                del frontier[op.key][value]
            if op.kind == "delete":
                deleted[op.key].append(op)
            else:
                frontier[op.key][op.value] = op
            continue
        read = op
        for value, write in frontier[read.key].items():
            if any(descends(value, got) for got in read.read):
                continue
            starts = delete_starts.get(read.key, [])
            candidates = maybe_deletes[read.key][bisect.bisect_left(starts, write.start):
                                                 bisect.bisect_left(starts, read.end)]
            if any(any(descends(value, seen) for seen in d.seen) for d in candidates):
                continue  # a delete in flight covered it
            stale += 1
            report.violation(f"strict/{read.key}: a read on {read.node} returned "
                             f"{list(read.read)} though {value} (by {write.node}) was "
                             f"acknowledged {read.start - write.end:.2f} s before it began")
            break
        for got in read.read:
            gone = next((d for d in deleted[read.key]
                         if any(descends(got, seen) for seen in d.seen)), None)
            if gone is not None:
                stale += 1
                report.violation(f"strict/{read.key}: a read on {read.node} returned {got}, "
                                 f"deleted by a delete (by {gone.node}) acknowledged "
                                 f"{read.start - gone.end:.2f} s before it began")
                break
    return stale
