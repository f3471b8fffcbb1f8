//! Turning a [`Case`] into the bytes that go on the wire (pure). HTTP and the WebSocket upgrade are written by
//! hand so nothing is normalised away; MQTT CONNECTs are encoded field by field with an optionally wrong
//! remaining length; WebSocket frames are well-formed, lying about their length, or raw.

use super::case::{Case, ContentLength, Credentials, Frame, HttpCase, Method, Placement, WsCase};
use crate::wire::http::{AUTHORIZER_NAME, SIGNATURE, publish_target};

use super::render_mqtt::mqtt;
pub use super::render_mqtt::{connect_packet, render_username, varint};
use super::target::{Target, signature_text};
use crate::wire::query::encode_component;

/// Bytes of a case (after any valid prefix, which the shell adds).
pub fn render(case: &Case, target: &Target) -> Vec<u8> {
    match case {
        Case::Http(h) => http(h, target),
        Case::Mqtt(m) => mqtt(m, target),
        Case::WebSocket(w) => websocket(w, target),
    }
}

/// The credential pairs of `creds`: (name, value), and whether each goes to a header or the query.
fn credential_pairs(creds: &Credentials, target: &Target) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    match &creds.authorizer {
        None => {}
        Some(None) => pairs.push((AUTHORIZER_NAME.to_string(), target.authorizer.clone())),
        Some(Some(name)) => pairs.push((AUTHORIZER_NAME.to_string(), name.clone())),
    }
    if let Some(token) = &creds.token {
        pairs.push((target.token_key_name.clone(), token.clone()));
    }
    if let Some(sig) = &creds.signature {
        pairs.push((SIGNATURE.to_string(), signature_text(sig)));
    }
    pairs
}

fn query_string(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode_component(k), encode_component(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Header bytes: a header name is kept as given (even when invalid); CR/LF inside are the attacker's business.
fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn request_head(
    method: &str,
    path: &str,
    query: &[(String, String)],
    creds: &Credentials,
    target: &Target,
) -> (Vec<u8>, Vec<(String, String)>) {
    let cred_pairs = credential_pairs(creds, target);
    let (in_query, in_headers) = match creds.placement {
        Placement::Header => (Vec::new(), cred_pairs),
        Placement::Query => (cred_pairs, Vec::new()),
        Placement::Both => (cred_pairs.clone(), cred_pairs),
    };
    let mut all_query = query.to_vec();
    all_query.extend(in_query);
    let mut line = format!("{method} {path}");
    if !all_query.is_empty() {
        line.push(if path.contains('?') { '&' } else { '?' });
        line.push_str(&query_string(&all_query));
    }
    line.push_str(" HTTP/1.1\r\n");
    let mut out = line.into_bytes();
    push_header(&mut out, b"host", target.host.as_bytes());
    (out, in_headers)
}

fn http(h: &HttpCase, target: &Target) -> Vec<u8> {
    if let Some(raw) = &h.raw {
        return raw.clone();
    }
    let method = match &h.method {
        Method::Post => "POST",
        Method::Get => "GET",
        Method::Other(m) => m.as_str(),
    };
    let path = h
        .path
        .clone()
        .unwrap_or_else(|| publish_target(&h.topic, 0));
    let (mut out, cred_headers) = request_head(method, &path, &h.query, &h.credentials, target);
    for (k, v) in &cred_headers {
        push_header(&mut out, k.as_bytes(), v.as_bytes());
    }
    for (k, v) in &h.headers {
        push_header(&mut out, k.as_bytes(), v);
    }
    match h.content_length {
        ContentLength::Exact => push_header(
            &mut out,
            b"content-length",
            h.body.len().to_string().as_bytes(),
        ),
        ContentLength::Missing => {}
        ContentLength::Value(n) => {
            push_header(&mut out, b"content-length", n.to_string().as_bytes())
        }
        ContentLength::Chunked => push_header(&mut out, b"transfer-encoding", b"chunked"),
    }
    out.extend_from_slice(b"\r\n");
    if matches!(h.content_length, ContentLength::Chunked) {
        out.extend_from_slice(format!("{:x}\r\n", h.body.len()).as_bytes());
        out.extend_from_slice(&h.body);
        out.extend_from_slice(b"\r\n0\r\n\r\n");
    } else {
        out.extend_from_slice(&h.body);
    }
    out.extend_from_slice(&h.tail);
    out
}

fn websocket(w: &WsCase, target: &Target) -> Vec<u8> {
    let mut out = Vec::new();
    if !w.valid_prefix {
        let path = w.path.as_deref().unwrap_or(crate::wire::mqtt::WS_PATH);
        let (head, cred_headers) = request_head("GET", path, &w.query, &w.credentials, target);
        out = head;
        if !w.omit_upgrade {
            push_header(&mut out, b"upgrade", b"websocket");
            push_header(&mut out, b"connection", b"Upgrade");
        }
        push_header(&mut out, b"sec-websocket-version", b"13");
        if !w.omit_key {
            push_header(&mut out, b"sec-websocket-key", b"dGhlIHNhbXBsZSBub25jZQ==");
        }
        if !w.omit_protocol {
            push_header(&mut out, b"sec-websocket-protocol", b"mqtt");
        }
        for (k, v) in &cred_headers {
            push_header(&mut out, k.as_bytes(), v.as_bytes());
        }
        for (k, v) in &w.headers {
            push_header(&mut out, k.as_bytes(), v);
        }
        out.extend_from_slice(b"\r\n");
    }
    for f in &w.frames {
        frame(f, &mut out);
    }
    out
}

/// A WebSocket frame header for `len` payload bytes.
fn frame_header(first: u8, masked: bool, len: u64, out: &mut Vec<u8>) {
    out.push(first);
    let mask_bit = if masked { 0x80 } else { 0 };
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= u64::from(u16::MAX) {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if masked {
        out.extend_from_slice(&[0, 0, 0, 0]);
    }
}

fn frame(f: &Frame, out: &mut Vec<u8>) {
    match f {
        Frame::Raw(r) => out.extend_from_slice(r),
        Frame::Framed {
            opcode,
            fin,
            masked,
            payload,
        } => {
            let first = (opcode & 0x0f) | if *fin { 0x80 } else { 0 };
            frame_header(first, *masked, payload.len() as u64, out);
            out.extend_from_slice(payload);
        }
        Frame::Lying {
            opcode,
            claimed,
            payload,
        } => {
            frame_header(0x80 | (opcode & 0x0f), true, *claimed, out);
            out.extend_from_slice(payload);
        }
    }
}

/// A readable rendering of wire bytes: printable ASCII as is, the rest escaped, cut at `max` characters.
pub fn readable(bytes: &[u8], max: usize) -> String {
    let mut s: String = bytes.escape_ascii().to_string();
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_escapes_and_cuts() {
        assert_eq!(readable(b"GET /\r\n\x00", 100), "GET /\\r\\n\\x00");
        assert_eq!(readable(b"abcdef", 3), "abc…");
    }
}
