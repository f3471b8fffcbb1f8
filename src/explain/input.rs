//! What a device sends, from the forms a user has at hand: flags (`--url`, `--header 'K: V'`,
//! `--mqtt-username`...), a captured HTTP request (`GET /mqtt?... HTTP/1.1` and its header lines), or a JSON
//! object with the same fields as the flags. Errors name the flag or file and the value.

use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};
use serde::Deserialize;

use super::Device;
use crate::contract::Transport;

/// The fields of a request, each optional; flags and JSON files fill the same struct.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// `https`, `mqtt_tls`, `mqtt` or `wss`; inferred when absent.
    pub transport: Option<String>,
    /// `https://host[:port]/path?query`, `wss://host/mqtt?...`, or just `/path?query`.
    pub url: Option<String>,
    /// `K: V` lines.
    #[serde(default)]
    pub headers: Vec<String>,
    /// The WebSocket upgrade (with `url`).
    #[serde(default)]
    pub websocket: bool,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_id: Option<String>,
    /// The endpoint host (MQTT; for HTTPS and WebSocket the URL's host).
    pub host: Option<String>,
    pub port: Option<u16>,
    pub sni: Option<String>,
    #[serde(default)]
    pub alpn: Vec<String>,
}

/// Reads a request file: a JSON object with [`DeviceSpec`]'s fields, or a captured HTTP request.
pub fn read_file(text: &str, file: &str) -> anyhow::Result<DeviceSpec> {
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text)
            .map_err(|e| anyhow::anyhow!("{file}: not a request object: {e}"));
    }
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    let mut parts = first.split_whitespace();
    let (Some(_method), Some(target)) = (parts.next(), parts.next()) else {
        anyhow::bail!(
            "{file}: the first line must be a request line like `GET /mqtt?... HTTP/1.1` (got {first:?})"
        );
    };
    let headers: Vec<String> = lines
        .take_while(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let header = |name: &str| {
        headers.iter().find_map(|h| {
            h.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_string())
        })
    };
    let websocket = header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
    let url = match (target.starts_with('/'), header("host")) {
        (true, Some(host)) => format!(
            "{}://{host}{target}",
            if websocket { "wss" } else { "https" }
        ),
        _ => target.to_string(),
    };
    Ok(DeviceSpec {
        url: Some(url),
        headers,
        websocket,
        ..DeviceSpec::default()
    })
}

fn parse_transport(v: &str, what: &str) -> anyhow::Result<Transport> {
    Transport::ALL
        .into_iter()
        .find(|t| t.as_str() == v)
        .ok_or_else(|| {
            anyhow::anyhow!("{what}: unknown transport {v:?} (https, mqtt_tls, mqtt or wss)")
        })
}

fn headers(lines: &[String], what: &str) -> anyhow::Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            anyhow::bail!("{what}: a header must look like 'Name: value' (got {line:?})");
        };
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| anyhow::anyhow!("{what}: {:?} is not a header name", k.trim()))?;
        let value = HeaderValue::from_str(v.trim()).map_err(|_| {
            anyhow::anyhow!("{what}: the value of {:?} is not a header value", k.trim())
        })?;
        map.append(name, value);
    }
    Ok(map)
}

/// How an error names a field: the file's name and the field, or the flag.
fn label(file: Option<&str>, field: &str) -> String {
    let flag = match field {
        "headers" => "--header",
        "username" => "--mqtt-username",
        "url" => "--url",
        _ => "--transport",
    };
    match file {
        Some(f) => format!("{f}: {field}"),
        None => flag.to_string(),
    }
}

impl DeviceSpec {
    /// The device these fields describe; `file` names the request file they came from (`None`: the flags), so
    /// errors name the file and field or the flag.
    pub fn device(&self, file: Option<&str>) -> anyhow::Result<Device> {
        let what = |field: &str| label(file, field);
        let (mut host, mut port, mut query, mut scheme) =
            (self.host.clone(), self.port, None, None);
        if let Some(url) = &self.url {
            let uri: hyper::Uri = url
                .parse()
                .map_err(|e| anyhow::anyhow!("{}: {url:?} is not a URL: {e}", what("url")))?;
            scheme = uri.scheme_str().map(str::to_ascii_lowercase);
            host = host.or(uri.host().map(str::to_string));
            let default_port = scheme
                .as_deref()
                .map(|s| if matches!(s, "http" | "ws") { 80 } else { 443 });
            port = port.or(uri.port_u16()).or(default_port);
            query = uri.query().map(str::to_string);
        }
        let transport = match (&self.transport, &self.url, &self.username) {
            (Some(t), _, _) => parse_transport(t, &what("transport"))?,
            (None, Some(_), _)
                if self.websocket || matches!(scheme.as_deref(), Some("wss" | "ws")) =>
            {
                Transport::Wss
            }
            (None, Some(_), _) => Transport::Https,
            (None, None, Some(_)) => Transport::MqttTls,
            (None, None, None) => {
                anyhow::bail!(
                    "nothing to explain: give --url (HTTPS or WebSocket), --mqtt-username, or --request FILE{}",
                    file.map(|f| format!(" ({f} has neither url nor username)"))
                        .unwrap_or_default()
                )
            }
        };
        if transport == Transport::Https && self.username.is_some() {
            anyhow::bail!(
                "{}: an MQTT username with an HTTPS request: add --websocket, or leave out the URL",
                what("username")
            );
        }
        Ok(Device {
            transport,
            host,
            port,
            query,
            headers: headers(&self.headers, &what("headers"))?,
            username: self.username.clone(),
            client_id: self.client_id.clone(),
            sni: self.sni.clone(),
            alpn: self.alpn.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_captured_upgrade_is_a_websocket_request() {
        let text = "GET /mqtt?x-amz-customauthorizer-name=A HTTP/1.1\r\nHost: h.iot.eu-west-1.amazonaws.com\r\n\
                    Upgrade: websocket\r\nX-Key: tok\r\n\r\nbody";
        let d = read_file(text, "req.txt")
            .unwrap()
            .device(Some("req.txt"))
            .unwrap();
        assert_eq!(d.transport, Transport::Wss);
        assert_eq!(d.port, Some(443));
        assert_eq!(d.query.as_deref(), Some("x-amz-customauthorizer-name=A"));
        assert_eq!(d.headers["x-key"], "tok");
        let e = read_file("nonsense", "req.txt").unwrap_err().to_string();
        assert!(e.contains("req.txt") && e.contains("request line"), "{e}");
    }

    #[test]
    fn json_and_inference() {
        let d = read_file(
            r#"{"username": "?a=b", "alpn": ["mqtt"], "port": 8883}"#,
            "r.json",
        )
        .unwrap()
        .device(Some("r.json"))
        .unwrap();
        assert_eq!((d.transport, d.port), (Transport::MqttTls, Some(8883)));
        let e = read_file(r#"{"user": 1}"#, "r.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.json") && e.contains("user"), "{e}");
        let bad = DeviceSpec {
            headers: vec!["no colon".into()],
            url: Some("/topics/t".into()),
            ..DeviceSpec::default()
        };
        assert!(
            bad.device(None)
                .unwrap_err()
                .to_string()
                .contains("--header")
        );
        let e = DeviceSpec::default().device(None).unwrap_err().to_string();
        assert!(e.contains("nothing to explain"), "{e}");
    }
}
