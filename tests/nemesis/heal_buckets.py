#!/usr/bin/env python3
"""How fast operations recover after each healed fault, from a nemesis history.

  tests/nemesis/heal_buckets.py /tmp/hist.jsonl [--store strict]

Reads the history (`nemesis.py --history F`: one operation per line) and its
fault windows (F.windows), and prints, for operations of the store started
after a fault healed and before the next one began, how many failed in each
time bucket after the heal; and how many failed during the faults.
"""
import argparse
import json

BUCKETS = [(0, 0.5), (0.5, 1), (1, 2), (2, 3), (3, 4), (4, 6), (6, 10)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("history")
    parser.add_argument("--store", default="strict")
    args = parser.parse_args()
    with open(args.history + ".windows") as file:
        windows = [w for w in json.load(file) if w[0] != "none"]
    with open(args.history) as file:
        ops = [op for op in map(json.loads, file) if op["store"] == args.store]
    # After each heal: until the next fault begins (or 10 s after the last).
    spans = [(w[2], windows[i + 1][1] if i + 1 < len(windows) else w[2] + 10)
             for i, w in enumerate(windows)]
    during = [op for op in ops if any(w[1] <= op["start"] < w[2] for w in windows)]
    failed = sum(not op["ok"] for op in during)
    print(f"{args.store} operations started during the {len(windows)} faults: "
          f"{failed}/{len(during)} failed ({100 * failed / max(len(during), 1):.1f}%)")
    for low, high in BUCKETS:
        started = [op for op in ops
                   if any(a + low <= op["start"] < min(a + high, b) for a, b in spans)]
        failed = sum(not op["ok"] for op in started)
        print(f"  {low}-{high} s after a heal: {failed}/{len(started)} failed "
              f"({100 * failed / max(len(started), 1):.1f}%)")


if __name__ == "__main__":
    main()
