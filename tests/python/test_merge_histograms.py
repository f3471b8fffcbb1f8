"""`tokenstorm merge` seen by the HdrHistogram project's own Python package (`hdrh`): two shards of the quickstart
plan merged; per row, the merged latency.hlog's intervals add up to exactly the two shards' intervals (every
bucket's count), and the merged report's row counts are the shards' summed. An independent decoder of the V2 +
DEFLATE encoding the evidence and the log share.

The binary comes from $TOKENSTORM_BIN, else target/debug/tokenstorm. Run: pytest tests/python
"""

import json
import pathlib

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

ROOT = pathlib.Path(__file__).resolve().parents[2]


def rows_of(log: pathlib.Path) -> dict[str, HdrHistogram]:
    """Per tag, every interval of the log added."""
    reader = HistogramLogReader(str(log), HdrHistogram(1, 3_600_000_000, 3))
    rows: dict[str, HdrHistogram] = {}
    while (h := reader.get_next_interval_histogram()) is not None:
        rows.setdefault(h.get_tag(), HdrHistogram(1, 3_600_000_000, 3)).add(h)
    return rows


def buckets(h: HdrHistogram) -> dict[int, int]:
    return {i: h.get_count_at_index(i) for i in range(h.counts_len) if h.get_count_at_index(i)}


def test_merged_log_is_the_shards_added_exactly(tmp_path, tokenstorm):
    scenario = ROOT / "scenarios" / "quickstart.toml"
    folders = []
    for i in range(2):
        out = tmp_path / f"s{i}"
        proc = tokenstorm(
            "run", scenario, "--shard", f"{i}/2", "--out-dir", out, "--quiet",
            "--attempts", "300", "--rate", "200", "--duration", "60", cwd=ROOT,
        )
        found = list(out.iterdir()) if out.exists() else []
        assert len(found) == 1, proc.stdout.decode() + proc.stderr.decode()
        folders.append(found[0])
    merged = tmp_path / "merged"
    proc = tokenstorm("merge", *folders, "--out", merged)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()

    want: dict[str, HdrHistogram] = {}
    for f in folders:
        for tag, h in rows_of(f / "latency.hlog").items():
            want.setdefault(tag, HdrHistogram(1, 3_600_000_000, 3)).add(h)
    got = rows_of(merged / "latency.hlog")
    assert sorted(got) == sorted(want) and got
    for tag in want:
        assert got[tag].get_total_count() == want[tag].get_total_count(), tag
        assert buckets(got[tag]) == buckets(want[tag]), tag

    report = json.loads((merged / "report.json").read_text())
    shards = [json.loads((f / "report.json").read_text()) for f in folders]
    assert report["throughput"]["attempts_started"] == 300
    count = lambda r: {(x["transport"], x["class"], x["variant"], x["outcome"]): x["count"] for x in r["results"]}
    summed: dict = {}
    for s in shards:
        for k, n in count(s).items():
            summed[k] = summed.get(k, 0) + n
    assert count(report) == summed
    assert [m["index"] for m in report["merged_from"]] == [0, 1]
