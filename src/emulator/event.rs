//! The event the authorizer function receives (spec §3): HTTPS publish ([`http_event`]), MQTT CONNECT over
//! TLS or TCP, and MQTT over WebSocket ([`mqtt_event`], which carries both `http` and `mqtt` data). Pure:
//! request parts in, JSON out.

use hyper::HeaderMap;
use serde_json::{Map, Value, json};

/// What the event is built from.
pub struct HttpEventInput<'a> {
    /// The token under `tokenKeyName`; omitted from the event when absent (only possible with `signingDisabled`).
    pub token: Option<&'a str>,
    pub signature_verified: bool,
    /// True on the TLS listener: `protocols` gets `tls` and `protocolData.tls` is present.
    pub tls: bool,
    /// The SNI the client sent, if any.
    pub server_name: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The raw query string without its `?`; `None` when the URL had none.
    pub query: Option<&'a str>,
    /// One id per TCP connection.
    pub connection_id: &'a str,
}

/// Builds the event: `token`, `signatureVerified`, `protocols` (`["tls","http"]`, or `["http"]` on the plain
/// listener), `protocolData.tls.serverName`, `protocolData.http.headers` (every header, lower-case names, repeated
/// headers joined with `,`) and `queryString` (with its leading `?`, only when present), `connectionMetadata.id`.
pub fn http_event(input: &HttpEventInput<'_>) -> Value {
    let mut protocol_data = Map::new();
    let mut protocols = Vec::new();
    tls_part(
        input.tls,
        input.server_name,
        &mut protocols,
        &mut protocol_data,
    );
    protocols.push("http");
    protocol_data.insert("http".into(), http_part(input.headers, input.query));
    envelope(
        input.token,
        input.signature_verified,
        protocols,
        protocol_data,
        input.connection_id,
    )
}

/// The `http` part: every header (lower-case names, repeated headers joined with `,`), and `queryString` with
/// its leading `?` when the URL had one.
fn http_part(headers_in: &HeaderMap, query: Option<&str>) -> Value {
    let mut headers = Map::new();
    for name in headers_in.keys() {
        let mut values = headers_in.get_all(name).iter();
        let mut joined = values
            .next()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        for v in values {
            joined.push(',');
            joined.push_str(&String::from_utf8_lossy(v.as_bytes()));
        }
        headers.insert(name.as_str().to_string(), Value::String(joined));
    }
    let mut http = Map::new();
    http.insert("headers".into(), Value::Object(headers));
    if let Some(q) = query {
        http.insert("queryString".into(), Value::String(format!("?{q}")));
    }
    Value::Object(http)
}

fn tls_part(
    tls: bool,
    server_name: Option<&str>,
    protocols: &mut Vec<&'static str>,
    protocol_data: &mut Map<String, Value>,
) {
    if tls {
        protocols.push("tls");
        let mut part = Map::new();
        if let Some(sni) = server_name {
            part.insert("serverName".into(), Value::String(sni.to_string()));
        }
        protocol_data.insert("tls".into(), Value::Object(part));
    }
}

fn envelope(
    token: Option<&str>,
    signature_verified: bool,
    protocols: Vec<&'static str>,
    protocol_data: Map<String, Value>,
    connection_id: &str,
) -> Value {
    let mut event = Map::new();
    if let Some(token) = token {
        event.insert("token".into(), Value::String(token.to_string()));
    }
    event.insert("signatureVerified".into(), Value::Bool(signature_verified));
    event.insert("protocols".into(), json!(protocols));
    event.insert("protocolData".into(), Value::Object(protocol_data));
    event.insert("connectionMetadata".into(), json!({ "id": connection_id }));
    Value::Object(event)
}

/// The HTTP upgrade request of an MQTT-over-WebSocket connection.
pub struct UpgradeRequest<'a> {
    pub headers: &'a HeaderMap,
    /// The raw query string without its `?`.
    pub query: Option<&'a str>,
}

/// What an MQTT CONNECT event is built from.
pub struct MqttEventInput<'a> {
    pub token: Option<&'a str>,
    pub signature_verified: bool,
    pub tls: bool,
    pub server_name: Option<&'a str>,
    /// Present for MQTT over WebSocket: `protocols` gets `http` and `protocolData.http` is filled.
    pub upgrade: Option<UpgradeRequest<'a>>,
    /// The whole CONNECT username, when sent.
    pub username: Option<&'a str>,
    /// The CONNECT password bytes, when sent (base64-encoded into the event).
    pub password: Option<&'a [u8]>,
    /// The client id; omitted from the event when empty.
    pub client_id: &'a str,
    pub connection_id: &'a str,
}

