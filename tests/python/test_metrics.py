"""The generator's `/metrics` (`tokenstorm run --metrics-addr`), parsed by Prometheus's own Python client
(`prometheus_client.parser`): every family has the type it declares, the latency histogram's buckets are
cumulative and end at `+Inf` = `_count`, and after the report (`--linger`) the attempts by transport, class and
outcome add up to the report's `results`.

The binary comes from $TOKENSTORM_BIN, else target/debug/tokenstorm. Run: pytest tests/python
"""

import json
import pathlib
import queue
import subprocess
import threading
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

ROOT = pathlib.Path(__file__).resolve().parents[2]


def stderr_lines(proc: subprocess.Popen) -> "queue.Queue[str]":
    q: "queue.Queue[str]" = queue.Queue()

    def pump():
        for line in proc.stderr:
            q.put(line.decode())

    threading.Thread(target=pump, daemon=True).start()
    return q


def wait_for(q: "queue.Queue[str]", needle: str) -> str:
    while True:
        line = q.get(timeout=120)
        if needle in line:
            return line


def test_the_generator_metrics_parse_as_prometheus_text_and_add_up_to_the_report(tmp_path, tokenstorm_bin):
    out, stop = tmp_path / "out", tmp_path / "stop"
    proc = subprocess.Popen(
        [str(tokenstorm_bin), "run", "--seed", "5", "--duration", "2", "--rate", "100",
         "--metrics-addr", "127.0.0.1:0", "--linger", "--stop-file", str(stop), "--out-dir", str(out)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        lines = stderr_lines(proc)
        url = wait_for(lines, "metrics: http://").split("metrics: ", 1)[1].strip()
        wait_for(lines, "(--linger)")
        with urllib.request.urlopen(url, timeout=10) as r:
            assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = r.read().decode()
    finally:
        stop.touch()
        proc.wait(timeout=60)
    assert proc.returncode == 0
    report = json.loads(next(out.iterdir()).joinpath("report.json").read_text())

    families = {f.name: f for f in text_string_to_metric_families(body)}
    # The client strips `_total` from counter family names.
    assert families["tokenstorm_generator_attempts"].type == "counter"
    assert families["tokenstorm_generator_attempts_in_flight"].type == "gauge"
    assert families["tokenstorm_generator_mqtt_devices_connected"].type == "gauge"
    latency = families["tokenstorm_generator_latency_us"]
    assert latency.type == "histogram"

    attempts = {}
    for s in families["tokenstorm_generator_attempts"].samples:
        if s.name.endswith("_total"):
            attempts[(s.labels["transport"], s.labels["class"], s.labels["outcome"])] = s.value
    expected = {k: 0.0 for k in attempts}
    for row in report["results"]:
        expected[(row["transport"], row["class"], row["outcome"])] += row["count"]
    assert attempts == expected

    https = [s for s in latency.samples if s.labels.get("transport") == "https"]
    buckets = [(s.labels["le"], s.value) for s in https if s.name.endswith("_bucket")]
    values = [v for _, v in buckets]
    assert values == sorted(values), "cumulative buckets"
    assert buckets[-1][0] == "+Inf"
    count = next(s.value for s in https if s.name.endswith("_count"))
    assert buckets[-1][1] == count
    in_histograms = sum(r["latency_us"]["count"] for r in report["results"]
                        if r["transport"] == "https" and r["latency_us"])
    assert count == in_histograms > 0
