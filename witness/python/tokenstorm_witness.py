"""tokenstorm witness for an AWS IoT Core custom authorizer function (Python, standard library only).

Decorate the handler; every invocation then writes one JSON line to the function's log (CloudWatch Logs), which a
tokenstorm run with ``[target.aws] witness = "logs"`` reads to join each invocation to the attempt that caused it:

    from tokenstorm_witness import witness

    @witness
    def lambda_handler(event, context):
        ...

The line (format version 1, one per invocation, also when the handler raises):

    {"tokenstorm_witness":1,"run":"ab12cd34","attempt":"ab12cd34-valid-3-0","protocols":["tls","http"],
     "signature_verified":true,"token_sha256":"0123456789abcdef","authenticated":true,
     "request_id":"...","unix_ms":1796288400123}

- ``attempt``: the ``x-tokenstorm-attempt`` header (any case; HTTPS publish and the MQTT-over-WebSocket upgrade),
  else the MQTT username's free text ``ts-<attempt id>`` (up to the first ``?``), else null.
  ``run`` is the attempt id's first ``-`` separated field.
- ``token_sha256``: the first 16 hex characters of the SHA-256 of the token. The token itself is never written:
  the log is readable by more people than the signing key, and a token is a credential.
- ``authenticated``: the handler's ``isAuthenticated``; null when the handler raised (the exception is re-raised).
- ``unix_ms``: when the invocation started.

The witness never breaks the handler: any error writing the line is swallowed after a one-line note on stderr.

Command line (tests, fixtures): ``python3 tokenstorm_witness.py [--request-id ID] [--unix-ms N]
[--response JSON] < event.json`` prints the line for that event.

The Rust side of this contract is ``src/contract/witness_line.rs`` in the tokenstorm repository; keep them equal.
"""

import functools
import hashlib
import json
import sys
import time

VERSION = 1
HEADER = "x-tokenstorm-attempt"
USERNAME_PREFIX = "ts-"

__all__ = ["witness", "witness_line", "VERSION"]


def _attempt(event):
    """The attempt id the event carries: the header (any case, not empty), else the MQTT username's ts-<id>."""
    data = event.get("protocolData") if isinstance(event, dict) else None
    if not isinstance(data, dict):
        return None
    http = data.get("http")
    headers = http.get("headers") if isinstance(http, dict) else None
    if isinstance(headers, dict):
        value = headers.get(HEADER)
        if value is None:
            value = next((v for k, v in headers.items() if isinstance(k, str) and k.lower() == HEADER), None)
        if isinstance(value, str) and value:
            return value
    mqtt = data.get("mqtt")
    username = mqtt.get("username") if isinstance(mqtt, dict) else None
    if isinstance(username, str):
        cut = username.find("?")
        free_text = username if cut < 0 else username[:cut]
        if free_text.startswith(USERNAME_PREFIX) and len(free_text) > len(USERNAME_PREFIX):
            return free_text[len(USERNAME_PREFIX):]
    return None


def witness_line(event, response, request_id, unix_ms):
    """The witness line (a dict, in the line's key order) for an event, the handler's response (None when it
    raised), the invocation's request id and its start time in milliseconds since the Unix epoch."""
    attempt = _attempt(event)
    run = attempt.split("-", 1)[0] if attempt and "-" in attempt else None
    event = event if isinstance(event, dict) else {}
    protocols = event.get("protocols")
    token = event.get("token")
    authenticated = response.get("isAuthenticated") if isinstance(response, dict) else None
    return {
        "tokenstorm_witness": VERSION,
        "run": run or None,
        "attempt": attempt,
        "protocols": [p for p in protocols if isinstance(p, str)] if isinstance(protocols, list) else [],
        "signature_verified": event.get("signatureVerified") is True,
        "token_sha256": (hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:16]
                         if isinstance(token, str) else None),
        "authenticated": authenticated if isinstance(authenticated, bool) else None,
        "request_id": str(request_id or ""),
        "unix_ms": int(unix_ms),
    }


def _write(event, response, context, unix_ms):
    try:
        request_id = getattr(context, "aws_request_id", "")
        line = witness_line(event, response, request_id, unix_ms)
        # One write of the whole line: print() writes the text and the newline separately, and runtimes that
        # unbuffer stdout (awslambdaric does) then let another process's line land between them on a shared file.
        sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    except Exception as e:  # the witness must never break the handler
        try:
            note = f"{type(e).__name__}: {e}".replace("\n", " ")[:200]
            print(f"tokenstorm_witness: line not written: {note}", file=sys.stderr, flush=True)
        except Exception:
            pass


def witness(handler=None):
    """Decorator for a Lambda handler ``handler(event, context)``: usable bare (``@witness``) or called
    (``@witness()``). Returns what the handler returns and raises what it raises; writes one witness line per
    invocation either way."""
    if handler is None:
        return witness

    @functools.wraps(handler)
    def wrapped(event, context=None, *args, **kwargs):
        unix_ms = int(time.time() * 1000)
        try:
            response = handler(event, context, *args, **kwargs)
        except BaseException:
            _write(event, None, context, unix_ms)
            raise
        _write(event, response, context, unix_ms)
        return response

    return wrapped


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description="Print the witness line for the event JSON on stdin.")
    p.add_argument("--request-id", default="")
    p.add_argument("--unix-ms", type=int, default=None)
    p.add_argument("--response", default=None, help="the handler's response as JSON (default: none, as if raised)")
    args = p.parse_args(argv)
    event = json.load(sys.stdin)
    response = json.loads(args.response) if args.response is not None else None
    unix_ms = args.unix_ms if args.unix_ms is not None else int(time.time() * 1000)
    print(json.dumps(witness_line(event, response, args.request_id, unix_ms), separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
