"""The replay-resistant reference function (scenarios/lambdas/replay_resistant_python) under AWS's own Python
runtime client (awslambdaric), attached with `tokenstorm emulate --lambda-cmd ... --lambda-dir ...`, reached by
paho-mqtt (a client nobody here wrote) over TLS with ALPN `mqtt`: a fresh v1 token connects; the same token
replayed and an expired token are refused (no CONNACK) after the function ran; a forged signature never reaches the
function (its own record is the witness, and so is the tokenstorm witness line it prints: one per invocation, naming
the attempt id the username's `ts-<id>` free text carries)."""

import json
import sys
import time
import urllib.parse

import paho.mqtt.client as paho

import _emulator as E
from test_paho_custom_auth import Device

WAIT = 10


def username(token: str, signature: str, attempt: str) -> str:
    q = urllib.parse.quote
    return (f"ts-{attempt}?x-amz-customauthorizer-name={q(E.AUTHORIZER, safe='')}"
            f"&{E.TOKEN_KEY_NAME}={q(token, safe='')}&x-amz-customauthorizer-signature={q(signature, safe='')}")


def records(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


def witness_lines(log_path):
    """The tokenstorm witness lines the function printed (its stdout goes to the emulator's stderr log)."""
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"tokenstorm_witness":')]


def attempt(emu, client_id, token, key, attempt_id):
    d = Device(emu, client_id, username(token, emu.sign(key, token), attempt_id), paho.MQTTv311)
    for _ in range(WAIT * 50):  # until CONNACK or the close, at most WAIT seconds
        if d.connected.is_set() or d.closed.is_set():
            break
        time.sleep(0.02)
    connected = d.connected.is_set() and d.reason == 0
    d.stop()
    return connected


def test_replays_and_expired_tokens_are_denied_by_the_function_and_forgeries_never_reach_it(
        tokenstorm_bin, tmp_path, repo_root):
    emu = E.start(tokenstorm_bin, tmp_path,
                  lambda_cmd=f"{sys.executable} -m awslambdaric lambda_function.lambda_handler",
                  lambda_dir=str(repo_root / "scenarios/lambdas/replay_resistant_python"))
    try:
        record = tmp_path / "state" / "functions" / f"{E.AUTHORIZER}.jsonl"
        now = int(time.time())
        fresh = f"v1.pahoDevice.{now}.nonceA1b2c3d4"
        assert attempt(emu, "dev-1", fresh, emu.key, "py1-valid-0-1")
        assert not attempt(emu, "dev-2", fresh, emu.key, "py1-replayed-0-2"), "a replayed token must be refused"
        assert not attempt(emu, "dev-3", f"v1.pahoDevice.{now - 3600}.nonceE5f6g7h8", emu.key, "py1-valid-0-3")
        assert not attempt(emu, "dev-4", f"v1.pahoDevice.{now}.nonceI9j0k1l2", emu.attacker_key,
                           "py1-forged.wrong_key-0-4")
        assert [r["reason"] for r in records(record)] == ["fresh", "replayed", "expired"]
        ledger = emu.ledger()
        assert [e["verdict"] for e in ledger] == ["allow", "deny", "deny"]
        assert all(e["backend"] == "runtime_api" and e["billed_ms"] >= 1 for e in ledger)
        lines = witness_lines(tmp_path / "emulator.log")
        assert [(w["run"], w["attempt"], w["authenticated"]) for w in lines] == [
            ("py1", "py1-valid-0-1", True), ("py1", "py1-replayed-0-2", False), ("py1", "py1-valid-0-3", False)]
        assert [w["attempt"] for w in lines] == [e["attempt_id"] for e in ledger]
    finally:
        emu.stop()
