//! One AWS JSON-protocol API (`application/x-amz-json-1.0` or `1.1`, `X-Amz-Target: <prefix>.<Op>`) called by
//! hand: each request signed with SigV4 on a pooled hyper client (HTTPS trusting the system roots, or plain
//! HTTP for a local double). CloudWatch and KMS use it: the official crates either speak a protocol the local
//! double (moto) does not serve (CloudWatch's RPC-v2 CBOR) or would add a heavy crate for two operations (KMS).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::Mutex;

use super::{Settings, failure, metric_json, sdk};

/// A request that has not answered by then is abandoned.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Credentials this close to expiry are refreshed before signing.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// Which API: its name in errors, its SigV4 service name, its JSON version and target prefix.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    pub name: &'static str,
    /// The SigV4 signing name and the endpoint's host prefix (`monitoring`, `kms`).
    pub service: &'static str,
    /// `application/x-amz-json-1.0` or `-1.1`.
    pub content_type: &'static str,
    /// `X-Amz-Target` is this, a dot, the operation.
    pub target_prefix: &'static str,
}

/// An error answer from the API: the operation, endpoint and AWS's error code (for retry decisions).
#[derive(Debug, thiserror::Error)]
#[error("{api} {op} at {url}: {text}")]
pub struct ServiceError {
    pub api: &'static str,
    pub op: String,
    pub url: String,
    /// AWS's error code (`ThrottlingException`, `NotFoundException`), when the answer names one.
    pub code: Option<String>,
    pub text: String,
}

/// A client of one API; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct JsonApi {
    api: Api,
    http: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: String,
    region: String,
    config: Arc<aws_config::SdkConfig>,
    credentials: Arc<Mutex<Option<Credentials>>>,
}

impl JsonApi {
    /// Checks the endpoint URL, reads the configuration and credentials (so a missing credential fails here,
    /// not at the first call).
    pub async fn connect(api: Api, s: &Settings) -> anyhow::Result<Self> {
        let name = api.name;
        let url = s.url_for(api.service);
        let uri: http::Uri = url
            .parse()
            .map_err(|e| anyhow::anyhow!("{name} endpoint URL {url:?}: {e}"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            anyhow::bail!(
                "{name} endpoint URL {url:?}: expected http://HOST[:PORT] or https://HOST[:PORT]"
            );
        }
        let config = Arc::new(sdk::load(s).await);
        let credentials = sdk::credentials(&config, name).await?;
        Ok(Self {
            api,
            http: http_client()?,
            url,
            region: s.region.clone(),
            config,
            credentials: Arc::new(Mutex::new(Some(credentials))),
        })
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// One signed call; the answer's body on a 2xx, else an error naming the operation, endpoint and AWS's
    /// code (a [`ServiceError`] when the API answered).
    pub async fn call(&self, op: &str, body: &serde_json::Value) -> anyhow::Result<Bytes> {
        let name = self.api.name;
        let request = self.signed(op, serde_json::to_vec(body)?).await?;
        let answer = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self.http.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await?.to_bytes();
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((parts, body))
        })
        .await;
        let (parts, body) = match answer {
            Err(_) => anyhow::bail!(
                "{name} {op} at {}: no answer within {}s",
                self.url,
                REQUEST_TIMEOUT.as_secs()
            ),
            Ok(Err(e)) => return Err(failure::unreachable(name, &self.url, e.as_ref())),
            Ok(Ok(answer)) => answer,
        };
        if parts.status.is_success() {
            return Ok(body);
        }
        let header = parts
            .headers
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok());
        let (code, text) = metric_json::error_parts(parts.status.as_u16(), header, &body);
        Err(ServiceError {
            api: name,
            op: op.to_string(),
            url: self.url.clone(),
            code,
            text,
        }
        .into())
    }

    async fn signed(&self, op: &str, body: Vec<u8>) -> anyhow::Result<http::Request<Full<Bytes>>> {
        let mut request = http::Request::post(format!("{}/", self.url))
            .header("content-type", self.api.content_type)
            .header("x-amz-target", format!("{}.{op}", self.api.target_prefix))
            .body(())?;
        let identity: Identity = self.current_credentials().await?.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(self.api.service)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()?
            .into();
        let headers = request
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
        let signable = SignableRequest::new(
            "POST",
            request.uri().to_string(),
            headers,
            SignableBody::Bytes(&body),
        )?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| anyhow::anyhow!("{} {op}: cannot sign the request: {e}", self.api.name))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut request);
        Ok(request.map(|()| Full::new(Bytes::from(body))))
    }

    /// The cached credentials, refreshed from the chain when they are about to expire.
    async fn current_credentials(&self) -> anyhow::Result<Credentials> {
        let mut held = self.credentials.lock().await;
        let fresh = held.as_ref().is_some_and(|c| match c.expiry() {
            None => true,
            Some(at) => at
                .duration_since(SystemTime::now())
                .is_ok_and(|left| left > REFRESH_BEFORE),
        });
        if !fresh {
            *held = Some(sdk::credentials(&self.config, self.api.name).await?);
        }
        held.clone()
            .ok_or_else(|| anyhow::anyhow!("{}: no AWS credentials", self.api.name))
    }
}

/// HTTPS trusting the system roots (Amazon's CAs are among them), or plain HTTP; HTTP/1.1, pooled.
fn http_client() -> anyhow::Result<Client<HttpsConnector<HttpConnector>, Full<Bytes>>> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates leave the store smaller; an https endpoint then fails with a TLS error
    // naming the certificate, which says more than failing here for a plain-HTTP local double.
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow::anyhow!("TLS setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector))
}
