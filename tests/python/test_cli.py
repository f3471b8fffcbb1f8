"""The command-line surface seen from outside: --version, --help listing every subcommand, and a keygen → sign →
`openssl dgst -verify` round trip, with Python's own base64 and URL decoding as independent checks."""

import base64
import json
import re
import shutil
import subprocess
import tomllib
import urllib.parse

import pytest

SUBCOMMANDS = ["run", "emulate", "fuzz", "catalogue", "keygen", "sign", "verify", "test-invoke", "report", "compare", "merge"]
FLAGS = {
    "keygen": ["--out", "--public-out", "--bits"],
    "sign": ["--key", "--token", "--token-file", "--url-encode"],
    "verify": ["--public-key", "--token", "--token-file", "--signature"],
}


def test_version_matches_cargo_toml(tokenstorm, repo_root):
    version = tomllib.loads((repo_root / "Cargo.toml").read_text())["package"]["version"]
    out = tokenstorm("--version")
    assert out.returncode == 0, out
    assert out.stdout.decode().strip() == f"tokenstorm {version}"


def test_help_lists_every_subcommand(tokenstorm):
    out = tokenstorm("--help")
    assert out.returncode == 0, out
    listed = re.findall(r"^  ([a-z-]+)\s", out.stdout.decode(), flags=re.M)
    for name in SUBCOMMANDS:
        assert name in listed, f"--help does not list `{name}`: {out.stdout.decode()}"
        sub = tokenstorm(name, "--help")
        assert sub.returncode == 0, sub


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_toolkit_help_documents_its_flags(tokenstorm, name):
    text = tokenstorm(name, "--help").stdout.decode()
    for flag in FLAGS[name]:
        assert flag in text, f"`tokenstorm {name} --help` does not document {flag}"


def test_unknown_subcommand_is_a_usage_error(tokenstorm):
    out = tokenstorm("no-such-command")
    assert out.returncode == 2, out
    assert out.stdout == b""


def test_keygen_sign_verifies_under_openssl(tokenstorm, tmp_path):
    openssl = shutil.which("openssl")
    assert openssl, "openssl is not installed (scripts/test installs it)"
    key, pub = tmp_path / "private_key.pem", tmp_path / "public_key.pem"
    out = tokenstorm("keygen", "--out", key, "--public-out", pub)
    assert out.returncode == 0, out
    assert key.stat().st_mode & 0o777 == 0o600

    token = "MyStringThatNeedsToBeSigned"
    signed = tokenstorm("sign", "--key", key, "--token", token)
    assert signed.returncode == 0, signed
    b64 = signed.stdout.decode().strip()
    sig = base64.b64decode(b64, validate=True)
    assert len(sig) == 256

    (tmp_path / "sig.bin").write_bytes(sig)
    (tmp_path / "token.txt").write_bytes(token.encode())
    verified = subprocess.run(
        [openssl, "dgst", "-sha256", "-verify", str(pub), "-signature", str(tmp_path / "sig.bin"), str(tmp_path / "token.txt")],
        capture_output=True,
        check=False,
    )
    assert verified.returncode == 0 and verified.stdout.strip() == b"Verified OK", verified

    encoded = tokenstorm("sign", "--key", key, "--token", token, "--url-encode").stdout.decode().strip()
    assert urllib.parse.unquote(encoded) == b64
    assert not set("+/=") & set(encoded)

    ok = tokenstorm("verify", "--public-key", pub, "--token", token, "--signature", b64)
    assert ok.returncode == 0, ok
    bad = tokenstorm("verify", "--public-key", pub, "--token", token + " ", "--signature", b64)
    assert bad.returncode == 1 and b"does not match" in bad.stdout, bad


def test_catalogue_prints_the_oracle_under_the_gate_settings_given(tokenstorm):
    out = tokenstorm("catalogue", "--json", "--gate-query-plus", "space")
    assert out.returncode == 0, out
    doc = json.loads(out.stdout)
    assert doc["gate"] == {
        "query_plus": "space",
        "duplicates": "first",
        "query_names": "exact",
        "username_query": "first_question_mark",
        "bare_params": "split",
    }
    rows = {r["variant"]: r for r in doc["forged"]}
    assert len(rows) == len(doc["forged"]) >= 47
    assert rows["raw_plus"]["verdict"] == "not_base64" and rows["raw_plus"]["refused"] is True
    assert rows["duplicated_token"]["verdict"] == "passes"
    assert rows["second_question_mark"]["transports"]["https"]["sent"] == "skipped"
    bad = tokenstorm("catalogue", "--gate-duplicates", "middle")
    assert bad.returncode == 2
    assert "--gate-duplicates" in bad.stderr.decode() and "reject" in bad.stderr.decode()
