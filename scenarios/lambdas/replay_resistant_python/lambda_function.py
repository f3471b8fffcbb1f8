# A replay-resistant authorizer (see ../README.md for the token format): the signed token is
# v1.<device>.<unix_s>.<nonce>; expired tokens, tokens from the future and reused nonces are denied.
# Handler: lambda_function.lambda_handler. Environment: TOKENSTORM_MAX_TOKEN_AGE_S (default 300),
# TOKENSTORM_MAX_CLOCK_SKEW_S (default 30), TOKENSTORM_FUNCTION_RECORD (one JSON line per invocation).
# The tokenstorm witness (`@witness`) writes one JSON line per invocation to the function's log (witness/README.md);
# tokenstorm_witness.py here is a symlink to witness/python/tokenstorm_witness.py (zip follows it when packaging).
#
# Nonces are kept in memory, per runtime process. A real deployment runs many instances and needs a shared store:
# e.g. DynamoDB PutItem with ConditionExpression "attribute_not_exists(nonce)" and a TTL of unix_s + max age.

import hashlib
import json
import os
import re
import time

from tokenstorm_witness import witness

TOKEN = re.compile(r"^v1\.([A-Za-z0-9]{1,64})\.([0-9]{1,12})\.([A-Za-z0-9_-]{8,64})$")
MAX_AGE_S = int(os.environ.get("TOKENSTORM_MAX_TOKEN_AGE_S", "300"))
MAX_SKEW_S = int(os.environ.get("TOKENSTORM_MAX_CLOCK_SKEW_S", "30"))

# AWS re-invokes the function on every MQTT refresh with the CONNECT's token and the same connectionMetadata.id:
# a nonce is bound to the first connection that used it, and that connection's refreshes are allowed (without the
# age check) for as long as a session may last (MAX_SESSION_S, the largest disconnectAfterInSeconds).
MAX_SESSION_S = int(os.environ.get("TOKENSTORM_MAX_SESSION_S", "86400"))

# (device, nonce) -> (issue time, connection id); dropped after max(MAX_AGE_S, MAX_SESSION_S).
_seen = {}


def _record(event, authenticated, reason):
    path = os.environ.get("TOKENSTORM_FUNCTION_RECORD")
    if not path:
        return
    token = event.get("token") if isinstance(event, dict) else None
    line = {
        "token": hashlib.sha256(str(token).encode()).hexdigest()[:16] if token is not None else None,
        "authenticated": authenticated,
        "reason": reason,
        "pid": os.getpid(),
        "protocols": event.get("protocols") if isinstance(event, dict) else None,
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


def _deny(event, reason):
    _record(event, False, reason)
    return {"isAuthenticated": False}


def _forget_old(now):
    keep = max(MAX_AGE_S, MAX_SESSION_S)
    for key in [k for k, (issued, _) in _seen.items() if now - issued > keep]:
        del _seen[key]


@witness
def lambda_handler(event, context):
    token = event.get("token") if isinstance(event, dict) else None
    match = TOKEN.match(token) if isinstance(token, str) else None
    if event.get("signatureVerified") is not True:
        return _deny(event, "unsigned")
    if not match:
        return _deny(event, "malformed")
    device, issued, nonce = match.group(1), int(match.group(2)), match.group(3)
    connection = (event.get("connectionMetadata") or {}).get("id")
    now = int(time.time())
    _forget_old(now)
    seen = _seen.get((device, nonce))
    if seen is not None:
        if connection and seen[1] == connection and "mqtt" in (event.get("protocols") or []):
            _record(event, True, "refresh")
            return _allow(device)
        return _deny(event, "replayed")
    if now - issued > MAX_AGE_S:
        return _deny(event, "expired")
    if issued - now > MAX_SKEW_S:
        return _deny(event, "future")
    _seen[(device, nonce)] = (issued, connection)
    _record(event, True, "fresh")
    return _allow(device)


def _allow(device):
    return {
        "isAuthenticated": True,
        "principalId": device,
        "disconnectAfterInSeconds": 86400,
        "refreshAfterInSeconds": 300,
        "policyDocuments": [
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Action": ["iot:Connect", "iot:Publish", "iot:Subscribe", "iot:Receive"],
                        "Effect": "Allow",
                        "Resource": "*",
                    }
                ],
            }
        ],
    }
