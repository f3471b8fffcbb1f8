"""The AWS IoT Device SDK v2 for Python (`awsiotsdk`) against `tokenstorm emulate`, as a device would use it with a
custom authorizer: `mqtt_connection_builder.direct_with_custom_authorizer` (MQTT 3.1.1 over TLS, port 443, ALPN
`mqtt`), `websockets_with_custom_authorizer` (MQTT over WebSocket at /mqtt) and
`mqtt5_client_builder.direct_with_custom_authorizer` (MQTT 5). Each connects and publishes with a valid signature
and is refused with a forged one, which never reaches the authorizer (checked through the emulator's ledger).

The SDK forces port 443: the emulator's HTTPS listener (which also serves ALPN `mqtt` and /mqtt) is bound to
127.0.0.<x>:443 and the SDK is given that IP literal as its endpoint plus the generated CA (`ca_filepath`); see
_emulator.start_on_443. Nothing on the system is changed.
"""

import subprocess
import threading

import pytest

from awscrt import exceptions, mqtt, mqtt5  # noqa: E402
from awsiot import mqtt5_client_builder, mqtt_connection_builder  # noqa: E402

import _emulator as E  # noqa: E402

WAIT = 15


@pytest.fixture
def emulator(tokenstorm_bin, tmp_path):
    emu, ip = E.start_on_443(tokenstorm_bin, tmp_path)
    yield emu, ip
    emu.stop()


def creds(emu, key):
    return dict(auth_authorizer_name=E.AUTHORIZER, auth_authorizer_signature=emu.sign(key),
                auth_token_key_name=E.TOKEN_KEY_NAME, auth_token_value=E.TOKEN)


def connections(ledger, transport):
    return [e for e in ledger if e["transport"] == transport and e["trigger"] == "connect"]


def connect_publish_disconnect(conn):
    conn.connect().result(timeout=WAIT)
    future, _ = conn.publish(topic=E.TOPIC, payload=b"hello", qos=mqtt.QoS.AT_LEAST_ONCE)
    assert future.result(timeout=WAIT)["packet_id"] > 0
    conn.disconnect().result(timeout=WAIT)


def test_direct_with_custom_authorizer_connects_publishes_and_is_refused_when_forged(emulator):
    emu, ip = emulator
    conn = mqtt_connection_builder.direct_with_custom_authorizer(
        endpoint=ip, ca_filepath=emu.ca, client_id="sdk-direct", clean_session=True, keep_alive_secs=30,
        **creds(emu, emu.key))
    connect_publish_disconnect(conn)
    ledger = emu.ledger()
    [entry] = connections(ledger, "mqtt_tls")
    assert entry["verdict"] == "allow" and entry["attempt_id"] == "sdk-direct"
    event = entry["event"]
    assert event["protocols"] == ["tls", "mqtt"]
    assert event["token"] == E.TOKEN and event["signatureVerified"] is True
    username = event["protocolData"]["mqtt"]["username"]
    # The Python SDK's order (name, signature, token) with its own parameters appended, signature with raw `/`.
    assert username.startswith(f"?x-amz-customauthorizer-name={E.AUTHORIZER}&x-amz-customauthorizer-signature=")
    assert f"&{E.TOKEN_KEY_NAME}={E.TOKEN}&SDK=" in username
    assert event["protocolData"]["mqtt"]["clientId"] == "sdk-direct"

    forged = mqtt_connection_builder.direct_with_custom_authorizer(
        endpoint=ip, ca_filepath=emu.ca, client_id="sdk-forged", clean_session=True, keep_alive_secs=30,
        **creds(emu, emu.attacker_key))
    with pytest.raises(exceptions.AwsCrtError):
        forged.connect().result(timeout=WAIT)
    assert emu.ledger() == ledger, "a forged signature must never reach the authorizer"


