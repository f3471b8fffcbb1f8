#!/usr/bin/env python3
"""Added MQTT CONNECT latency of a real authorizer function: N sequential MQTT 3.1.1 CONNECTs (plain TCP listener,
one connection each, time from sending CONNECT to reading CONNACK) against `tokenstorm emulate`, with the
in-process function (default allow) and then with the replay-resistant Python function under awslambdaric through
the Runtime API (--lambda-cmd). Every token is fresh (v1.<device>.<unix_s>.<nonce>), so every CONNECT is allowed.
Standard library only; run from the repository root after `cargo build`:

    .venv/bin/python scenarios/lambdas/bench_connect.py [--connects 200] [--bin target/debug/tokenstorm]
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAME, KEY_NAME = "BenchAuthorizer", "tok"


def frame(kind: int, body: bytes) -> bytes:
    n, out = len(body), bytearray([kind])
    while True:
        b, n = n % 128, n // 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out) + body


def string(s: bytes) -> bytes:
    return len(s).to_bytes(2, "big") + s


def connect_packet(client_id: str, username: str) -> bytes:
    body = string(b"MQTT") + bytes([4, 0x82]) + (60).to_bytes(2, "big")
    return frame(0x10, body + string(client_id.encode()) + string(username.encode()))


def start(bin_path: Path, tmp: Path, extra: list) -> tuple[subprocess.Popen, tuple]:
    args = [str(bin_path), "emulate", "--authorizer-json", str(tmp / "a.json"), "--default-authorizer", NAME,
            "--bind-https", "off", "--bind-http", "off", "--bind-admin", ":0", "--bind-mqtt", ":0",
            "--state-dir", str(tmp / "state"), *extra]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ready = json.loads(proc.stdout.readline())
    host, port = ready["mqtt"].rsplit(":", 1)
    return proc, (host, int(port))


def bench(addr: tuple, creds: list) -> list:
    took = []
    for i, (token, sig) in enumerate(creds):
        q = urllib.parse.quote
        user = f"?x-amz-customauthorizer-name={NAME}&{KEY_NAME}={q(token, safe='')}" \
               f"&x-amz-customauthorizer-signature={q(sig, safe='')}"
        with socket.create_connection(addr, timeout=10) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            packet = connect_packet(f"bench{i}", user)
            t0 = time.perf_counter()
            s.sendall(packet)
            connack = s.recv(4)
            took.append((time.perf_counter() - t0) * 1000)
            if connack[:1] != b"\x20" or connack[3:4] != b"\x00":
                sys.exit(f"CONNECT {i} refused: {connack!r}")
    return took


def summary(label: str, ms: list) -> str:
    ms = sorted(ms)
    pct = lambda p: ms[min(len(ms) - 1, int(p * len(ms)))]
    return f"{label:<34} n={len(ms):<5} mean {statistics.mean(ms):7.2f} ms  p50 {pct(0.5):7.2f}  " \
           f"p90 {pct(0.9):7.2f}  p99 {pct(0.99):7.2f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--connects", type=int, default=200)
    ap.add_argument("--bin", default=str(REPO / "target/debug/tokenstorm"))
    args = ap.parse_args()
    bin_path = Path(args.bin)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        subprocess.run([str(bin_path), "keygen", "--out", str(tmp / "k.pem"), "--public-out", str(tmp / "p.pem")],
                       check=True, capture_output=True)
        describe = {"authorizerDescription": {"authorizerName": NAME, "tokenKeyName": KEY_NAME, "status": "ACTIVE",
                                              "tokenSigningPublicKeys": {"K": (tmp / "p.pem").read_text()}}}
        (tmp / "a.json").write_text(json.dumps(describe))
        now = int(time.time())

        def creds(prefix: str) -> list:
            out = []
            for i in range(args.connects):
                token = f"v1.bench{prefix}.{now}.nonce{prefix}{i:06d}"
                sig = subprocess.run([str(bin_path), "sign", "--key", str(tmp / "k.pem"), "--token", token],
                                     check=True, capture_output=True).stdout.decode().strip()
                out.append((token, sig))
            return out

        runs = [("in-process (default allow)", [], "A"),
                ("runtime API (replay-resistant .py)",
                 ["--lambda-cmd", f"{sys.executable} -m awslambdaric lambda_function.lambda_handler",
                  "--lambda-dir", str(REPO / "scenarios/lambdas/replay_resistant_python")], "B")]
        for label, extra, prefix in runs:
            tokens = creds(prefix)
            proc, addr = start(bin_path, tmp, extra)
            try:
                bench(addr, tokens[:5])  # warm-up: the first CONNECT of a process is a cold start
                print(summary(label, bench(addr, tokens[5:])))
            finally:
                proc.terminate()
                proc.wait(timeout=15)


if __name__ == "__main__":
    main()
