//! Keep-alive HTTPS connections: TCP, then rustls with the target's CA and/or the system's roots (or, when
//! asked, no verification), SNI = the endpoint name, then the generator's own HTTP/1.1 client
//! ([`super::http1`]), driven by the attempt's task.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
use tokio_rustls::TlsConnector;

use crate::metrics::Failure;

/// How to open a connection to the target.
#[derive(Clone)]
pub struct Connector {
    addr: SocketAddr,
    tls: TlsConfig,
    server_name: ServerName<'static>,
    sources: super::source::Sources,
    /// `[tls] resumption`: each device resumes its own session ([`Self::device_tls`]).
    resumption: bool,
}

/// A TLS client configuration, shared by the connections made with it (a device's own under `[tls]
/// resumption`).
pub type TlsConfig = Arc<rustls::ClientConfig>;

/// One keep-alive connection, boxed: it moves into each attempt's task and back to its device, and a TLS
/// connection's state is kilobytes (moving it by value was a tenth of the generator's CPU).
pub type Sender = Box<super::http1::Conn<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>>;

impl Connector {
    /// Trusts as [`client_config`] says.
    pub fn new(
        addr: SocketAddr,
        server_name: &str,
        ca_file: Option<&Path>,
        system_roots: bool,
        verify: bool,
    ) -> anyhow::Result<Self> {
        let config = client_config(ca_file, system_roots, verify, &[])?;
        let server_name = ServerName::try_from(
            server_name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        )
        .with_context(|| format!("{server_name:?} is not a valid TLS server name"))?;
        Ok(Self {
            addr,
            tls: Arc::new(config),
            server_name,
            sources: Default::default(),
            resumption: false,
        })
    }

    /// `[tls] resumption`: devices keep the session the endpoint gave them and resume it when they reconnect.
    pub fn with_resumption(mut self, on: bool) -> Self {
        self.resumption = on;
        self
    }

    /// A device's own TLS configuration under `[tls] resumption` ([`own_session_store`]); `None`: the device
    /// connects through the shared one, a full handshake each time.
    pub fn device_tls(&self) -> Option<TlsConfig> {
        self.resumption.then(|| own_session_store(&self.tls))
    }

    /// Binds each connection to the next of `sources` (`load.source_addrs`).
    pub fn with_sources(mut self, sources: super::source::Sources) -> Self {
        self.sources = sources;
        self
    }

    /// Opens a connection. A failure says which step failed (TCP connect, TLS).
    pub async fn connect(&self) -> Result<Sender, Failure> {
        self.connect_with(None).await
    }

    /// [`Self::connect`] through a device's own TLS configuration ([`Self::device_tls`]) when it has one.
    pub async fn connect_with(&self, own_tls: Option<&TlsConfig>) -> Result<Sender, Failure> {
        let tcp = self
            .sources
            .connect(self.addr)
            .await
            .map_err(|e| Failure::connect(self.addr, &e))?;
        let tls = TlsConnector::from(own_tls.unwrap_or(&self.tls).clone())
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| Failure::tls(&e))?;
        Ok(Box::new(super::http1::Conn::new(tls)))
    }
}

/// A rustls client configuration offering `alpn` (empty: no ALPN extension) and trusting `ca_file`; the
/// system's roots when there is none, or as well when `system_roots`; with `verify = false`, any certificate.
pub fn client_config(
    ca_file: Option<&Path>,
    system_roots: bool,
    verify: bool,
    alpn: &[&[u8]],
) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS setup")?;
    let mut config = if verify {
        let mut roots = rustls::RootCertStore::empty();
        if let Some(path) = ca_file {
            add_ca_file(&mut roots, path)?;
        }
        if system_roots || ca_file.is_none() {
            add_system_roots(&mut roots)?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(no_verify::AcceptAny(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    // A device resumes only its own session, and only with `[tls] resumption` (own_session_store): a store
    // shared by the whole fleet would let any device resume another's.
    config.resumption = rustls::client::Resumption::disabled();
    Ok(config)
}

/// A copy of `base` with a session store of its own holding one server's session: one device's configuration
/// under `[tls] resumption`, so its reconnects resume its own session and never another device's.
pub fn own_session_store(base: &rustls::ClientConfig) -> TlsConfig {
    let mut own = base.clone();
    own.resumption = rustls::client::Resumption::store(Arc::new(
        rustls::client::ClientSessionMemoryCache::new(1),
    ));
    Arc::new(own)
}

/// Adds every certificate of a PEM file.
fn add_ca_file(roots: &mut rustls::RootCertStore, path: &Path) -> anyhow::Result<()> {
    let certs = CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read the CA file {}", path.display()))?;
    for cert in certs {
        let cert = cert.with_context(|| format!("{}: not a PEM certificate", path.display()))?;
        roots
            .add(cert)
            .with_context(|| format!("{}: unusable CA certificate", path.display()))?;
    }
    Ok(())
}

/// Adds the operating system's trusted roots (Debian: /etc/ssl/certs; `SSL_CERT_FILE` / `SSL_CERT_DIR`
/// override where they are read from). Finding none is an error: nothing could be verified.
fn add_system_roots(roots: &mut rustls::RootCertStore) -> anyhow::Result<()> {
    let found = rustls_native_certs::load_native_certs();
    let (added, _unparsable) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why: Vec<String> = found.errors.iter().map(|e| e.to_string()).collect();
        anyhow::bail!(
            "cannot load the system's trusted root certificates{}: set target.ca_file to the CA that signed the endpoint's certificate (or install the ca-certificates package)",
            if why.is_empty() {
                String::new()
            } else {
                format!(" ({})", why.join("; "))
            }
        );
    }
    for e in &found.errors {
        tracing::debug!("system roots: {e}");
    }
    Ok(())
}

/// A TLS server name from a host (IPv6 brackets removed).
pub fn server_name(host: &str) -> anyhow::Result<ServerName<'static>> {
    ServerName::try_from(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )
    .with_context(|| format!("{host:?} is not a valid TLS server name"))
}

mod no_verify {
    //! `verify_tls = false`: accept any server certificate (throwaway endpoints only).
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{DigitallySignedStruct, Error, SignatureScheme};

    #[derive(Debug)]
    pub struct AcceptAny(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &CertificateDer<'_>,
            _: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, Error> {
            Ok(HandshakeSignatureValid::assertion())
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ErrorKind;

    /// A peer that accepts and closes at once fails the TLS step; a closed port fails the connect step.
    #[tokio::test]
    async fn connect_failures_name_their_step() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        });
        let c = Connector::new(addr, "localhost", None, false, false).unwrap();
        let f = c.connect().await.expect_err("no TLS server there");
        assert_eq!(f.kind, ErrorKind::Tls, "{}", f.message);
        assert!(f.message.starts_with("TLS: "), "{}", f.message);
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let c = Connector::new(closed, "localhost", None, false, false).unwrap();
        let f = c.connect().await.expect_err("nothing listens");
        assert_eq!(f.kind, ErrorKind::Connect);
        assert_eq!(f.message, format!("connect: connection refused ({closed})"));
    }
}
