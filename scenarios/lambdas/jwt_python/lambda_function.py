# An authorizer that takes a JWT as the custom-auth token (tokenstorm's devices.token = "jwt") and verifies it
# with PyJWT: the signature under TOKENSTORM_JWT_PUBLIC_KEY_FILE (a PEM public key, relative to this folder),
# the algorithm (TOKENSTORM_JWT_ALGORITHMS, default "RS256,ES256"), exp/iat/jti/sub present, exp not past, and
# optionally aud (TOKENSTORM_JWT_AUDIENCE) and iss (TOKENSTORM_JWT_ISSUER). A jti seen before is a replay.
# Handler: lambda_function.lambda_handler. TOKENSTORM_FUNCTION_RECORD: one JSON line per invocation (../README.md).
# The tokenstorm witness (`@witness`) writes one JSON line per invocation to the function's log (witness/README.md);
# tokenstorm_witness.py here is a symlink to witness/python/tokenstorm_witness.py (zip follows it when packaging).
#
# Seen jtis are kept in memory, per runtime process, until their exp (as in replay_resistant_python). A real
# deployment needs a store shared by every instance, e.g. DynamoDB PutItem with ConditionExpression
# "attribute_not_exists(jti)" and a TTL of exp.

import hashlib
import json
import os
import re
import time

import jwt
from tokenstorm_witness import witness

ALGORITHMS = [a.strip() for a in os.environ.get("TOKENSTORM_JWT_ALGORITHMS", "RS256,ES256").split(",") if a.strip()]
AUDIENCE = os.environ.get("TOKENSTORM_JWT_AUDIENCE") or None
ISSUER = os.environ.get("TOKENSTORM_JWT_ISSUER") or None
# AWS re-invokes the function on every MQTT refresh with the CONNECT's token and the same connectionMetadata.id:
# that connection's refreshes are allowed while the token has not expired.
_seen = {}  # jti -> (exp, connection id)
_key = None


def _public_key():
    global _key
    if _key is None:
        with open(os.environ["TOKENSTORM_JWT_PUBLIC_KEY_FILE"], encoding="utf-8") as f:
            _key = f.read()
    return _key


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


def _forget_expired(now):
    for jti in [j for j, (exp, _) in _seen.items() if exp < now]:
        del _seen[jti]


@witness
def lambda_handler(event, context):
    if event.get("signatureVerified") is not True:
        return _deny(event, "unsigned")
    token = event.get("token")
    if not isinstance(token, str):
        return _deny(event, "malformed")
    try:
        claims = jwt.decode(
            token,
            _public_key(),
            algorithms=ALGORITHMS,
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "jti", "sub"], "verify_aud": AUDIENCE is not None},
        )
    except jwt.ExpiredSignatureError:
        return _deny(event, "expired")
    except jwt.InvalidTokenError:
        return _deny(event, "invalid")
    now = int(time.time())
    _forget_expired(now)
    connection = (event.get("connectionMetadata") or {}).get("id")
    jti = str(claims["jti"])
    seen = _seen.get(jti)
    if seen is not None:
        if connection and seen[1] == connection and "mqtt" in (event.get("protocols") or []):
            _record(event, True, "refresh")
            return _allow(claims["sub"])
        return _deny(event, "replayed")
    _seen[jti] = (int(claims["exp"]), connection)
    _record(event, True, "fresh")
    return _allow(claims["sub"])


def _allow(sub):
    # principalId: AWS allows [a-zA-Z0-9] only, 1-128 characters.
    principal = re.sub(r"[^A-Za-z0-9]", "", str(sub))[:128] or "jwt"
    return {
        "isAuthenticated": True,
        "principalId": principal,
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
