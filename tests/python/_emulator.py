"""Starting `tokenstorm emulate` as a subprocess for the MQTT client tests (paho-mqtt, the AWS IoT Device SDK).

Each emulator gets fresh keys (`tokenstorm keygen`), an authorizer given as `aws iot describe-authorizer` JSON (its
default function allows connect/publish/subscribe/receive everywhere), `:0` binds unless told otherwise, and its
ready line parsed. The SDK forces port 443 with ALPN `mqtt`: `start_on_443` binds the HTTPS listener (which also
serves ALPN `mqtt`) to 127.0.0.<random>:443, retrying another address when one is taken, and adds that address to
the certificate, so the SDK connects to the IP literal with `ca_filepath` and no system change (no /etc/hosts).
"""

import json
import random
import select
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

AUTHORIZER = "MyCustomAuthorizer"
TOKEN_KEY_NAME = "X-My-App-custom-key"
TOKEN = "MyStringThatNeedsToBeSigned"
TOPIC = "customAuhtTestTopic"


@dataclass
class Emulator:
    proc: subprocess.Popen
    ready: dict
    key: Path
    attacker_key: Path
    bin: Path

    def addr(self, name: str) -> tuple[str, int]:
        host, port = self.ready[name].rsplit(":", 1)
        return host, int(port)

    @property
    def ca(self) -> str:
        return self.ready["ca_cert"]

    def sign(self, key: Path, token: str = TOKEN) -> str:
        out = subprocess.run([str(self.bin), "sign", "--key", str(key), "--token", token],
                             capture_output=True, check=True, timeout=30)
        return out.stdout.decode().strip()

    def ledger(self) -> list:
        host, port = self.addr("admin")
        with urllib.request.urlopen(f"http://{host}:{port}/ledger", timeout=10) as r:
            return json.load(r)["entries"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def keys(bin_path: Path, tmp: Path) -> tuple[Path, Path, Path]:
    """(signing key, its public key, an attacker's key)."""
    out = {}
    for stem in ("signing", "attacker"):
        priv, pub = tmp / f"{stem}_private.pem", tmp / f"{stem}_public.pem"
        subprocess.run([str(bin_path), "keygen", "--out", str(priv), "--public-out", str(pub)],
                       capture_output=True, check=True, timeout=60)
        out[stem] = (priv, pub)
    return out["signing"][0], out["signing"][1], out["attacker"][0]


def _read_ready(proc: subprocess.Popen, timeout: float = 30) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            return line.decode() if line else None
    return None


def start(bin_path: Path, tmp: Path, **flags: str) -> Emulator:
    """Starts the emulator (`flags` override the default binds, `bind_https=...`); fails the test (never skips)
    when it does not come up."""
    emu = try_start(bin_path, tmp, **flags)
    if isinstance(emu, str):
        pytest.fail(f"tokenstorm emulate did not start: {emu}", pytrace=False)
    return emu


def try_start(bin_path: Path, tmp: Path, **flags: str) -> "Emulator | str":
    key, pub, attacker = keys(bin_path, tmp)
    describe = {"authorizerDescription": {"authorizerName": AUTHORIZER, "tokenKeyName": TOKEN_KEY_NAME,
                                          "status": "ACTIVE", "signingDisabled": False,
                                          "tokenSigningPublicKeys": {"FIRST_KEY": pub.read_text()}}}
    (tmp / "authorizer.json").write_text(json.dumps(describe))
    opts = {"bind_https": ":0", "bind_http": "off", "bind_admin": ":0", "bind_mqtt_tls": ":0", "bind_mqtt": ":0",
            **flags}
    args = [str(bin_path), "emulate", "--authorizer-json", str(tmp / "authorizer.json"),
            "--default-authorizer", AUTHORIZER, "--state-dir", str(tmp / "state")]
    for name, value in opts.items():
        args += [f"--{name.replace('_', '-')}", value]
    stderr = open(tmp / "emulator.log", "wb")
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr)
    line = _read_ready(proc)
    if not line:
        proc.kill()
        proc.wait(timeout=5)
        return (tmp / "emulator.log").read_text(errors="replace")
    return Emulator(proc=proc, ready=json.loads(line), key=key, attacker_key=attacker, bin=bin_path)


def start_on_443(bin_path: Path, tmp: Path, **flags: str) -> tuple[Emulator, str]:
    """An emulator whose HTTPS listener (HTTPS, ALPN `mqtt`, WebSocket) is on 127.0.0.<x>:443; returns it and x's IP.
    `flags` are further `tokenstorm emulate` flags (`gate_duplicates="reject"`)."""
    tried = []
    for _ in range(8):
        ip = f"127.0.0.{random.randint(2, 254)}"
        sub = tmp / ip
        sub.mkdir()
        emu = try_start(bin_path, sub, bind_https=f"{ip}:443", endpoint_name=ip, **flags)
        if not isinstance(emu, str):
            return emu, ip
        tried.append(f"{ip}: {emu.strip().splitlines()[-1] if emu.strip() else '(no output)'}")
        if "cannot listen" not in emu:
            break
    pytest.fail("cannot bind the emulator to 127.0.0.x:443 (needs root or CAP_NET_BIND_SERVICE): "
                + "; ".join(tried), pytrace=False)
