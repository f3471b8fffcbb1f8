//! Sending one case to the emulator (the async shell): open the case's transport (TCP, TLS with the right
//! ALPN), write the valid prefix if any and the case's bytes, half-close, and read until the emulator closes
//! the connection, all within a deadline. Also the liveness probe: a valid HTTPS publish and a valid MQTT
//! CONNECT that must succeed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::render::varint;
use super::target::Target;
use crate::contract::{Listener, Route, Transport};
use crate::emulator::ListenAddrs;
use crate::token::{PrivateKey, encode_signature, sign_token};
use crate::wire::http::{ATTEMPT_ID, AUTHORIZER_NAME, SIGNATURE};
use crate::wire::mqtt::{UsernameParts, build_username};

/// Where and how to reach the emulator, and the key valid prefixes are signed with.
pub struct Endpoints {
    pub addrs: ListenAddrs,
    pub target: Target,
    pub key: Arc<PrivateKey>,
    http_tls: TlsConnector,
    mqtt_tls: TlsConnector,
    server_name: ServerName<'static>,
}

/// How a case's connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The emulator closed the connection (or reset it) before the deadline.
    Closed,
    /// Still open at the deadline.
    Deadline,
    /// The connection could not be opened (TCP or TLS).
    NotConnected(String),
}

fn connector(ca: &Path, alpn: &[u8]) -> anyhow::Result<TlsConnector> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca)
        .with_context(|| format!("cannot read the emulator CA {}", ca.display()))?
    {
        roots.add(cert.context("emulator CA")?)?;
    }
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(TlsConnector::from(Arc::new(config)))
}

impl Endpoints {
    pub fn new(
        addrs: ListenAddrs,
        ca: &Path,
        target: Target,
        key: Arc<PrivateKey>,
    ) -> anyhow::Result<Self> {
        let server_name = ServerName::try_from(target.host.clone())
            .with_context(|| format!("{:?} is not a TLS server name", target.host))?;
        Ok(Self {
            addrs,
            http_tls: connector(ca, b"http/1.1")?,
            mqtt_tls: connector(ca, crate::wire::mqtt::ALPN_MQTT)?,
            server_name,
            target,
            key,
        })
    }

    fn addr(&self, t: Route) -> Option<SocketAddr> {
        match t.listener {
            Listener::Https => self.addrs.https,
            Listener::Http => self.addrs.http,
            Listener::MqttTls => self.addrs.mqtt_tls,
            Listener::Mqtt => self.addrs.mqtt,
        }
    }

    /// Sends `bytes` (after the valid prefix of `prefix_attempt`, if given) and waits for the close.
    pub async fn send(
        &self,
        transport: Route,
        prefix_attempt: Option<&str>,
        bytes: &[u8],
        deadline: Duration,
    ) -> Sent {
        let mut wire = prefix_attempt
            .map(|a| self.prefix(transport, a))
            .unwrap_or_default();
        // A WebSocket session authorizes its CONNECT in its own task while the frame reader goes on: the case's
        // bytes are sent only once the valid prefix was answered (the CONNACK frame, or the close), so a broken
        // frame cannot end the connection before the authorizer saw the CONNECT.
        let split = match (transport.transport, prefix_attempt) {
            (Transport::Wss, Some(_)) => wire.len(),
            _ => 0,
        };
        wire.extend_from_slice(bytes);
        let run = async {
            let Some(addr) = self.addr(transport) else {
                return Sent::NotConnected(format!("no {} listener", transport.name()));
            };
            let tcp = match TcpStream::connect(addr).await {
                Ok(t) => t,
                Err(e) => return Sent::NotConnected(e.to_string()),
            };
            let _ = tcp.set_nodelay(true);
            let tls = match transport.transport {
                _ if !transport.is_tls() => return exchange(tcp, &wire).await.1,
                Transport::MqttTls | Transport::Mqtt => &self.mqtt_tls,
                Transport::Https | Transport::Wss => &self.http_tls,
            };
            match tls.connect(self.server_name.clone(), tcp).await {
                Ok(mut s) => {
                    if split > 0 && !answered(&mut s, &wire[..split]).await {
                        return Sent::Closed;
                    }
                    exchange(s, &wire[split..]).await.1
                }
                Err(e) => Sent::NotConnected(format!("TLS: {e}")),
            }
        };
        tokio::time::timeout(deadline, run)
            .await
            .unwrap_or(Sent::Deadline)
    }

