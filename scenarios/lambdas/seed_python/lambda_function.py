# The seed article's authorizer function, exactly as the article deploys it, with its JSON made valid (the
# article's policyDocuments entry lost its braces). Handler: lambda_function.lambda_handler.
#
# The additions: `_record`, one JSON line per invocation to the file named by TOKENSTORM_FUNCTION_RECORD (set by
# tokenstorm; nothing happens when it is unset), so tests can count invocations from the function's side; and the
# tokenstorm witness (`@witness`, one JSON line per invocation to the function's log, which a run on a real account
# joins by attempt id; witness/README.md). Both record a hash prefix of the token, never the token.
# tokenstorm_witness.py here is a symlink to witness/python/tokenstorm_witness.py (zip follows it when packaging).

import hashlib
import json
import os

from tokenstorm_witness import witness


def _shape(event):
    """What the event carried, without secrets: protocolData's parts and their keys, the SNI, the client id."""
    if not isinstance(event, dict):
        return None
    data = event.get("protocolData") or {}
    return {
        "protocolData": {k: sorted(v) for k, v in data.items() if isinstance(v, dict)},
        "serverName": (data.get("tls") or {}).get("serverName"),
        "clientId": (data.get("mqtt") or {}).get("clientId"),
        "connectionId": bool((event.get("connectionMetadata") or {}).get("id")),
    }


def _record(event, response):
    path = os.environ.get("TOKENSTORM_FUNCTION_RECORD")
    if not path:
        return
    token = event.get("token") if isinstance(event, dict) else None
    line = {
        "token": hashlib.sha256(str(token).encode()).hexdigest()[:16] if token is not None else None,
        "authenticated": bool(response.get("isAuthenticated")),
        "reason": "seed",
        "pid": os.getpid(),
        "protocols": event.get("protocols") if isinstance(event, dict) else None,
        "signatureVerified": event.get("signatureVerified") if isinstance(event, dict) else None,
        "shape": _shape(event),
    }
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(line) + "\n")


@witness
def lambda_handler(event, context):

    # Check for stuff (i.e. login / password, bearer token etc)

    response = {
        "isAuthenticated": True,
        "principalId": "myPrincipalDevice123",
        "disconnectAfterInSeconds": 86400,
        "refreshAfterInSeconds": 300,
        "policyDocuments": [
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Action": "iot:Publish",
                        "Effect": "Allow",
                        "Resource": "arn:aws:iot:*:*:topic/customAuhtTestTopic",
                    }
                ],
            }
        ],
    }
    _record(event, response)
    return response
