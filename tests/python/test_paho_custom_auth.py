"""paho-mqtt (a client nobody here wrote) against `tokenstorm emulate`'s MQTT/TLS listener with ALPN `mqtt`: the
custom-auth credentials ride the CONNECT username as a query string, in the Java/Node order with everything
percent-encoded; MQTT 3.1.1 connects, subscribes, publishes and receives its own message; a forged signature gets
no CONNACK (3.1.1) or CONNACK 0x87 (5); a username with a second `?` is refused; none of the refusals reaches the
authorizer. A paho client that offers no ALPN (its default) is refused by default, as on AWS, and served with
`--mqtt-tls-alpn optional`."""

import ssl
import threading
import urllib.parse
import urllib.request

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import _emulator as E

WAIT = 10


@pytest.fixture
def emulator(tokenstorm_bin, tmp_path):
    emu = E.start(tokenstorm_bin, tmp_path)
    yield emu
    emu.stop()


def username(signature: str, free_text: str = "") -> str:
    q = urllib.parse.quote
    return (f"{free_text}?x-amz-customauthorizer-name={q(E.AUTHORIZER, safe='')}"
            f"&{E.TOKEN_KEY_NAME}={q(E.TOKEN, safe='')}&x-amz-customauthorizer-signature={q(signature, safe='')}")


class Device:
    """A paho client over TLS (ALPN `mqtt`, the emulator's CA) that records what it saw."""

    def __init__(self, emu, client_id, user, protocol=paho.MQTTv311, alpn=True):
        self.connected, self.closed, self.got = threading.Event(), threading.Event(), threading.Event()
        self.reason = None
        self.messages = []
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol)
        ctx = ssl.create_default_context(cafile=emu.ca)
        if alpn:
            ctx.set_alpn_protocols(["mqtt"])
        c.tls_set_context(ctx)
        c.username_pw_set(user, "secret")
        c.on_connect = self._on_connect
        c.on_disconnect = lambda *a: self.closed.set()
        c.on_message = self._on_message
        c.reconnect_delay_set(60, 60)  # never retry within a test
        self.client = c
        host, port = emu.addr("mqtt_tls")
        assert host == "127.0.0.1"
        c.connect("localhost", port, keepalive=30)
        c.loop_start()

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        self.reason = reason_code
        self.connected.set()

    def _on_message(self, client, userdata, msg):
        self.messages.append((msg.topic, msg.payload))
        self.got.set()

    def stop(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_paho_311_connects_subscribes_publishes_and_receives(emulator):
    emu = emulator
    d = Device(emu, "paho-1", username(emu.sign(emu.key), "ts-r1-valid-7-0"), paho.MQTTv311)
    try:
        assert d.connected.wait(WAIT) and d.reason == 0, d.reason
        result, _ = d.client.subscribe(E.TOPIC, qos=1)
        assert result == paho.MQTT_ERR_SUCCESS
        info = d.client.publish(E.TOPIC, b"round trip", qos=1)
        info.wait_for_publish(WAIT)
        assert d.got.wait(WAIT), "our own publish was not delivered"
        assert d.messages[0] == (E.TOPIC, b"round trip")
    finally:
        d.stop()
    [entry] = emu.ledger()
    assert entry["transport"] == "mqtt_tls" and entry["attempt_id"] == "r1-valid-7-0"
    mqtt = entry["event"]["protocolData"]["mqtt"]
    assert mqtt["clientId"] == "paho-1" and mqtt["password"] == "c2VjcmV0"  # base64("secret")
    assert entry["event"]["protocolData"]["tls"]["serverName"] == "localhost"


def test_paho_refusals_never_reach_the_authorizer(emulator):
    emu = emulator
    forged = emu.sign(emu.attacker_key)
    # MQTT 3.1.1: the connection is closed without a CONNACK.
    d = Device(emu, "paho-forged", username(forged), paho.MQTTv311)
    try:
        assert d.closed.wait(WAIT), "the forged 3.1.1 connection was not closed"
        assert not d.connected.is_set(), f"a CONNACK arrived: {d.reason}"
    finally:
        d.stop()
    # MQTT 5: CONNACK 0x87.
    d = Device(emu, "paho-forged-5", username(forged), paho.MQTTv5)
    try:
        assert d.connected.wait(WAIT)
        assert d.reason.value == 0x87, d.reason
    finally:
        d.stop()
    # A second `?` in the username: refused even with a valid signature.
    d = Device(emu, "paho-2q", username(emu.sign(emu.key)) + "&x=?", paho.MQTTv5)
    try:
        assert d.connected.wait(WAIT)
        assert d.reason.value == 0x87, d.reason
    finally:
        d.stop()
    assert emu.ledger() == []


def test_paho_without_alpn_is_refused_by_default_and_served_when_optional(tokenstorm_bin, tmp_path):
    for mode in ["required", "optional"]:
        (tmp_path / mode).mkdir()
        emu = E.start(tokenstorm_bin, tmp_path / mode, mqtt_tls_alpn=mode)
        try:
            d = Device(emu, f"paho-no-alpn-{mode}", username(emu.sign(emu.key)), paho.MQTTv311, alpn=False)
            try:
                if mode == "required":
                    assert d.closed.wait(WAIT), "a client without ALPN was not closed"
                    assert not d.connected.is_set(), f"a CONNACK arrived: {d.reason}"
                else:
                    assert d.connected.wait(WAIT) and d.reason == 0, d.reason
            finally:
                d.stop()
            ledger = emu.ledger()
            assert len(ledger) == (0 if mode == "required" else 1), ledger
            host, port = emu.addr("admin")
            with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=10) as r:
                metrics = r.read().decode()
            refused = 1 if mode == "required" else 0
            assert f'tokenstorm_tls_refusals_total{{listener="mqtt_tls",reason="no_alpn"}} {refused}\n' in metrics
        finally:
            emu.stop()
