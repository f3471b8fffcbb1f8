//! A minimal HTTP/1.1 client for tests: one connection (plain, or TLS trusting a CA file) reused across
//! requests, so keep-alive behaviour (the per-connection authorizer cache) can be observed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject as _;
use tokio::net::TcpStream;

/// One open connection.
pub struct Conn {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

/// A response: status, and body as text.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.body))
    }

    /// Asserts the AWS answer shape `{"message": msg, "traceId": "<uuid>"}`.
    pub fn assert_message(&self, status: u16, message: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        let v = self.json();
        assert_eq!(v["message"], message, "body: {}", self.body);
        let trace = v["traceId"].as_str().expect("traceId");
        assert!(
            uuid::Uuid::parse_str(trace).is_ok(),
            "traceId {trace} is not a uuid"
        );
        assert_eq!(
            v.as_object().map(|o| o.len()),
            Some(2),
            "body: {}",
            self.body
        );
    }
}

impl Conn {
    /// Plain HTTP to `addr`.
    pub async fn http(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self::handshake(TokioIo::new(stream), addr.to_string()).await
    }

    /// TLS to `addr`, trusting `ca_pem`, sending SNI `server_name`.
    pub async fn https(addr: SocketAddr, ca_pem: &Path, server_name: &str) -> Conn {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca_pem).expect("read CA") {
            roots.add(cert.expect("CA cert")).expect("add CA");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let stream = TcpStream::connect(addr).await.expect("connect");
        let name = ServerName::try_from(server_name.to_string()).expect("server name");
        let tls = connector
            .connect(name, stream)
            .await
            .expect("TLS handshake");
        Self::handshake(TokioIo::new(tls), format!("{server_name}:{}", addr.port())).await
    }

    async fn handshake<I>(io: I, host: String) -> Conn
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let (sender, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .expect("HTTP handshake");
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Conn { sender, host }
    }

    /// Sends one request on this connection.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::copy_from_slice(body)))
            .expect("request");
        self.sender.ready().await.expect("connection closed");
        let resp = self.sender.send_request(req).await.expect("request failed");
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await.expect("body").to_bytes();
        Reply {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    pub async fn post(&mut self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send(Method::POST, path, headers, b"Hello, world")
            .await
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, &[], b"").await
    }
}
