"""The run folder's histograms/*.hgrm and latency.hlog, read by the HdrHistogram project's own Python package
(`hdrh`) on a three-second run: the log holds one interval per second per row, merging a row's intervals gives
the report's whole-run row (count, p50, p99, max), each second's intervals add up to report.json's
`timeseries` for that second, and each .hgrm file's rows and total count agree with the merged histogram. (hdrh's own
output_percentile_distribution steps its percentiles differently from Java's and the Rust crate's, so the
table is checked row by row against the counts rather than compared as text.)

The binary comes from $TOKENSTORM_BIN, else target/debug/tokenstorm. Run: pytest tests/python
"""

import json
import math
import pathlib
import subprocess

import pytest
from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

ROOT = pathlib.Path(__file__).resolve().parents[2]


def key(row: dict) -> str:
    parts = [row["transport"], row["class"], row["variant"], row["outcome"]]
    return ".".join(p for p in parts if p)


def value_at(h: HdrHistogram, q: float) -> int:
    """tokenstorm's (the Rust crate's) value at quantile q: the highest equivalent value of the first bucket whose
    running count reaches ceil(q × total)."""
    target = max(1, math.ceil(q * h.get_total_count()))
    seen = 0
    for i in range(h.counts_len):
        seen += h.get_count_at_index(i)
        if seen >= target:
            return h.get_highest_equivalent_value(h.get_value_from_index(i))
    raise AssertionError("quantile past the total count")


def counted_up_to(h: HdrHistogram, value: int) -> int:
    """How many recorded values fall in buckets starting at or below `value`."""
    return sum(h.get_count_at_index(i) for i in range(h.counts_len) if h.get_value_from_index(i) <= value)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory, tokenstorm):
    out = tmp_path_factory.mktemp("hist") / "out"
    scenario = ROOT / "scenarios" / "quickstart.toml"
    # 600 attempts at 200/s: a three-second load, so every row has several one-second intervals.
    proc = tokenstorm(
        "run", scenario, "--out-dir", out, "--quiet", "--attempts", "600", "--rate", "200", "--duration", "60", cwd=ROOT
    )
    folders = list(out.iterdir()) if out.exists() else []
    assert len(folders) == 1, proc.stdout.decode() + proc.stderr.decode()
    return folders[0]


def read_log(path: pathlib.Path) -> dict[str, list[HdrHistogram]]:
    return {tag: [h for _, h in intervals] for tag, intervals in read_intervals(path).items()}


def read_intervals(path: pathlib.Path) -> dict[str, list[tuple[int, HdrHistogram]]]:
    """Per tag, (second since the log's StartTime, histogram) of each interval; every interval lasts 1 s."""
    reader = HistogramLogReader(str(path), HdrHistogram(1, 3_600_000_000, 3))
    by_tag: dict[str, list[tuple[int, HdrHistogram]]] = {}
    while (h := reader.get_next_interval_histogram()) is not None:
        start_s = h.get_start_time_stamp() / 1000.0 - reader.get_start_time_sec()
        assert abs(start_s - round(start_s)) < 1e-3 and round(start_s) >= 0, start_s
        assert abs((h.get_end_time_stamp() - h.get_start_time_stamp()) / 1000.0 - 1.0) < 1e-3
        by_tag.setdefault(h.get_tag(), []).append((round(start_s), h))
    reader.close()
    return by_tag


def test_the_log_has_one_interval_per_second_per_row(run_folder):
    report = json.loads((run_folder / "report.json").read_text())
    intervals = read_intervals(run_folder / "latency.hlog")
    text = (run_folder / "latency.hlog").read_text()
    assert "#[StartTime: " in text and "#[BaseTime: " in text
    # The quickstart has no warm-up: every ended attempt is in a histogram, so each second's intervals add up
    # to the timeseries row of that second and (transport, outcome), with the same p99.
    assert report["timing"]["warmup_s"] == 0
    per_second: dict[tuple[int, str, str], HdrHistogram] = {}
    for tag, rows in intervals.items():
        seconds = [s for s, _ in rows]
        assert seconds == sorted(set(seconds)), (tag, seconds)
        transport, outcome = tag.split(".")[0], tag.split(".")[-1]
        for second, h in rows:
            merged = per_second.setdefault((second, transport, outcome), HdrHistogram(1, 3_600_000_000, 3))
            merged.add(h)
    series = report["timeseries"]
    assert series["interval_s"] == 1 and series["seconds"] >= 3 and not series["truncated"]
    rows = {(r["second"], r["transport"], r["outcome"]): r for r in series["attempts"]}
    assert set(rows) == set(per_second)
    for k, h in per_second.items():
        assert h.get_total_count() == rows[k]["count"], k
        assert value_at(h, 0.99) == rows[k]["p99_us"], k
    valid = intervals["https.valid.allowed"]
    assert len(valid) >= 3 and {0, 1, 2} <= {s for s, _ in valid}


def test_the_log_holds_the_reports_rows(run_folder):
    report = json.loads((run_folder / "report.json").read_text())
    rows = {key(r): r["latency_us"] for r in report["results"] if r.get("latency_us")}
    logged = read_log(run_folder / "latency.hlog")
    assert rows and set(logged) == set(rows)
    for tag, intervals in logged.items():
        whole = HdrHistogram(1, 3_600_000_000, 3)
        for h in intervals:
            whole.add(h)
        want = rows[tag]
        assert whole.get_total_count() == want["count"] == sum(h.get_total_count() for h in intervals), tag
        assert value_at(whole, 0.5) == want["p50"], tag
        assert value_at(whole, 0.99) == want["p99"], tag
        assert whole.get_max_value() == want["max"], tag


def test_each_hgrm_matches_its_histogram(run_folder):
    logged = read_log(run_folder / "latency.hlog")
    files = {p.name.removesuffix(".hgrm"): p for p in (run_folder / "histograms").glob("*.hgrm")}
    assert set(files) == set(logged)
    for tag, path in files.items():
        text = path.read_text()
        whole = HdrHistogram(1, 3_600_000_000, 3)
        for h in logged[tag]:
            whole.add(h)
        total = next(line for line in text.splitlines() if line.startswith("#[Max"))
        assert total.rstrip("]").split("=")[-1].strip() == str(whole.get_total_count()), tag
        # Each table row (value in ms, percentile, total count): `total` values were recorded up to `value`, and
        # that reaches the row's percentile (how HdrHistogram's percentile iterator steps); the last row is the max.
        rows = [line.split() for line in text.splitlines()[2:] if line and not line.startswith("#")]
        assert rows, tag
        n = whole.get_total_count()
        for value_ms, percentile, total, *_ in rows:
            value_us = round(float(value_ms) * 1000)
            assert counted_up_to(whole, value_us) == int(total), (tag, value_ms)
            assert int(total) / n >= float(percentile) - 1e-12, (tag, percentile)
        assert float(rows[-1][1]) == 1.0 and round(float(rows[-1][0]) * 1000) == whole.get_max_value(), tag