    /// The valid, signed opening of a connection on `transport` for attempt `attempt`.
    pub fn prefix(&self, transport: Route, attempt: &str) -> Vec<u8> {
        let token = format!("fuzz-{attempt}");
        let sig = encode_signature(&sign_token(&self.key, token.as_bytes()));
        let t = &self.target;
        match transport.transport {
            Transport::Https => format!(
                "POST /topics/fuzz?qos=0 HTTP/1.1\r\nhost: {}\r\n{AUTHORIZER_NAME}: {}\r\n{}: {token}\r\n\
                 {SIGNATURE}: {sig}\r\n{ATTEMPT_ID}: {attempt}\r\ncontent-length: 2\r\n\r\n{{}}",
                t.host, t.authorizer, t.token_key_name
            )
            .into_bytes(),
            Transport::Mqtt | Transport::MqttTls => {
                self.valid_connect(attempt, &token, &sig)
            }
            Transport::Wss => {
                let mut out = format!(
                    "GET /mqtt HTTP/1.1\r\nhost: {}\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\
                     sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                     sec-websocket-protocol: mqtt\r\n{ATTEMPT_ID}: {attempt}\r\n\r\n",
                    t.host
                )
                .into_bytes();
                let connect = self.valid_connect(attempt, &token, &sig);
                out.push(0x82);
                if connect.len() < 126 {
                    out.push(0x80 | connect.len() as u8);
                } else {
                    out.push(0x80 | 126);
                    out.extend_from_slice(&(connect.len() as u16).to_be_bytes());
                }
                out.extend_from_slice(&[0, 0, 0, 0]);
                out.extend_from_slice(&connect);
                out
            }
        }
    }

    fn valid_connect(&self, attempt: &str, token: &str, sig: &str) -> Vec<u8> {
        let username = build_username(&UsernameParts {
            attempt_id: Some(attempt),
            authorizer_name: Some(&self.target.authorizer),
            token_key_name: &self.target.token_key_name,
            token: Some(token),
            signature: Some(sig),
            ..Default::default()
        });
        let mut body = Vec::new();
        body.extend_from_slice(b"\x00\x04MQTT");
        body.extend_from_slice(&[4, 0x82, 0, 60]);
        for s in [attempt.as_bytes(), username.as_bytes()] {
            body.extend_from_slice(&(s.len() as u16).to_be_bytes());
            body.extend_from_slice(s);
        }
        let mut out = vec![0x10];
        varint(body.len() as u32, &mut out);
        out.extend_from_slice(&body);
        out
    }

    /// The liveness probe: a valid HTTPS publish must get 200 and a valid plain MQTT CONNECT a CONNACK 0, each
    /// within `deadline`. `Err` says which failed.
    pub async fn probe(&self, attempt: &str, deadline: Duration) -> Result<(), String> {
        // An authorization answer either way: the scenario's function or policy may deny the probe (the caller
        // checks in the ledger that both probes reached the authorizer).
        let reply = self
            .open_and_read(
                Route::of(Transport::Https),
                &format!("{attempt}-https"),
                deadline,
            )
            .await?;
        if !(reply.starts_with(b"HTTP/1.1 200") || reply.starts_with(b"HTTP/1.1 403")) {
            return Err(format!(
                "HTTPS probe answered {:?}",
                super::render::readable(&reply, 80)
            ));
        }
        let reply = self
            .open_and_read(
                Route::of(Transport::Mqtt),
                &format!("{attempt}-mqtt"),
                deadline,
            )
            .await?;
        // A CONNACK (any return code), or MQTT 3.1.1's refusal: the connection closed without one.
        if !(reply.is_empty() || reply.starts_with(&[0x20, 0x02, 0x00])) {
            return Err(format!(
                "MQTT probe answered {:?}",
                super::render::readable(&reply, 80)
            ));
        }
        Ok(())
    }

