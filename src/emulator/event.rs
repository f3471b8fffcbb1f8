//! The event the authorizer function receives for an HTTPS publish (spec §3). Pure: request parts in, JSON out.

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
    let mut headers = Map::new();
    for name in input.headers.keys() {
        let joined = input
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(",");
        headers.insert(name.as_str().to_string(), Value::String(joined));
    }
    let mut http = Map::new();
    http.insert("headers".into(), Value::Object(headers));
    if let Some(q) = input.query {
        http.insert("queryString".into(), Value::String(format!("?{q}")));
    }
    let mut protocol_data = Map::new();
    let mut protocols = Vec::new();
    if input.tls {
        protocols.push("tls");
        let mut tls = Map::new();
        if let Some(sni) = input.server_name {
            tls.insert("serverName".into(), Value::String(sni.to_string()));
        }
        protocol_data.insert("tls".into(), Value::Object(tls));
    }
    protocols.push("http");
    protocol_data.insert("http".into(), Value::Object(http));
    let mut event = Map::new();
    if let Some(token) = input.token {
        event.insert("token".into(), Value::String(token.to_string()));
    }
    event.insert(
        "signatureVerified".into(),
        Value::Bool(input.signature_verified),
    );
    event.insert("protocols".into(), json!(protocols));
    event.insert("protocolData".into(), Value::Object(protocol_data));
    event.insert(
        "connectionMetadata".into(),
        json!({ "id": input.connection_id }),
    );
    Value::Object(event)
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
                    "http": {"headers": {"x-my-app-custom-key": "tok", "x-multi": "a,b"}, "queryString": "?qos=1"}
                },
                "connectionMetadata": {"id": "c1"}
            })
        );
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
