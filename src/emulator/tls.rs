//! TLS for the HTTPS listener: a throwaway CA and a server certificate made with rcgen at start (the CA is
//! written to `state_dir/ca.pem` for clients to trust), or the user's `--tls-cert/--tls-key` files.
//!
//! The certificate is offered only for names the [`HostRule`] allows (SNI); any other SNI fails the handshake
//! with rustls's `access_denied` alert. The listeners clone [`TlsSetup::server_config`] and set their ALPN list
//! ([`with_alpn`]): `http/1.1` + `mqtt` on HTTPS (as AWS serves both on 443), `mqtt` on the MQTT/TLS listener.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::config::TlsFiles;
use super::host::HostRule;

/// The server's TLS configuration and the file clients should trust.
pub struct TlsSetup {
    pub server_config: Arc<ServerConfig>,
    /// `state_dir/ca.pem` for a generated CA; the certificate file for `--tls-cert`.
    pub ca_cert_path: PathBuf,
}

/// Names every generated server certificate covers, besides the configured endpoint names.
pub const BUILTIN_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// Generates a CA and a server certificate for `localhost`, `127.0.0.1`, `::1` and `endpoint_names`, and writes
/// the CA to `state_dir/ca.pem` (creating the directory).
pub fn generate(
    state_dir: &Path,
    endpoint_names: &[String],
    rule: HostRule,
) -> anyhow::Result<TlsSetup> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).context("CA parameters")?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "tokenstorm emulator throwaway CA");
    ca_params.distinguished_name = dn;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .context("self-signing the CA")?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut names: Vec<String> = BUILTIN_NAMES.iter().map(|s| s.to_string()).collect();
    for name in endpoint_names {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    let mut server_params = CertificateParams::new(names.clone()).with_context(|| {
        format!("server certificate names {names:?}: an --endpoint-name is not a valid DNS name")
    })?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "tokenstorm emulator");
    server_params.distinguished_name = dn;
    let server_key = KeyPair::generate().context("generating the server key")?;
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .context("signing the server certificate")?;

    std::fs::create_dir_all(state_dir).with_context(|| {
        format!(
            "cannot create the state directory {} (--state-dir)",
            state_dir.display()
        )
    })?;
    let ca_path = absolute(&state_dir.join("ca.pem"));
    std::fs::write(&ca_path, ca_cert.pem())
        .with_context(|| format!("cannot write {}", ca_path.display()))?;

    let chain = vec![server_cert.der().clone()];
    let key = PrivateKeyDer::try_from(server_key.serialize_der())
        .map_err(|e| anyhow::anyhow!("server key encoding: {e}"))?;
    Ok(TlsSetup {
        server_config: server_config(chain, key, rule)?,
        ca_cert_path: ca_path,
    })
}

/// Loads `--tls-cert` (a PEM chain) and `--tls-key` (a PEM private key).
pub fn load(files: &TlsFiles, rule: HostRule) -> anyhow::Result<TlsSetup> {
    let chain = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| {
            format!(
                "--tls-cert {}: cannot read a PEM certificate chain",
                files.cert.display()
            )
        })?;
    if chain.is_empty() {
        anyhow::bail!(
            "--tls-cert {}: no CERTIFICATE block found",
            files.cert.display()
        );
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
        format!(
            "--tls-key {}: cannot read a PEM private key",
            files.key.display()
        )
    })?;
    let config = server_config(chain, key, rule).with_context(|| {
        format!(
            "--tls-cert {} / --tls-key {}",
            files.cert.display(),
            files.key.display()
        )
    })?;
    Ok(TlsSetup {
        server_config: config,
        ca_cert_path: absolute(&files.cert),
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    rule: HostRule,
) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .context("the private key cannot be used for TLS")?;
    let certified = Arc::new(CertifiedKey::new(chain, signing_key));
    certified
        .keys_match()
        .context("the certificate and key do not form a usable pair")?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(HostResolver { certified, rule }));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    // Stateless session tickets, as a large endpoint issues them: a client that keeps its session resumes it
    // (no certificate, no signature) however many clients there are, with no session state kept here.
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().context("TLS session tickets")?;
    Ok(Arc::new(config))
}

/// A copy of `config` offering exactly these ALPN protocols.
pub fn with_alpn(config: &Arc<ServerConfig>, protocols: &[&[u8]]) -> Arc<ServerConfig> {
    let mut copy = (**config).clone();
    copy.alpn_protocols = protocols.iter().map(|p| p.to_vec()).collect();
    Arc::new(copy)
}

/// Offers the one certificate to clients that send no SNI or an allowed one.
#[derive(Debug)]
struct HostResolver {
    certified: Arc<CertifiedKey>,
    rule: HostRule,
}

impl ResolvesServerCert for HostResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        match hello.server_name() {
            Some(name) if !self.rule.allows(name) => {
                tracing::debug!(sni = name, "refused a TLS handshake for an unknown name");
                None
            }
            _ => Some(self.certified.clone()),
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
