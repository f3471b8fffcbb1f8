# Misbehaving authorizer functions for tests/lambda: each handler appends one JSON line to
# TOKENSTORM_FUNCTION_RECORD when it starts ({"handler": ..., "token": ..., "pid": ...}); tokens here are test
# strings, not secrets.

import json
import os
import time

ALLOW = {
    "isAuthenticated": True,
    "principalId": "testDevice",
    "disconnectAfterInSeconds": 86400,
    "refreshAfterInSeconds": 300,
    "policyDocuments": [
        {
            "Version": "2012-10-17",
            "Statement": [{"Action": "iot:*", "Effect": "Allow", "Resource": "*"}],
        }
    ],
}


def _record(handler, event):
    path = os.environ.get("TOKENSTORM_FUNCTION_RECORD")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"handler": handler, "token": event.get("token"), "pid": os.getpid(),
                                "memory": os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")}) + "\n")


def slow_handler(event, context):
    """Runs past the 5 s authorizer timeout."""
    _record("slow", event)
    time.sleep(8)
    return ALLOW


def raising_handler(event, context):
    _record("raising", event)
    raise ValueError("the authorizer failed on purpose")


def bad_principal_handler(event, context):
    _record("bad_principal", event)
    return dict(ALLOW, principalId="not a valid principal!")


def crash_handler(event, context):
    """Token `crash`: the runtime process dies mid-invocation. Anything else: allowed."""
    _record("crash", event)
    if event.get("token") == "crash":
        os._exit(3)
    return ALLOW


def gate_handler(event, context):
    """Holds the invocation until the file named by TOKENSTORM_TEST_GATE exists (at most 4 s), then allows."""
    _record("gate", event)
    gate = os.environ.get("TOKENSTORM_TEST_GATE", "")
    for _ in range(400):
        if os.path.exists(gate):
            break
        time.sleep(0.01)
    return ALLOW


def allow_handler(event, context):
    """Allows everything (iot:* on *), refresh after 300 s."""
    _record("allow", event)
    return ALLOW
