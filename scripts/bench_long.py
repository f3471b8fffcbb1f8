#!/usr/bin/env python3
"""scripts/bench --long helpers: a long run's resident memory and CPU per attempt, early against late.

  bench_long.py sample OUT.json PID     samples PID (and its descendants) once a second until it exits:
                                        [seconds since the first sample, RSS kB, CPU seconds] per sample
  bench_long.py figures SAMPLES.json REPORT.json WINDOW_S
                                        compares the window after the first minute of the load with the last
                                        window of it: mean RSS, CPU seconds per attempt (attempts from the
                                        report's per-second timeseries), and each one's drift (late / early - 1)

Standard library only. Linux /proc only.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_scale import descendants, stat  # noqa: E402


def sample(out, pid):
    t0 = time.monotonic()
    rows = []
    while True:
        pids = descendants([pid])
        stats = [s for s in (stat(p) for p in pids) if s]
        if not stats:
            break
        rows.append([round(time.monotonic() - t0, 3), sum(s[2] for s in stats), sum(s[1] for s in stats)])
        with open(out, "w") as f:
            json.dump(rows, f)
        time.sleep(1)


def window(rows, start, end):
    inside = [r for r in rows if start <= r[0] < end]
    if len(inside) < 2:
        return None
    rss = sum(r[1] for r in inside) / len(inside)
    return rss, inside[0], inside[-1]


def figures(samples, report, width):
    rows = json.load(open(samples))
    r = json.load(open(report))
    per_second = {}
    for a in r["timeseries"]["attempts"]:
        per_second[a["second"]] = per_second.get(a["second"], 0) + a["count"]
    # The samples start with the process; the load starts later (keys, catalogue, emulator): align on the
    # report's load length, which ends with the process's last samples (the report takes a second or two).
    load_s = r["timeseries"]["seconds"]
    end = rows[-1][0]
    load_start = max(0.0, end - load_s - 2.0)
    out = []
    for name, (a, b) in (
        ("early", (60, 60 + width)),
        ("late", (load_s - width, load_s)),
    ):
        w = window(rows, load_start + a, load_start + b)
        if w is None:
            print(f"{name}: not enough samples in [{a}, {b}) s of the load", file=sys.stderr)
            return 1
        rss, first, last = w
        attempts = sum(n for s, n in per_second.items() if a <= s < b)
        cpu = last[2] - first[2]
        out.append((name, a, b, rss, cpu, attempts))
    print(f"{'window':<8} {'load s':>11} {'RSS MB':>8} {'CPU s':>7} {'attempts':>9} {'CPU ms/attempt':>15}")
    for name, a, b, rss, cpu, attempts in out:
        per = cpu * 1000 / attempts if attempts else float("nan")
        print(f"{name:<8} {f'{a}-{b}':>11} {rss / 1024:>8.1f} {cpu:>7.2f} {attempts:>9} {per:>15.3f}")
    (_, _, _, rss0, cpu0, n0), (_, _, _, rss1, cpu1, n1) = out
    drift_rss = rss1 / rss0 - 1
    drift_cpu = (cpu1 / n1) / (cpu0 / n0) - 1 if n0 and n1 and cpu0 else float("nan")
    print(f"drift late/early: RSS {drift_rss * 100:+.1f}%, CPU per attempt {drift_cpu * 100:+.1f}%")
    return 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "sample":
        sample(sys.argv[2], int(sys.argv[3]))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "figures":
        return figures(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