/// Builds the event for an MQTT CONNECT (or a refresh): `protocols` `["tls","mqtt"]`, `["mqtt"]` on plain TCP,
/// `["tls","http","mqtt"]` over WebSocket; `protocolData.mqtt` has `username`, `password` (base64) and
/// `clientId` when the device sent them.
pub fn mqtt_event(input: &MqttEventInput<'_>) -> Value {
    use base64::Engine as _;
    let mut protocol_data = Map::new();
    let mut protocols = Vec::new();
    tls_part(
        input.tls,
        input.server_name,
        &mut protocols,
        &mut protocol_data,
    );
    if let Some(up) = &input.upgrade {
        protocols.push("http");
        protocol_data.insert("http".into(), http_part(up.headers, up.query));
    }
    protocols.push("mqtt");
    let mut mqtt = Map::new();
    if let Some(u) = input.username {
        mqtt.insert("username".into(), Value::String(u.to_string()));
    }
    if let Some(p) = input.password {
        let b64 = base64::engine::general_purpose::STANDARD.encode(p);
        mqtt.insert("password".into(), Value::String(b64));
    }
    if !input.client_id.is_empty() {
        mqtt.insert(
            "clientId".into(),
            Value::String(input.client_id.to_string()),
        );
    }
    protocol_data.insert("mqtt".into(), Value::Object(mqtt));
    envelope(
        input.token,
        input.signature_verified,
        protocols,
        protocol_data,
        input.connection_id,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_event_has_the_documented_shape() {
        let mut headers = HeaderMap::new();
        headers.insert("X-My-App-custom-key", "tok".parse().unwrap());
        headers.append("x-multi", "a".parse().unwrap());
        headers.append("x-multi", "b".parse().unwrap());
        headers.append("x-multi", "c".parse().unwrap());
        let event = http_event(&HttpEventInput {
            token: Some("tok"),
            signature_verified: true,
            tls: true,
            server_name: Some("example-ats.iot.eu-west-1.amazonaws.com"),
            headers: &headers,
            query: Some("qos=1"),
            connection_id: "c1",
        });
        assert_eq!(
            event,
            json!({
                "token": "tok",
                "signatureVerified": true,
                "protocols": ["tls", "http"],
                "protocolData": {
                    "tls": {"serverName": "example-ats.iot.eu-west-1.amazonaws.com"},
                    "http": {"headers": {"x-my-app-custom-key": "tok", "x-multi": "a,b,c"}, "queryString": "?qos=1"}
                },
                "connectionMetadata": {"id": "c1"}
            })
        );
    }

    #[test]
    fn mqtt_events_over_tls_tcp_and_websocket() {
        let base = MqttEventInput {
            token: Some("tok"),
            signature_verified: true,
            tls: true,
            server_name: Some("e.example"),
            upgrade: None,
            username: Some("?k=tok"),
            password: Some(b"pw\x00"),
            client_id: "dev1",
            connection_id: "c3",
        };
        assert_eq!(
            mqtt_event(&base),
            json!({
                "token": "tok",
                "signatureVerified": true,
                "protocols": ["tls", "mqtt"],
                "protocolData": {
                    "tls": {"serverName": "e.example"},
                    "mqtt": {"username": "?k=tok", "password": "cHcA", "clientId": "dev1"}
                },
                "connectionMetadata": {"id": "c3"}
            })
        );
        let plain = mqtt_event(&MqttEventInput {
            tls: false,
            server_name: None,
            username: None,
            password: None,
            client_id: "",
            ..base
        });
        assert_eq!(plain["protocols"], json!(["mqtt"]));
        assert_eq!(plain["protocolData"], json!({"mqtt": {}}));
        let mut headers = HeaderMap::new();
        headers.insert("sec-websocket-protocol", "mqtt".parse().unwrap());
        let ws = mqtt_event(&MqttEventInput {
            upgrade: Some(UpgradeRequest {
                headers: &headers,
                query: Some("a=b"),
            }),
            ..base
        });
        assert_eq!(ws["protocols"], json!(["tls", "http", "mqtt"]));
        assert_eq!(
            ws["protocolData"]["http"],
            json!({"headers": {"sec-websocket-protocol": "mqtt"}, "queryString": "?a=b"})
        );
        assert_eq!(ws["protocolData"]["mqtt"]["clientId"], "dev1");
    }

    #[test]
    fn plain_http_without_query_or_token() {
        let headers = HeaderMap::new();
        let event = http_event(&HttpEventInput {
            token: None,
            signature_verified: false,
            tls: false,
            server_name: None,
            headers: &headers,
            query: None,
            connection_id: "c2",
        });
        assert_eq!(
            event,
            json!({
                "signatureVerified": false,
                "protocols": ["http"],
                "protocolData": {"http": {"headers": {}}},
                "connectionMetadata": {"id": "c2"}
            })
        );
    }
}
