//! AWS KMS, the two operations a token signer needs: `Sign` (RSASSA-PKCS1-v1_5 with SHA-256 over the raw
//! message, what the custom-auth gate verifies) and `GetPublicKey` (the DER SubjectPublicKeyInfo the authorizer
//! registers). JSON 1.1 (`X-Amz-Target: TrentService.<Op>`) through the hand-signed [`JsonApi`]: two
//! operations do not justify the SDK's KMS crate, and the same client already serves CloudWatch.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use super::Settings;
use super::json_api::{Api, JsonApi, ServiceError};

const API: Api = Api {
    name: "KMS",
    service: "kms",
    content_type: "application/x-amz-json-1.1",
    target_prefix: "TrentService",
};

/// The signing algorithm the custom-auth gate verifies.
pub const SIGNING_ALGORITHM: &str = "RSASSA_PKCS1_V1_5_SHA_256";

/// A KMS client; cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Kms {
    api: JsonApi,
}

impl Kms {
    /// Reads the configuration and credentials (a missing credential fails here).
    pub async fn connect(s: &Settings) -> anyhow::Result<Self> {
        Ok(Self {
            api: JsonApi::connect(API, s).await?,
        })
    }

    /// The endpoint requests go to.
    pub fn url(&self) -> &str {
        self.api.url()
    }

    /// The key's public key, DER SubjectPublicKeyInfo.
    pub async fn get_public_key(&self, key_id: &str) -> anyhow::Result<Vec<u8>> {
        let answer = self
            .api
            .call("GetPublicKey", &json!({"KeyId": key_id}))
            .await?;
        blob(&answer, "PublicKey", "GetPublicKey", self.url())
    }

    /// The raw signature of `message` (RSASSA_PKCS1_V1_5_SHA_256, `MessageType = RAW`).
    pub async fn sign(&self, key_id: &str, message: &[u8]) -> anyhow::Result<Vec<u8>> {
        let body = json!({
            "KeyId": key_id,
            "Message": STANDARD.encode(message),
            "MessageType": "RAW",
            "SigningAlgorithm": SIGNING_ALGORITHM,
        });
        let answer = self.api.call("Sign", &body).await?;
        blob(&answer, "Signature", "Sign", self.url())
    }
}

/// AWS's error code of a failed call, when the API answered with one.
pub fn error_code(e: &anyhow::Error) -> Option<&str> {
    e.downcast_ref::<ServiceError>()
        .and_then(|s| s.code.as_deref())
}

/// A base64 blob field of a JSON answer.
fn blob(answer: &[u8], field: &str, op: &str, url: &str) -> anyhow::Result<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_slice(answer)
        .map_err(|e| anyhow::anyhow!("{} {op} at {url}: unexpected answer ({e})", API.name))?;
    let text = v[field]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("{} {op} at {url}: the answer has no {field}", API.name))?;
    STANDARD
        .decode(text)
        .map_err(|e| anyhow::anyhow!("{} {op} at {url}: {field} is not base64 ({e})", API.name))
}
