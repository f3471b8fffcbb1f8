//! Hand-written MQTT packets and a raw connection (plain TCP or TLS with ALPN `mqtt`) that reads whole packets
//! back, so the emulator's MQTT front end is checked with bytes we wrote, not with our own codec.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

fn string(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// The remaining-length varint.
pub fn varint(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            return out;
        }
    }
}

fn frame(first: u8, body: Vec<u8>) -> Vec<u8> {
    let mut out = vec![first];
    out.extend(varint(body.len()));
    out.extend(body);
    out
}

/// A CONNECT at protocol `level` (4 or 5), clean session, with the optional username and password.
pub fn connect(
    level: u8,
    client_id: &str,
    username: Option<&str>,
    password: Option<&[u8]>,
    keep_alive: u16,
) -> Vec<u8> {
    let mut body = Vec::new();
    string(&mut body, b"MQTT");
    body.push(level);
    let mut flags = 0x02;
    if username.is_some() {
        flags |= 0x80;
    }
    if password.is_some() {
        flags |= 0x40;
    }
    body.push(flags);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    if level == 5 {
        body.push(0); // no properties
    }
    string(&mut body, client_id.as_bytes());
    if let Some(u) = username {
        string(&mut body, u.as_bytes());
    }
    if let Some(p) = password {
        string(&mut body, p);
    }
    frame(0x10, body)
}

pub fn publish(level: u8, topic: &str, qos: u8, pkid: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    string(&mut body, topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&pkid.to_be_bytes());
    }
    if level == 5 {
        body.push(0);
    }
    body.extend_from_slice(payload);
    frame(0x30 | (qos << 1), body)
}

pub fn subscribe(level: u8, pkid: u16, filters: &[(&str, u8)]) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    if level == 5 {
        body.push(0);
    }
    for (f, q) in filters {
        string(&mut body, f.as_bytes());
        body.push(*q);
    }
    frame(0x82, body)
}

pub const PINGREQ: [u8; 2] = [0xC0, 0];
pub const PINGRESP: [u8; 2] = [0xD0, 0];
pub const CONNACK_OK_V4: [u8; 4] = [0x20, 2, 0, 0];
pub const CONNACK_OK_V5: [u8; 5] = [0x20, 3, 0, 0, 0];
pub const CONNACK_NOT_AUTHORIZED_V5: [u8; 5] = [0x20, 3, 0, 0x87, 0];

/// What reading a packet gave.
#[derive(Debug, PartialEq, Eq)]
pub enum Read {
    Packet(Vec<u8>),
    /// The server closed the connection.
    Closed,
    /// Nothing within the wait.
    Nothing,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One raw connection.
pub struct Raw {
    io: Box<dyn Io>,
    buf: Vec<u8>,
}

impl Raw {
    pub async fn tcp(addr: SocketAddr) -> Raw {
        let io = TcpStream::connect(addr).await.expect("connect");
        Raw {
            io: Box::new(io),
            buf: Vec::new(),
        }
    }

    /// TLS trusting `ca_pem`, with SNI `server_name` and the ALPN list `alpn`; `Err` when the handshake fails.
    pub async fn tls(
        addr: SocketAddr,
        ca_pem: &Path,
        server_name: &str,
        alpn: &[&[u8]],
    ) -> std::io::Result<Raw> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca_pem).expect("read CA") {
            roots.add(cert.expect("CA cert")).expect("add CA");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let stream = TcpStream::connect(addr).await?;
        let name = ServerName::try_from(server_name.to_string()).expect("server name");
        let tls = connector.connect(name, stream).await?;
        Ok(Raw {
            io: Box::new(tls),
            buf: Vec::new(),
        })
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        // The server may already have closed (that is what some tests expect): ignore write errors.
        let _ = self.io.write_all(bytes).await;
        let _ = self.io.flush().await;
    }

    /// The next whole packet, waiting at most 5 s.
    pub async fn read(&mut self) -> Read {
        self.read_within(Duration::from_secs(5)).await
    }

    pub async fn read_within(&mut self, wait: Duration) -> Read {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(n) = whole(&self.buf) {
                return Read::Packet(self.buf.drain(..n).collect());
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await {
                Err(_) => return Read::Nothing,
                Ok(Ok(0)) | Ok(Err(_)) => return Read::Closed,
                Ok(Ok(n)) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// Reads until the server closes; panics if it sends a packet first or keeps the connection open 5 s.
    pub async fn expect_closed(&mut self, what: &str) {
        match self.read().await {
            Read::Closed => {}
            other => {
                panic!("{what}: expected the connection closed without a reply, got {other:?}")
            }
        }
    }
}

/// The length of the first whole packet in `buf`.
fn whole(buf: &[u8]) -> Option<usize> {
    let mut len = 0usize;
    let mut mult = 1usize;
    for (i, b) in buf.iter().enumerate().skip(1).take(4) {
        len += usize::from(b & 0x7f) * mult;
        mult *= 128;
        if b & 0x80 == 0 {
            let total = i + 1 + len;
            return (buf.len() >= total).then_some(total);
        }
    }
    None
}