    async fn open_and_read(
        &self,
        transport: Route,
        attempt: &str,
        deadline: Duration,
    ) -> Result<Vec<u8>, String> {
        let wire = self.prefix(transport, attempt);
        let run = async {
            let addr = self.addr(transport).ok_or("listener off")?;
            let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
            if transport == Route::of(Transport::Https) {
                let tls = self
                    .http_tls
                    .connect(self.server_name.clone(), tcp)
                    .await
                    .map_err(|e| format!("TLS: {e}"))?;
                Ok(first_reply(tls, &wire, 12).await)
            } else {
                Ok(first_reply(tcp, &wire, 4).await)
            }
        };
        tokio::time::timeout(deadline, run)
            .await
            .unwrap_or_else(|_| Err(format!("{} probe timed out", transport.name())))
    }
}

/// Writes, half-closes, reads to the end. Write and read errors mean the emulator closed: that is an answer.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, wire: &[u8]) -> (Vec<u8>, Sent) {
    let _ = s.write_all(wire).await;
    let _ = s.shutdown().await;
    let mut kept = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return (kept, Sent::Closed),
            Ok(n) => {
                if kept.len() < 4096 {
                    kept.extend_from_slice(&buf[..n]);
                }
            }
        }
    }
}

/// Writes a WebSocket opening and reads until its answer is complete: the upgrade's response head and, after
/// a `101`, the first frame. `false` when the emulator closed first (that is an answer too).
async fn answered<S: AsyncRead + AsyncWrite + Unpin>(s: &mut S, opening: &[u8]) -> bool {
    if s.write_all(opening).await.is_err() {
        return false;
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !first_frame_complete(&got) {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    true
}

/// Whether `got` holds a complete upgrade answer: a response head that is not `101`, or a `101` head followed
/// by one whole (unmasked, server) frame. Pure.
pub fn first_frame_complete(got: &[u8]) -> bool {
    let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") else {
        return got.len() > 16 * 1024; // no head in 16 KiB: stop waiting, send the case
    };
    if !got.starts_with(b"HTTP/1.1 101") {
        return true;
    }
    let frame = &got[end + 4..];
    let Some(&len) = frame.get(1) else {
        return false;
    };
    match len & 0x7f {
        n @ 0..=125 => frame.len() >= 2 + usize::from(n),
        126 => frame
            .get(2..4)
            .is_some_and(|l| frame.len() >= 4 + usize::from(u16::from_be_bytes([l[0], l[1]]))),
        _ => true, // a server frame this large is not a CONNACK: stop waiting
    }
}

/// Writes and reads until `want` bytes of a reply arrive (the connection stays open until dropped).
async fn first_reply<S: AsyncRead + AsyncWrite + Unpin>(
    mut s: S,
    wire: &[u8],
    want: usize,
) -> Vec<u8> {
    if s.write_all(wire).await.is_err() {
        return Vec::new();
    }
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    while got.len() < want {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use super::first_frame_complete;

    #[test]
    fn the_websocket_answer_is_complete_after_the_head_and_one_frame() {
        let head = b"HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\n\r\n".to_vec();
        assert!(!first_frame_complete(&head[..20]));
        assert!(!first_frame_complete(&head));
        let mut connack = head.clone();
        connack.extend_from_slice(&[0x82, 0x04, 0x20, 0x02]);
        assert!(!first_frame_complete(&connack), "half a frame");
        connack.extend_from_slice(&[0x00, 0x00]);
        assert!(first_frame_complete(&connack));
        let mut long = head.clone();
        long.extend_from_slice(&[0x82, 126, 0x01, 0x00]);
        assert!(!first_frame_complete(&long));
        long.extend_from_slice(&[0u8; 256]);
        assert!(first_frame_complete(&long));
        assert!(first_frame_complete(b"HTTP/1.1 403 Forbidden\r\n\r\n"));
    }
}
