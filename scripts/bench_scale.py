#!/usr/bin/env python3
"""scripts/bench --scale helpers: sample processes from /proc, and turn shard reports into the capacity figures.

  bench_scale.py monitor OUT.json PID...      sample every PID and its descendants once a second until every
                                              PID has exited; writes peak RSS (summed over the processes at one
                                              instant, and per process) and CPU seconds (user + system)
  bench_scale.py figures MONITOR.json DEVICES REPORT.json...
                                              prints the figures: devices connected, connects/s,
                                              CONNECT->CONNACK p99, peak RSS per device, CPU s per device, verdict
  bench_scale.py split GEN.json EMU.json DEVICES REPORT.json
                                              the same for a generator and an external emulator measured apart

Standard library only (runs with the system python3). Linux /proc only.
"""

import json
import os
import sys
import time

TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def stat(pid):
    """(ppid, cpu seconds, rss kB) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            raw = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    ppid, utime, stime, rss_pages = int(fields[1]), int(fields[11]), int(fields[12]), int(fields[21])
    return ppid, (utime + stime) / TICKS, rss_pages * PAGE_KB


def descendants(roots):
    """The roots and every live descendant (a `run --processes` parent's shard children)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            s = stat(int(entry))
            if s:
                children.setdefault(s[0], []).append(int(entry))
    out, todo = set(), list(roots)
    while todo:
        p = todo.pop()
        if p not in out:
            out.add(p)
            todo.extend(children.get(p, []))
    return out


def monitor(out_path, roots):
    cpu, peak_rss, peak_total, samples, peak_at, first_total = {}, {}, 0, 0, 0.0, None
    t0 = time.monotonic()
    while any(os.path.exists(f"/proc/{p}") and stat(p) for p in roots):
        total = 0
        for pid in descendants(roots):
            s = stat(pid)
            if not s:
                continue
            # The last CPU time seen: a process's final second after its last sample is not counted.
            cpu[pid] = s[1]
            peak_rss[pid] = max(peak_rss.get(pid, 0), s[2])
            total += s[2]
        if first_total is None and total:
            first_total = total
        if total > peak_total:
            peak_total, peak_at = total, time.monotonic() - t0
        samples += 1
        time.sleep(1.0)
    json.dump(
        {
            "samples": samples,
            "peak_rss_total_kb": peak_total,
            "first_rss_total_kb": first_total or 0,
            "peak_at_s": round(peak_at, 1),
            "peak_rss_kb": {str(p): v for p, v in peak_rss.items()},
            "cpu_s": {str(p): round(v, 2) for p, v in cpu.items()},
            "cpu_total_s": round(sum(cpu.values()), 2),
        },
        open(out_path, "w"),
        indent=1,
    )


def connects(reports):
    """(connected devices, connects/s over the seconds CONNACKs came in, busiest second) from the shards'
    timeseries: every shard's second 0 is its own load start, within a second of the others'."""
    per_second, connected = {}, 0
    for r in reports:
        for row in r["transports"]:
            if row["transport"].startswith("mqtt"):
                connected += row["outcomes"].get("allowed", 0)
        for row in r["timeseries"]["attempts"]:
            if row["outcome"] == "allowed" and row["transport"].startswith("mqtt"):
                per_second[row["second"]] = per_second.get(row["second"], 0) + row["count"]
    if not per_second:
        return connected, 0.0, 0
    span = max(per_second) - min(per_second) + 1
    return connected, sum(per_second.values()) / span, max(per_second.values())


def connack_p99(reports):
    """CONNECT->CONNACK p99 in ms: the merged report's, or (shards unmerged) the highest shard's."""
    p99 = []
    for r in reports:
        for row in r["phases"]:
            if row["phase"] == "connect_connack_us" and row["class"] == "valid" and row["latency_us"]:
                p99.append(row["latency_us"]["p99"])
    return max(p99) / 1000.0 if p99 else None


def verdict(reports):
    shard = lambda r: "{index}/{count}".format(**r["shard"]) if r.get("shard") else "whole"
    failed = [
        f"{v['name']} (shard {shard(r)})"
        for r in reports
        for v in r["invariants"]
        if v["status"] == "fail"
    ]
    return reports[0]["verdict"] if len(reports) == 1 else ("fail: " + ", ".join(failed) if failed else "pass")


def figures(monitor_path, devices, report_paths):
    m = json.load(open(monitor_path))
    reports = [json.load(open(p)) for p in report_paths]
    # `run --processes` writes its shards' folders under the merged one: the merged report alone counts.
    merged = [r for r in reports if not r.get("shard")]
    reports = merged[:1] or reports
    connected, rate, busiest = connects(reports)
    p99 = connack_p99(reports)
    how = "merged report" if len(reports) == 1 else f"{len(reports)} shard reports, not merged: the highest shard p99"
    rows = [
        ("devices connected", f"{connected:,} of {devices:,}"),
        ("connects/s", f"{rate:,.0f} (busiest second {busiest:,})"),
        ("CONNECT->CONNACK p99", f"{p99:.1f} ms ({how})" if p99 is not None else "-"),
        ("peak RSS, all processes", f"{m['peak_rss_total_kb'] / 1024:,.0f} MiB at {m['peak_at_s']} s"),
        ("peak RSS per device", f"{m['peak_rss_total_kb'] * 1024 / max(devices, 1) / 1000:,.1f} kB (generator + emulator)"),
        ("processes", f"{len(m['cpu_s'])} (peak RSS each {min(m['peak_rss_kb'].values(), default=0) // 1024}"
         f"-{max(m['peak_rss_kb'].values(), default=0) // 1024} MiB)"),
        ("CPU", f"{m['cpu_total_s']:,.1f} s = {m['cpu_total_s'] * 1000 / max(devices, 1):.2f} ms per device"),
        ("verdict", verdict(reports)),
    ]
    for k, v in rows:
        print(f"{k:<28} {v}")


def split(gen_path, emu_path, devices, report_path):
    gen, emu = json.load(open(gen_path)), json.load(open(emu_path))
    r = json.load(open(report_path))
    connected, rate, _ = connects([r])
    p99 = connack_p99([r])
    per = lambda m: m["peak_rss_total_kb"] * 1024 / max(devices, 1) / 1000
    # Net of the first sample (the process before its devices: the generator just started, the emulator idle).
    net = lambda m: (m["peak_rss_total_kb"] - m.get("first_rss_total_kb", 0)) * 1024 / max(devices, 1) / 1000
    rows = [
        ("devices connected", f"{connected:,} of {devices:,} at {rate:,.0f}/s"),
        ("CONNECT->CONNACK p99", f"{p99:.1f} ms" if p99 is not None else "-"),
        ("generator peak RSS", f"{gen['peak_rss_total_kb'] / 1024:,.0f} MiB = {per(gen):.1f} kB per device"
         f" ({net(gen):.1f} kB over its first sample)"),
        ("emulator peak RSS", f"{emu['peak_rss_total_kb'] / 1024:,.0f} MiB = {per(emu):.1f} kB per session"
         f" ({net(emu):.1f} kB over its idle {emu.get('first_rss_total_kb', 0) / 1024:,.0f} MiB)"),
        ("generator CPU", f"{gen['cpu_total_s']:.1f} s = {gen['cpu_total_s'] * 1000 / max(devices, 1):.2f} ms per device"),
        ("emulator CPU", f"{emu['cpu_total_s']:.1f} s = {emu['cpu_total_s'] * 1000 / max(devices, 1):.2f} ms per device"),
        ("verdict", r["verdict"]),
    ]
    for k, v in rows:
        print(f"{k:<28} {v}")


def main(argv):
    if len(argv) >= 3 and argv[0] == "monitor":
        monitor(argv[1], [int(p) for p in argv[2:]])
    elif len(argv) >= 4 and argv[0] == "figures":
        figures(argv[1], int(argv[2]), argv[3:])
    elif len(argv) == 5 and argv[0] == "split":
        split(argv[1], argv[2], int(argv[3]), argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
