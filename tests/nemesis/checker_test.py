#!/usr/bin/env python3
"""The nemesis checker, checked: histories with a known flaw must be reported,
and their correct twins must not. Runs without a cluster (CTest runs it)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker import Report, judge  # noqa: E402
from workload import Op  # noqa: E402


class History:
    """Builds operations in time order: each starts after the previous ended."""

    def __init__(self):
        self.ops = []
        self.clock = 0.0

    def op(self, kind, key="k0", ok=True, value="", seen=(), read=(), store="s", refused=False):
        self.clock += 1.0
        op = Op(store, 0, "n1", kind, key, self.clock, self.clock + 0.5, ok=ok, answered=True,
                value=value, seen=tuple(seen), read=tuple(read), refused=refused)
        self.ops.append(op)
        self.clock += 0.5
        return op


def violations(history, state, quorum="sloppy"):
    report = Report()
    judge(report, "s", quorum, history.ops, state)
    return report.violations, report.lines


class CheckerTest(unittest.TestCase):
    def test_an_acknowledged_write_missing_from_the_state_is_lost(self):
        h = History()
        h.op("put", value="a")
        h.op("put", value="b")
        count, lines = violations(h, {"k0": {"b"}})
        self.assertEqual(count, 1, lines)
        self.assertIn("acknowledged write a", lines[0])
        self.assertEqual(violations(h, {"k0": {"a", "b"}})[0], 0)  # siblings: both kept

    def test_a_write_superseded_by_one_that_read_it_is_not_lost(self):
        h = History()
        h.op("put", value="a")
        h.op("get", read=["a"])
        h.op("rmw", value="b", seen=["a"])
        self.assertEqual(violations(h, {"k0": {"b"}})[0], 0)
        # ... even through a write that was never acknowledged, if it is there:
        h2 = History()
        h2.op("put", value="a")
        h2.op("rmw", value="b", seen=["a"], ok=False)
        self.assertEqual(violations(h2, {"k0": {"b"}})[0], 0)
        # but not when neither is:
        self.assertEqual(violations(h2, {"k0": set()})[0], 1)

    def test_a_deleted_value_that_comes_back_is_reported(self):
        h = History()
        h.op("put", value="a")
        h.op("delete", seen=["a"])
        self.assertEqual(violations(h, {"k0": set()})[0], 0)
        count, lines = violations(h, {"k0": {"a"}})
        self.assertEqual(count, 1, lines)
        self.assertIn("is back", lines[0])

    def test_a_stale_sibling_beside_its_acknowledged_successor_is_reported(self):
        h = History()
        h.op("put", value="a")
        h.op("rmw", value="b", seen=["a"])
        self.assertEqual(violations(h, {"k0": {"a", "b"}})[0], 1)

    def test_a_value_nobody_wrote_is_reported(self):
        h = History()
        h.op("put", value="a")
        h.op("get", read=["zzz"])
        count, lines = violations(h, {"k0": {"a", "q"}})
        self.assertEqual(count, 2, lines)

    def test_a_strict_read_that_misses_an_acknowledged_write_is_reported(self):
        h = History()
        h.op("put", value="a")
        h.op("put", value="b")
        h.op("get", read=["a"])  # b was acknowledged before this read began
        state = {"k0": {"a", "b"}}
        self.assertEqual(violations(h, state, "sloppy")[0], 0)  # sloppy: allowed
        count, lines = violations(h, state, "strict")
        self.assertEqual(count, 1, lines)
        self.assertIn("though b", lines[0])
        ok = History()
        ok.op("put", value="a")
        ok.op("rmw", value="b", seen=["a"])
        ok.op("rmw", value="c", seen=["b"])
        ok.op("get", read=["c"])  # descends from a and b
        self.assertEqual(violations(ok, {"k0": {"c"}}, "strict")[0], 0)

    def test_a_refused_delete_accounts_for_nothing(self):
        h = History()
        h.op("put", value="a")
        h.op("delete", seen=["a"], ok=False, refused=True)  # 4xx: nothing stored
        self.assertEqual(violations(h, {"k0": set()})[0], 1)
        h2 = History()
        h2.op("put", value="a")
        h2.op("delete", seen=["a"], ok=False)  # timed out: it may have happened
        self.assertEqual(violations(h2, {"k0": set()})[0], 0)

    def test_a_strict_read_of_a_value_an_acknowledged_delete_covered_is_reported(self):
        h = History()
        h.op("put", value="a")
        h.op("delete", seen=["a"])
        h.op("get", read=["a"])
        count, lines = violations(h, {"k0": set()}, "strict")
        self.assertEqual(count, 1, lines)
        self.assertIn("deleted by a delete", lines[0])

    def test_a_strict_read_may_miss_what_a_delete_in_flight_covered(self):
        h = History()
        h.op("put", value="a")
        h.op("delete", seen=["a"], ok=False)  # timed out: it may have been applied
        h.op("get", read=[])
        self.assertEqual(violations(h, {"k0": set()}, "strict")[0], 0)

    def test_a_strict_read_must_see_every_acknowledged_sibling_not_only_the_last(self):
        h = History()
        for value in ("a", "b", "c", "d"):
            h.op("put", value=value)  # blind: four concurrent siblings
        h.op("get", read=["b", "c", "d"])
        count, lines = violations(h, {"k0": {"a", "b", "c", "d"}}, "strict")
        self.assertEqual(count, 1, lines)
        self.assertIn("though a", lines[0])

    def test_a_long_chain_of_read_modify_writes_is_judged_without_recursion(self):
        h = History()
        h.op("put", value="v0")
        for number in range(1, 5000):
            h.op("rmw", value=f"v{number}", seen=[f"v{number - 1}"])
        h.op("get", read=["v4999"])
        self.assertEqual(violations(h, {"k0": {"v4999"}}, "strict")[0], 0)
        self.assertEqual(violations(h, {"k0": set()}, "strict")[0], 5000)  # all lost


if __name__ == "__main__":
    unittest.main()
