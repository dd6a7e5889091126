#!/usr/bin/env python3
"""Next-fire computation: `runtime schedule explain` against croniter (PyPI), per next fire time.

  bench/schedule_next.py [--rounds 5]
  RUNTIME=/path/to/runtime bench/schedule_next.py

- runtime: `runtime schedule explain EXPR --count 1000 --json` minus the same with --count 1, over
  the process's wall time: the cost of 999 next fire times, start-up excluded.
- croniter: `croniter(EXPR, start).get_next()` 1,000 times in one Python process, timed in-process
  (croniter's best case: no interpreter start at all).
- Both in UTC and in America/New_York (DST), for a spread of expressions. Never gates anything.
"""
import argparse
import datetime
import statistics
import subprocess
import time
import zoneinfo

from benchlib import build_runtime

EXPRESSIONS = ["*/5 * * * *", "0 9 * * 1-5", "30 2 * * *", "0 0 L * *", "15 10 * * 5#3", "0 0 1,15 * 1", "*/15 * * * * *"]
START = "2026-01-01T00:00:00Z"


def runtime_seconds(runtime, expression, zone, count):
    start = time.perf_counter()
    subprocess.run([str(runtime), "schedule", "explain", expression, "-z", zone, "-n", str(count), "--after", START, "--json"],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def croniter_seconds(expression, zone, count):
    from croniter import croniter
    start = datetime.datetime(2026, 1, 1, tzinfo=zoneinfo.ZoneInfo(zone))
    began = time.perf_counter()
    it = croniter(expression, start, second_at_beginning=len(expression.split()) == 6)
    for _ in range(count):
        it.get_next(datetime.datetime)
    return time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runtime = build_runtime()
    print("| expression | zone | runtime next/s | croniter next/s | ratio |\n|---|---|---:|---:|---:|")
    ratios = []
    for zone in ["UTC", "America/New_York"]:
        for expression in EXPRESSIONS:
            ours = statistics.median(runtime_seconds(runtime, expression, zone, 1000) - runtime_seconds(runtime, expression, zone, 1)
                                     for _ in range(args.rounds))
            theirs = statistics.median(croniter_seconds(expression, zone, 1000) for _ in range(args.rounds))
            ours_rate, theirs_rate = 999 / max(ours, 1e-6), 1000 / theirs
            ratios.append(ours_rate / theirs_rate)
            print(f"| `{expression}` | {zone} | {ours_rate:,.0f} | {theirs_rate:,.0f} | {ours_rate / theirs_rate:.1f}x |")
    print(f"\nmedian ratio: {statistics.median(ratios):.1f}x croniter")


if __name__ == "__main__":
    main()
