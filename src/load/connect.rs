//! Keep-alive HTTPS connections: TCP, then rustls with the target's CA (or, when asked, no verification),
//! SNI = the endpoint name, then a hyper HTTP/1.1 client connection driven by its own task.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject as _};
use tokio_rustls::TlsConnector;

use crate::metrics::Failure;

/// How to open a connection to the target.
#[derive(Clone)]
pub struct Connector {
    addr: SocketAddr,
    tls: TlsConnector,
    server_name: ServerName<'static>,
}

/// The client half of one keep-alive connection.
pub type Sender = SendRequest<Full<Bytes>>;

impl Connector {
    /// `ca_file`: the PEM CA to trust; `None` with `verify = false` accepts any certificate.
    pub fn new(
        addr: SocketAddr,
        server_name: &str,
        ca_file: Option<&Path>,
        verify: bool,
    ) -> anyhow::Result<Self> {
        let config = client_config(ca_file, verify, &[])?;
        let server_name = ServerName::try_from(
            server_name
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_string(),
        )
        .with_context(|| format!("{server_name:?} is not a valid TLS server name"))?;
        Ok(Self {
            addr,
            tls: TlsConnector::from(Arc::new(config)),
            server_name,
        })
    }

    /// Opens a connection; its driver runs as a task until the connection closes. A failure says which step
    /// failed (TCP connect, TLS, the HTTP handshake).
    pub async fn connect(&self) -> Result<Sender, Failure> {
        let tcp = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| Failure::connect(self.addr, &e))?;
        tcp.set_nodelay(true)
            .map_err(|e| Failure::connect(self.addr, &e))?;
        let tls = self
            .tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|e| Failure::tls(&e))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| super::exchange::hyper_failure(&e, "during the HTTP handshake"))?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }
}

/// A rustls client configuration trusting `ca_file` (or, with `verify = false`, any certificate), offering
/// `alpn` (empty: no ALPN extension).
pub fn client_config(
    ca_file: Option<&Path>,
    verify: bool,
    alpn: &[&[u8]],
) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS setup")?;
    let mut config = if verify {
        let path = ca_file.context("verifying the server certificate needs a CA file")?;
        let mut roots = rustls::RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(path)
            .with_context(|| format!("cannot read the CA file {}", path.display()))?;
        for cert in certs {
            let cert =
                cert.with_context(|| format!("{}: not a PEM certificate", path.display()))?;
            roots
                .add(cert)
                .with_context(|| format!("{}: unusable CA certificate", path.display()))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(no_verify::AcceptAny(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(config)
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