def test_websockets_with_custom_authorizer_connects_publishes_and_is_refused_when_forged(emulator):
    emu, ip = emulator
    conn = mqtt_connection_builder.websockets_with_custom_authorizer(
        endpoint=ip, port=443, ca_filepath=emu.ca, client_id="sdk-ws", clean_session=True, keep_alive_secs=30,
        **creds(emu, emu.key))
    connect_publish_disconnect(conn)
    ledger = emu.ledger()
    [entry] = connections(ledger, "wss")
    assert entry["verdict"] == "allow"
    event = entry["event"]
    assert event["protocols"] == ["tls", "http", "mqtt"]
    assert event["protocolData"]["http"]["headers"]["sec-websocket-protocol"] == "mqtt"
    assert event["protocolData"]["mqtt"]["clientId"] == "sdk-ws"

    forged = mqtt_connection_builder.websockets_with_custom_authorizer(
        endpoint=ip, port=443, ca_filepath=emu.ca, client_id="sdk-ws-forged", clean_session=True,
        keep_alive_secs=30, **creds(emu, emu.attacker_key))
    with pytest.raises(exceptions.AwsCrtError):
        forged.connect().result(timeout=WAIT)
    assert emu.ledger() == ledger, "a forged signature must never reach the authorizer"


def mqtt5_client(emu, ip, key, client_id):
    """An MQTT 5 client and the events its lifecycle callbacks saw."""
    seen = {"success": threading.Event(), "failure": threading.Event(), "stopped": threading.Event()}
    result = {}

    def on_success(data):
        result["connack"] = data.connack_packet
        seen["success"].set()

    def on_failure(data):
        result.setdefault("failure", data)
        seen["failure"].set()

    client = mqtt5_client_builder.direct_with_custom_authorizer(
        endpoint=ip, ca_filepath=emu.ca, client_id=client_id,
        on_lifecycle_connection_success=on_success, on_lifecycle_connection_failure=on_failure,
        on_lifecycle_stopped=lambda _: seen["stopped"].set(), **creds(emu, key))
    return client, seen, result


def test_mqtt5_direct_with_custom_authorizer_sees_0x87_when_refused(emulator):
    emu, ip = emulator
    client, seen, result = mqtt5_client(emu, ip, emu.key, "sdk-5")
    client.start()
    try:
        assert seen["success"].wait(WAIT), f"no CONNACK success: {result}"
        assert result["connack"].reason_code == mqtt5.ConnectReasonCode.SUCCESS
        publish = client.publish(mqtt5.PublishPacket(topic=E.TOPIC, payload=b"hi", qos=mqtt5.QoS.AT_LEAST_ONCE))
        puback = publish.result(timeout=WAIT).puback
        assert puback.reason_code == mqtt5.PubackReasonCode.SUCCESS
    finally:
        client.stop()
        seen["stopped"].wait(WAIT)
    ledger = emu.ledger()
    assert [e["verdict"] for e in connections(ledger, "mqtt_tls")] == ["allow"]

    forged, seen, result = mqtt5_client(emu, ip, emu.attacker_key, "sdk-5-forged")
    forged.start()
    try:
        assert seen["failure"].wait(WAIT), "the forged CONNECT did not fail"
    finally:
        forged.stop()
        seen["stopped"].wait(WAIT)
    connack = result["failure"].connack_packet
    assert connack is not None, f"no CONNACK: {result['failure'].exception}"
    assert connack.reason_code == mqtt5.ConnectReasonCode.NOT_AUTHORIZED == 0x87
    assert emu.ledger() == ledger, "a forged signature must never reach the authorizer"


# The other value of every unconfirmed gate behaviour (README "Unconfirmed behaviours"): `+` read as a space, a
# credential given twice refused, parameter names matched in any case, the username's query at its last `?`, bare
# parameters read as AWS's client code says. The SDK percent-encodes `+` in the signature, sends each credential
# once, one `?` and no bare parameter, so it connects under these settings too.
STRICT = dict(gate_query_plus="space", gate_duplicates="reject", gate_query_names="case_insensitive",
              gate_username_query="last_question_mark", gate_bare_params="equivalent")


