"""report.json of a short real run validates against reports/schema.json (JSON Schema draft 2020-12).

The binary comes from $TOKENSTORM_BIN, else target/debug/tokenstorm. Run: pytest tests/python
"""

import json
import os
import pathlib
import subprocess

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "reports" / "schema.json").read_text())


def binary() -> str:
    path = os.environ.get("TOKENSTORM_BIN") or str(ROOT / "target" / "debug" / "tokenstorm")
    if not pathlib.Path(path).is_file():
        pytest.fail(f"tokenstorm binary not found at {path}: build it (cargo build) or set TOKENSTORM_BIN")
    return path


def run(tmp_path: pathlib.Path, scenario: pathlib.Path, *extra: str) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path / "out"
    proc = subprocess.run(
        [binary(), "run", str(scenario), "--out-dir", str(out), "--quiet", *extra],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    reports = list(out.glob("*/report.json"))
    assert len(reports) == 1, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc, json.loads(reports[0].read_text())


def test_the_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_quickstart_report_validates(tmp_path):
    proc, report = run(tmp_path, ROOT / "scenarios" / "quickstart.toml", "--attempts", "300", "--duration", "60")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["verdict"] == "pass"
    assert sum(row["count"] for row in report["results"]) == report["throughput"]["attempts_started"] == 300


def test_a_failing_report_validates_too(tmp_path):
    scenario = tmp_path / "leaky.toml"
    scenario.write_text(
        "[run]\nduration_s = 60.0\nmax_attempts = 100\nrate_per_s = 1000.0\n"
        "[devices]\ncount = 10\n[authorizer]\nsigning_disabled = true\n"
        "[mix]\nvalid = 1.0\nforged = 2.0\nreplayed = 0.0\n"
        # An unknown or INACTIVE authorizer is refused before any signature check, signing disabled or not.
        "[mix.forged_variants]\nunknown_authorizer = 0.0\ninactive_authorizer = 0.0\n"
    )
    proc, report = run(tmp_path, scenario)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["verdict"] == "fail"
    # Signing disabled: every forged attempt reached the function and is billed.
    forged = next(row for row in report["cost"]["by_class"] if row["class"] == "forged")
    assert forged["invocations"] == forged["attempts"] > 0
    assert forged["total_pusd"] > 0 and forged["per_24h_usd"] > 0


def test_an_inconclusive_report_with_errors_validates(tmp_path):
    import socket

    with socket.socket() as s:  # a port nothing listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scenario = tmp_path / "closed.toml"
    scenario.write_text(
        "[run]\nduration_s = 1.0\nrate_per_s = 50.0\n[devices]\ncount = 4\n"
        "[transports]\nhttps = 1.0\nmqtt_tls = 1.0\n"
        f'[target]\nkind = "external"\nurl = "https://127.0.0.1:{port}"\nmqtt_tls_addr = "127.0.0.1:{port}"\n'
    )
    proc, report = run(tmp_path, scenario)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["verdict"] == "inconclusive"
    [row] = report["errors"]
    assert row["kind"] == "connect" and row["first_message"] == f"connect: connection refused (127.0.0.1:{port})"
    assert set(row["transports"]) == {"https", "mqtt_tls"}


def test_a_report_stopped_by_the_stop_file_validates(tmp_path):
    import time

    scenario = tmp_path / "long.toml"
    scenario.write_text("[run]\nduration_s = 60.0\nrate_per_s = 20.0\n[devices]\ncount = 4\n")
    stop, out = tmp_path / "stop", tmp_path / "out"
    proc = subprocess.Popen(
        [binary(), "run", str(scenario), "--out-dir", str(out), "--quiet", "--stop-file", str(stop)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )
    # The stop file must appear after the run checked for a leftover one (that exits 2): wait for its folder.
    deadline = time.monotonic() + 30
    while not any(out.glob("*/")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    stop.touch()
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 3, stdout + stderr
    [path] = out.glob("*/report.json")
    report = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["interrupted"] is True and report["stopped_by"] == "stop_file"


def test_an_aborted_report_validates(tmp_path):
    scenario = tmp_path / "leaky-long.toml"
    scenario.write_text(
        "[run]\nduration_s = 60.0\nrate_per_s = 40.0\n[devices]\ncount = 4\n[authorizer]\nsigning_disabled = true\n"
        "[mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 0.0\n"
    )
    proc, report = run(tmp_path, scenario)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    assert report["stopped_by"] == "abort" and report["verdict"] == "fail"
    assert report["safety"]["aborted_by"]["guard"] == "abort.on_forged_invocation"


def test_the_schema_rejects_a_drifted_report(tmp_path):
    proc, report = run(tmp_path, ROOT / "scenarios" / "quickstart.toml", "--attempts", "50", "--duration", "60")
    report["unexpected"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(report)


def test_a_mixed_transport_report_validates(tmp_path):
    proc, report = run(tmp_path, ROOT / "scenarios" / "mixed-transports.toml", "--duration", "3", "--rate", "100")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    transports = {row["transport"]: row for row in report["transports"]}
    assert set(transports) == {"https", "mqtt_tls", "wss"}
    assert transports["mqtt_tls"]["messages"]["published"] > 0
    phases = {(p["transport"], p["phase"]) for p in report["phases_by_kind"]}
    assert ("mqtt_tls", "connect_connack_us") in phases and ("wss", "ws_upgrade_us") in phases
    assert sum(row["count"] for row in report["results"]) == report["throughput"]["attempts_started"]


def test_a_report_with_kicks_and_a_storm_validates(tmp_path):
    scenario = tmp_path / "storm.toml"
    scenario.write_text(
        "[run]\nduration_s = 3.0\n[devices]\ncount = 6\n[transports]\nhttps = 0.0\nmqtt = 1.0\n"
        '[mqtt]\nprotocol = "5"\npublish_interval_ms = 0\ndevices_per_client_id = 2\n'
        '[mqtt.reconnect]\nbackoff = "exponential"\nbase_ms = 100\nmax_ms = 400\njitter = 0.5\n'
        "[[mqtt.storms]]\nat_s = 1.5\n"
        "[mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n"
    )
    proc, report = run(tmp_path, scenario)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    (row,) = report["sessions"]
    assert row["kicked"] > 0 and row["reconnects_after_kick"] > 0, row
    (storm,) = report["storms"]
    # One session per shared client id (3), give or take a kick racing the storm.
    assert storm["fired"] and storm["target_dropped"] >= storm["dropped"] >= 1, storm
    assert storm["invocations"] >= storm["reconnected"] > 0, storm


def test_replay_resistant_function_denies_replays_and_they_are_billed(tmp_path):
    """cost-abuse-replay-resistant.toml against the real Python function under awslambdaric (from this venv)."""
    import sys

    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    out = tmp_path / "out"
    proc = subprocess.run(
        [binary(), "run", str(ROOT / "scenarios" / "cost-abuse-replay-resistant.toml"), "--attempts", "400",
         "--out-dir", str(out), "--quiet"],
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=env,
    )
    reports = list(out.glob("*/report.json"))
    assert len(reports) == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(reports[0].read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    rows = {(row["class"], row["variant"]): row for row in report["invocations"]["by_class"]}
    replay_invocations = 0
    for variant in (None, "reused_nonce", "expired"):
        row = rows[("replayed", variant)]
        assert row["invocations"] > 0 and row["allowed"] == 0, row
        assert row["denied"] == row["invocations"], row
        replay_invocations += row["invocations"]
    valid = rows[("valid", None)]
    assert valid["allowed"] == valid["invocations"] == valid["attempts"] > 0, valid
    cost = {row["class"]: row for row in report["cost"]["by_class"]}
    assert cost["replayed"]["invocations"] == cost["replayed"]["billed_requests"] == replay_invocations
    assert cost["replayed"]["total_pusd"] > 0 and cost["replayed"]["messages"] == 0
    # The function's own record is an independent witness: one denial per replay invocation.
    record = reports[0].parent / "emulator" / "functions" / "MyCustomAuthorizer.jsonl"
    lines = [json.loads(line) for line in record.read_text().splitlines()]
    reasons = [line["reason"] for line in lines if not line["authenticated"]]
    assert len(reasons) == replay_invocations
    assert set(reasons) == {"replayed", "expired"}
    assert sum(1 for line in lines if line["authenticated"]) == valid["invocations"]


def test_replay_resistant_tokens_over_mqtt_with_the_real_function(tmp_path):
    """MQTT/TLS devices with v1 tokens: fresh CONNECTs allowed, replayed ones denied (closed without CONNACK)."""
    import sys

    scenario = tmp_path / "mqtt-replay.toml"
    scenario.write_text(f"""
[run]
duration_s = 4.0
[devices]
# 12 devices, not 6: a kept session makes no further CONNECTs, and a denied device waits out the client-id gap
# and its reconnect backoff, so 6 devices made only 9-14 attempts in 4 s; in about half the runs every replay
# drew before anything was captured (`exhausted`) and none reached the function. 12 give 25-30 attempts and
# 3-6 replayed invocations in every run tried.
count = 12
token = "replay_resistant"
[transports]
https = 0.0
mqtt_tls = 1.0
[mqtt]
publish_interval_ms = 500
connects_per_s = 50.0
[mix]
valid = 1.0
forged = 1.0
replayed = 2.0
[mix.replayed_variants]
other_device = 1.0
reused_nonce = 1.0
expired = 1.0
[authorizer.function.runtime]
command = ["python3", "-m", "awslambdaric", "lambda_function.lambda_handler"]
dir = "{ROOT / 'scenarios' / 'lambdas' / 'replay_resistant_python'}"
concurrency = 1
""")
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    out = tmp_path / "out"
    proc = subprocess.run(
        [binary(), "run", str(scenario), "--out-dir", str(out), "--quiet"],
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=env,
    )
    reports = list(out.glob("*/report.json"))
    assert len(reports) == 1, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    report = json.loads(reports[0].read_text())
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    inv = {(row["class"], row["variant"]): row for row in report["invocations"]["by_class"]}
    assert inv[("valid", None)]["allowed"] > 0
    replays = [inv[("replayed", v)] for v in (None, "reused_nonce", "expired")]
    assert sum(r["invocations"] for r in replays) > 0, replays
    assert all(r["allowed"] == 0 for r in replays), replays
    # Forged variants reach the authorizer only where the oracle lets them through the gate (`tokenstorm catalogue`).
    catalogue = json.loads(subprocess.run([binary(), "catalogue", "--json"], capture_output=True, text=True,
                                          check=True).stdout)
    passing = {row["variant"] for row in catalogue["forged"] if not row["refused"]}
    assert all(row["class"] != "forged" or row["variant"] in passing or row["invocations"] == 0
               for row in report["invocations"]["by_class"])
    outcomes = {(r["class"], r["outcome"]) for r in report["results"] if r["transport"] == "mqtt_tls"}
    assert ("replayed", "allowed") not in outcomes, outcomes
    assert ("valid", "allowed") in outcomes, outcomes
