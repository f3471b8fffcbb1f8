"""The witness helpers users add to their authorizer function (witness/): the Python decorator run in-process, the
Node wrapper run by `node` (async, callback style, failures), and the layer zips scripts/witness-layer builds,
imported from their unzipped layout as Lambda would. Each invocation writes exactly one line, the token never."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import types
import zipfile

import pytest

from conftest import REPO_ROOT

PY_HELPER = REPO_ROOT / "witness" / "python" / "tokenstorm_witness.py"
NODE_HELPER = REPO_ROOT / "witness" / "node" / "tokenstorm-witness.js"
TOKEN = "MyStringThatNeedsToBeSigned"
TOKEN_SHA256 = "8de411c918c5ed28"  # sha256(TOKEN)[:16]


def load_helper():
    spec = importlib.util.spec_from_file_location("tokenstorm_witness", PY_HELPER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def https_event(attempt="ab12-valid-3-0", header="x-tokenstorm-attempt"):
    return {
        "token": TOKEN,
        "signatureVerified": True,
        "protocols": ["tls", "http"],
        "protocolData": {"tls": {}, "http": {"headers": {"host": "h", header: attempt}}},
        "connectionMetadata": {"id": "c1"},
    }


def mqtt_event(username):
    return {
        "token": TOKEN,
        "signatureVerified": True,
        "protocols": ["tls", "mqtt"],
        "protocolData": {"tls": {}, "mqtt": {"username": username, "clientId": "d1"}},
    }


def context(request_id="req-1"):
    return types.SimpleNamespace(aws_request_id=request_id)


def lines(out):
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def node():
    path = shutil.which("node")
    if path is None:
        pytest.fail("node is not on PATH: scripts/test installs it (Debian package nodejs)", pytrace=False)
    return path


# ---- Python -----------------------------------------------------------------------------------------------------

def test_decorated_handler_returns_its_response_and_writes_one_line(capsys):
    w = load_helper()

    @w.witness
    def lambda_handler(event, ctx):
        return {"isAuthenticated": True, "principalId": "p"}

    assert lambda_handler.__name__ == "lambda_handler"
    assert lambda_handler(https_event(), context()) == {"isAuthenticated": True, "principalId": "p"}
    out = capsys.readouterr().out
    assert TOKEN not in out
    [line] = lines(out)
    assert list(line) == ["tokenstorm_witness", "run", "attempt", "protocols", "signature_verified",
                          "token_sha256", "authenticated", "request_id", "unix_ms"]
    assert line["tokenstorm_witness"] == 1
    assert (line["run"], line["attempt"]) == ("ab12", "ab12-valid-3-0")
    assert line["protocols"] == ["tls", "http"] and line["signature_verified"] is True
    assert line["token_sha256"] == TOKEN_SHA256
    assert line["authenticated"] is True and line["request_id"] == "req-1"
    assert line["unix_ms"] > 1_600_000_000_000
    assert out.count("\n") == 1 and out.startswith('{"tokenstorm_witness":1,')


def test_called_form_and_a_missing_context(capsys):
    w = load_helper()

    @w.witness()
    def handler(event, ctx):
        return {"isAuthenticated": False}

    handler(mqtt_event("ts-r7-forged.truncated-2-9?x-amz-customauthorizer-name=A&k=v"), None)
    [line] = lines(capsys.readouterr().out)
    assert (line["run"], line["attempt"], line["authenticated"]) == ("r7", "r7-forged.truncated-2-9", False)
    assert line["request_id"] == ""


def test_a_raising_handler_writes_authenticated_null_and_the_exception_goes_on(capsys):
    w = load_helper()
    boom = RuntimeError("boom")

    @w.witness
    def handler(event, ctx):
        raise boom

    with pytest.raises(RuntimeError) as raised:
        handler(https_event(), context("req-9"))
    assert raised.value is boom
    [line] = lines(capsys.readouterr().out)
    assert (line["attempt"], line["authenticated"], line["request_id"]) == ("ab12-valid-3-0", None, "req-9")


def test_no_attempt_id_gives_null_run_and_attempt(capsys):
    w = load_helper()
    handler = w.witness(lambda event, ctx: {"isAuthenticated": True})
    for event in [mqtt_event("device-7?k=v"), mqtt_event("ts-?k=v"), https_event(attempt=""),
                  {"token": TOKEN}, {}, "not a dict"]:
        handler(event, context())
    out = lines(capsys.readouterr().out)
    assert len(out) == 6
    assert all(l["run"] is None and l["attempt"] is None for l in out)
    assert out[-1]["token_sha256"] is None and out[-1]["protocols"] == []


def test_the_header_name_is_case_insensitive_and_wins_over_the_username(capsys):
    w = load_helper()
    handler = w.witness(lambda event, ctx: {"isAuthenticated": True})
    for name in ["X-Tokenstorm-Attempt", "X-TOKENSTORM-ATTEMPT", "x-tokenstorm-attempt"]:
        handler(https_event("h1-valid-0-0", header=name), context())
    wss = https_event("h1-valid-0-1")
    wss["protocolData"]["mqtt"] = {"username": "ts-other-valid-0-0?k=v"}
    handler(wss, context())
    assert [l["attempt"] for l in lines(capsys.readouterr().out)] == [
        "h1-valid-0-0", "h1-valid-0-0", "h1-valid-0-0", "h1-valid-0-1"]


def test_the_attempt_id_runs_to_the_first_question_mark(capsys):
    w = load_helper()
    handler = w.witness(lambda event, ctx: None)
    handler(mqtt_event("ts-a?b?k=v"), context())
    handler(mqtt_event("ts-r1-valid-0-0"), context())
    out = lines(capsys.readouterr().out)
    assert [l["attempt"] for l in out] == ["a", "r1-valid-0-0"]
    assert out[0]["authenticated"] is None  # the handler returned no response


def test_a_witness_failure_never_breaks_the_handler(capsys, monkeypatch):
    w = load_helper()

    def broken(*args):
        raise ValueError("cannot\nwrite")

    monkeypatch.setattr(w, "witness_line", broken)
    handler = w.witness(lambda event, ctx: {"isAuthenticated": True})
    assert handler(https_event(), context()) == {"isAuthenticated": True}
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "tokenstorm_witness: line not written: ValueError: cannot write\n"


def test_the_command_line_prints_the_line_for_an_event_on_stdin():
    out = subprocess.run(
        [sys.executable, str(PY_HELPER), "--request-id", "r", "--unix-ms", "7",
         "--response", '{"isAuthenticated": false}'],
        input=json.dumps(https_event()), capture_output=True, text=True, check=True, timeout=30)
    assert json.loads(out.stdout) == {
        "tokenstorm_witness": 1, "run": "ab12", "attempt": "ab12-valid-3-0", "protocols": ["tls", "http"],
        "signature_verified": True, "token_sha256": TOKEN_SHA256, "authenticated": False,
        "request_id": "r", "unix_ms": 7}


# ---- Node -------------------------------------------------------------------------------------------------------

NODE_DRIVER = r"""
const { wrap } = require(process.argv[1]);
const events = JSON.parse(process.argv[2]);
const allow = { isAuthenticated: true, principalId: 'p' };
const run = async () => {
  const results = [];
  const asyncOk = wrap(async (event, context) => allow);
  results.push(await asyncOk(events.https, { awsRequestId: 'async-ok' }));
  const syncOk = wrap((event) => ({ isAuthenticated: false }));  // a plain function: Lambda awaits its value
  results.push(await syncOk(events.mqtt, { awsRequestId: 'sync-deny' }));
  const throws = wrap(async () => { throw new Error('boom'); });
  try { await throws(events.https, { awsRequestId: 'async-throw' }); } catch (e) { results.push(e.message); }
  const cb = wrap((event, context, callback) => setImmediate(() => callback(null, allow)));
  results.push(await new Promise((resolve) => cb(events.none, { awsRequestId: 'cb-ok' }, (err, r) => resolve(r))));
  const cbErr = wrap((event, context, callback) => callback(new Error('cb-boom')));
  results.push(await new Promise((resolve) => cbErr(events.upper, { awsRequestId: 'cb-err' }, (err) => resolve(err.message))));
  const brokenCtx = wrap(async () => allow);
  results.push(await brokenCtx(events.https, null));
  console.error(JSON.stringify(results));
};
run();
"""


def test_node_wrapper_async_callback_and_failures():
    events = {"https": https_event(), "mqtt": mqtt_event("ts-n1-replayed-1-1?k=v"),
              "none": mqtt_event("device?k=v"), "upper": https_event("u1-valid-0-0", header="X-TokenStorm-Attempt")}
    out = subprocess.run([node(), "-e", NODE_DRIVER, str(NODE_HELPER), json.dumps(events)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert TOKEN not in out.stdout
    got = lines(out.stdout)
    assert [(l["request_id"], l["attempt"], l["authenticated"]) for l in got] == [
        ("async-ok", "ab12-valid-3-0", True),
        ("sync-deny", "n1-replayed-1-1", False),
        ("async-throw", "ab12-valid-3-0", None),
        ("cb-ok", None, True),
        ("cb-err", "u1-valid-0-0", None),
        ("", "ab12-valid-3-0", True),
    ]
    assert all(l["token_sha256"] == TOKEN_SHA256 and l["unix_ms"] > 1_600_000_000_000 for l in got)
    results = json.loads(out.stderr.strip().splitlines()[-1])
    allow = {"isAuthenticated": True, "principalId": "p"}
    assert results == [allow, {"isAuthenticated": False}, "boom", allow, "cb-boom", allow]


def test_node_and_python_print_the_same_line_for_the_same_event():
    for event in [https_event(), mqtt_event("ts-x1-valid-0-0?k=v"), mqtt_event("plain"), {}]:
        args = ["--request-id", "same", "--unix-ms", "1796288400123", "--response", '{"isAuthenticated":true}']
        py = subprocess.run([sys.executable, str(PY_HELPER), *args], input=json.dumps(event),
                            capture_output=True, text=True, check=True, timeout=30)
        js = subprocess.run([node(), str(NODE_HELPER), *args], input=json.dumps(event),
                            capture_output=True, text=True, check=True, timeout=30)
        assert json.loads(py.stdout) == json.loads(js.stdout), event


# ---- Layer zips ---------------------------------------------------------------------------------------------------

def test_layer_zips_are_deterministic_and_importable_as_lambda_lays_them_out(tmp_path):
    script = REPO_ROOT / "scripts" / "witness-layer"
    out = subprocess.run([sys.executable, str(script), str(tmp_path / "a")], capture_output=True, text=True,
                         check=True, timeout=60)
    paths = out.stdout.split()
    assert [os.path.basename(p) for p in paths] == ["tokenstorm-witness-python.zip", "tokenstorm-witness-nodejs.zip"]
    subprocess.run([sys.executable, str(script), str(tmp_path / "b")], capture_output=True, check=True, timeout=60)
    for p in paths:
        assert (tmp_path / "a" / os.path.basename(p)).read_bytes() == (tmp_path / "b" / os.path.basename(p)).read_bytes()

    py_zip, node_zip = map(zipfile.ZipFile, paths)
    assert py_zip.namelist() == ["python/tokenstorm_witness.py"]
    assert node_zip.namelist() == ["nodejs/node_modules/tokenstorm-witness/index.js",
                                   "nodejs/node_modules/tokenstorm-witness/package.json"]
    opt = tmp_path / "opt"
    py_zip.extractall(opt)
    node_zip.extractall(opt)
    event = json.dumps(https_event())

    # Lambda's Python runtime has /opt/python on sys.path; run from a directory without the helper.
    py = subprocess.run(
        [sys.executable, "-c",
         "import json, sys, types\n"
         "from tokenstorm_witness import witness\n"
         "h = witness(lambda e, c: {'isAuthenticated': True})\n"
         "h(json.loads(sys.argv[1]), types.SimpleNamespace(aws_request_id='layer'))\n", event],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(opt / "python")},
        capture_output=True, text=True, timeout=30)
    assert py.returncode == 0, py.stderr
    [line] = lines(py.stdout)
    assert (line["attempt"], line["request_id"]) == ("ab12-valid-3-0", "layer")

    # Lambda's Node runtime has /opt/nodejs/node_modules on NODE_PATH.
    js = subprocess.run(
        [node(), "-e",
         "const { wrap } = require('tokenstorm-witness');"
         "wrap(async () => ({ isAuthenticated: true }))(JSON.parse(process.argv[1]), { awsRequestId: 'layer' });",
         event],
        cwd=tmp_path, env={**os.environ, "NODE_PATH": str(opt / "nodejs" / "node_modules")},
        capture_output=True, text=True, timeout=30)
    assert js.returncode == 0, js.stderr
    [line] = lines(js.stdout)
    assert (line["attempt"], line["request_id"]) == ("ab12-valid-3-0", "layer")