@pytest.mark.parametrize("builder", ["direct", "websockets"])
def test_the_sdk_connects_under_the_strict_gate_settings(tokenstorm_bin, tmp_path, builder):
    emu, ip = E.start_on_443(tokenstorm_bin, tmp_path, **STRICT)
    try:
        assert emu.ready["gate"] == {"query_plus": "space", "duplicates": "reject",
                                     "query_names": "case_insensitive", "username_query": "last_question_mark",
                                     "bare_params": "equivalent"}
        if builder == "direct":
            conn = mqtt_connection_builder.direct_with_custom_authorizer(
                endpoint=ip, ca_filepath=emu.ca, client_id="sdk-strict", clean_session=True,
                keep_alive_secs=30, **creds(emu, emu.key))
        else:
            conn = mqtt_connection_builder.websockets_with_custom_authorizer(
                endpoint=ip, port=443, ca_filepath=emu.ca, client_id="sdk-strict", clean_session=True,
                keep_alive_secs=30, **creds(emu, emu.key))
        connect_publish_disconnect(conn)
        [entry] = connections(emu.ledger(), "mqtt_tls" if builder == "direct" else "wss")
        assert entry["verdict"] == "allow"
    finally:
        emu.stop()



def tokenstorm_username(emu, ip, tokenstorm_bin, tmp_path, style):
    """The CONNECT username of a one-device MQTT/TLS `tokenstorm run` in `style` against `emu`, from its ledger."""
    before = {e["attempt_id"] for e in connections(emu.ledger(), "mqtt_tls")}
    admin = "%s:%d" % emu.addr("admin")
    scenario = tmp_path / f"{style}.toml"
    scenario.write_text(f"""
[run]
duration_s = 1.5
[devices]
count = 1
[keys]
private_key_files = ["{emu.key}"]
[transports]
https = 0.0
mqtt_tls = 1.0
[mqtt]
username_style = "{style}"
publish_interval_ms = 0
[mix]
valid = 1.0
forged = 0.0
replayed = 0.0
[target]
kind = "external"
url = "https://{ip}:443"
admin_url = "http://{admin}"
ca_file = "{emu.ca}"
mqtt_tls_addr = "{ip}:443"
""")
    out = subprocess.run([str(tokenstorm_bin), "run", str(scenario), "--out-dir", str(tmp_path / style), "--quiet"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    ours = [e for e in connections(emu.ledger(), "mqtt_tls") if e["attempt_id"] not in before]
    assert ours, f"{style}: tokenstorm's CONNECT did not reach the authorizer"
    username = ours[0]["event"]["protocolData"]["mqtt"]["username"]
    assert username.startswith("ts-" + ours[0]["attempt_id"] + "?"), username
    return username


def test_the_sdk_username_styles_send_what_the_python_sdk_sends(emulator, tokenstorm_bin, tmp_path):
    """`[mqtt] username_style`: the real SDK (awsiotsdk and awscrt as tests/requirements.txt pins them) connects
    with tokenstorm's free text as its `auth_username`; the emulator's ledger holds its CONNECT username. After the
    `?`, `crt_metrics` is byte for byte that username, and `python_v2` (the releases before the CRT metrics) is the
    same up to its `&SDK=PythonV2&Version=` suffix: same parameters, order and encodings."""
    emu, ip = emulator
    conn = mqtt_connection_builder.direct_with_custom_authorizer(
        endpoint=ip, ca_filepath=emu.ca, client_id="sdk-style", clean_session=True, keep_alive_secs=30,
        auth_username="ts-sdk-style", **creds(emu, emu.key))
    connect_publish_disconnect(conn)
    [sdk] = connections(emu.ledger(), "mqtt_tls")
    assert sdk["attempt_id"] == "sdk-style"
    sdk_username = sdk["event"]["protocolData"]["mqtt"]["username"]
    assert sdk_username.startswith("ts-sdk-style?")
    sdk_query = sdk_username.split("?", 1)[1]

    crt = tokenstorm_username(emu, ip, tokenstorm_bin, tmp_path, "crt_metrics")
    assert crt.split("?", 1)[1] == sdk_query
    python_v2 = tokenstorm_username(emu, ip, tokenstorm_bin, tmp_path, "python_v2")
    params, suffix = python_v2.split("?", 1)[1].split("&SDK=", 1)
    assert sdk_query.startswith(params + "&SDK=")
    assert suffix.startswith("PythonV2&Version=")
