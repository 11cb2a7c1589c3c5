#!/usr/bin/env python3
"""What ctest's order costs: replays the test times of a `scripts/test` log on ctest's
scheduler (JOBS jobs; tests/e2e/resources.json's e2e slots, a test's RESOURCE_GROUPS
and RESOURCE_LOCK)
in two orders, the log's own (a run without costs: test number) and the order of the
build's COST properties, and prints the wall time of each, so the effect of an order is
known without another 25-minute CI run.

  bench/ci_schedule.py LOG [BUILD_DIR] [--jobs 2] [--set e2e_name=seconds ...]

--set replaces a test's time (what if seed_libvirt took 240 s?). The replay assumes a
test takes as long whatever runs beside it, which on 2 cores is only roughly true.
"""
import argparse
import heapq
import json
import re
import subprocess
import sys


def log_times(path):
    times = {}
    with open(path, errors="replace") as f:
        for m in re.finditer(r"Test +#(\d+): (\S+) \.+.*?([\d.]+) sec", f.read()):
            times[m.group(2)] = (int(m.group(1)), float(m.group(3)))
    return times


def build_properties(build_dir):
    out = subprocess.run(["ctest", "--test-dir", build_dir, "--show-only=json-v1"],
                         check=True, capture_output=True, text=True).stdout
    props = {}
    for t in json.loads(out)["tests"]:
        p = {x["name"]: x["value"] for x in t.get("properties", [])}
        slots = sum(r.get("slots", 0) for g in p.get("RESOURCE_GROUPS", [])
                    for r in g.get("requirements", []) if r.get(".type") == "e2e")
        props[t["name"]] = (float(p.get("COST", 0)), slots, frozenset(p.get("RESOURCE_LOCK", [])))
    return props


def replay(order, seconds, slots, locks, jobs, e2e_slots=2):
    t, running, free, pending, held = 0.0, [], e2e_slots, list(order), set()
    while pending or running:
        started = True
        while len(running) < jobs and started:
            started = False
            for i, name in enumerate(pending):
                if slots[name] <= free and not locks[name] & held:
                    free -= slots[name]
                    held |= locks[name]
                    heapq.heappush(running, (t + seconds[name], name))
                    pending.pop(i)
                    started = True
                    break
        if not running:
            sys.exit("a test needs more e2e slots than there are")
        t, name = heapq.heappop(running)
        free += slots[name]
        held -= locks[name]
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("log")
    ap.add_argument("build_dir", nargs="?", default="build")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--set", action="append", default=[], metavar="TEST=SECONDS")
    a = ap.parse_args()
    times = log_times(a.log)
    if not times:
        sys.exit(f"{a.log}: no ctest results in it")
    props = build_properties(a.build_dir)
    seconds = {n: s for n, (_, s) in times.items()}
    for kv in a.set:
        name, _, value = kv.partition("=")
        if name not in seconds:
            sys.exit(f"--set {kv}: {name} is not in {a.log}")
        seconds[name] = float(value)
    slots = {n: props.get(n, (0, 0, frozenset()))[1] for n in times}
    locks = {n: props.get(n, (0, 0, frozenset()))[2] for n in times}
    by_number = sorted(times, key=lambda n: times[n][0])
    by_cost = sorted(by_number, key=lambda n: -props.get(n, (0, 0, frozenset()))[0])
    e2e = [n for n in times if slots[n]]
    print(f"{len(times)} tests; e2e {sum(seconds[n] for n in e2e):.0f} s of test time, "
          f"the rest {sum(seconds[n] for n in times if n not in e2e):.0f} s")
    print(f"by test number (no costs): {replay(by_number, seconds, slots, locks, a.jobs):.0f} s")
    print(f"by COST:                   {replay(by_cost, seconds, slots, locks, a.jobs):.0f} s")


if __name__ == "__main__":
    main()
