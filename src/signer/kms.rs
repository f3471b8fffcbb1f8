//! `keys.signer = { kms_key_id = "..." }`: AWS KMS `Sign` (RSASSA_PKCS1_V1_5_SHA_256, `MessageType = RAW`) per
//! token, at most `concurrency` requests in flight. Throttling (`ThrottlingException`) and KMS's transient
//! errors are retried with exponential backoff and jitter within the signature's time limit; anything else
//! stops setup naming the key id, the token index and AWS's error code. The public key comes from
//! `GetPublicKey` when the signer connects. Without the `aws` cargo feature, connecting fails with
//! [`crate::aws::NOT_BUILT`].

use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;

use crate::aws::{Kms, Settings, kms_error_code};
use crate::scenario::plan::{KeySource, SigningKey};
use crate::scenario::signer::SignerPlan;
use crate::token::{PublicKey, SignError};

/// AWS error codes worth another try: throttling and KMS's own transient failures.
const RETRIED: [&str; 5] = [
    "ThrottlingException",
    "Throttling",
    "KMSInternalException",
    "DependencyTimeoutException",
    "ServiceUnavailable",
];
/// First backoff; doubled per retry up to [`MAX_BACKOFF`], each with up to 50% jitter added.
const FIRST_BACKOFF: Duration = Duration::from_millis(50);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// A KMS key as a token signer.
pub type KmsSigner = super::Batched<Key>;

/// The KMS key and the client that signs with it.
pub struct Key {
    kms: Kms,
    key_id: String,
    timeout: Duration,
}

impl KmsSigner {
    /// Connects (credentials from the standard chain) and reads the key's public half; the returned key is
    /// what the authorizer registers (named after the key id's last part).
    pub fn connect(plan: &SignerPlan) -> anyhow::Result<(Self, SigningKey)> {
        let SignerPlan::Kms {
            key_id,
            region,
            endpoint_url,
            concurrency,
            timeout,
        } = plan
        else {
            anyhow::bail!("not a KMS signer");
        };
        let settings = Settings {
            region: region_or_env(region)?,
            endpoint_url: endpoint_url.clone(),
        };
        let runtime = super::runtime("keys.signer")?;
        let (kms, der) = super::block_on(&runtime, async {
            let kms = Kms::connect(&settings).await?;
            let der = kms
                .get_public_key(key_id)
                .await
                .map_err(|e| anyhow::anyhow!("keys.signer.kms_key_id {key_id:?}: {e}"))?;
            anyhow::Ok((kms, der))
        })?;
        let what = format!("keys.signer.kms_key_id {key_id:?}: GetPublicKey");
        let public = PublicKey::from_spki_der(&der, &what)?;
        let key = SigningKey {
            name: key_name(key_id),
            key: None,
            public: public.clone(),
            source: KeySource::Kms(key_id.clone()),
        };
        let one = Arc::new(Key {
            kms,
            key_id: key_id.clone(),
            timeout: *timeout,
        });
        Ok((
            Self {
                one,
                public,
                concurrency: *concurrency,
                runtime,
            },
            key,
        ))
    }
}

impl super::SignOne for Key {
    fn what(&self) -> String {
        format!("keys.signer.kms_key_id {:?}", self.key_id)
    }

    async fn sign(&self, i: usize, message: &[u8]) -> Result<Vec<u8>, SignError> {
        self.sign_retrying(i, message).await
    }
}

impl Key {
    /// One token's signature, retrying throttling within the time limit.
    async fn sign_retrying(&self, i: usize, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let fail = |e: String| {
            SignError(format!(
                "keys.signer.kms_key_id {:?}: Sign failed for token {i}: {e}",
                self.key_id
            ))
        };
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut backoff = FIRST_BACKOFF;
        let mut tries = 0u32;
        loop {
            tries += 1;
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let e = match tokio::time::timeout(left, self.kms.sign(&self.key_id, message)).await {
                Ok(Ok(sig)) => return Ok(sig),
                Ok(Err(e)) => e,
                Err(_) => {
                    return Err(fail(format!(
                        "no signature within {} ms (keys.signer.timeout_ms) after {tries} tries",
                        self.timeout.as_millis()
                    )));
                }
            };
            let retried = kms_error_code(&e).is_some_and(|c| RETRIED.contains(&c));
            let pause = backoff + backoff.mul_f64(rand::rng().random_range(0.0..0.5));
            if !retried || tokio::time::Instant::now() + pause >= deadline {
                let after = if tries > 1 {
                    format!(" (after {tries} tries)")
                } else {
                    String::new()
                };
                return Err(fail(format!("{e:#}{after}")));
            }
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// The key's name in `tokenSigningPublicKeys`: the id's last part (`alias/x` → `x`, an ARN → its key id).
fn key_name(key_id: &str) -> String {
    let last = key_id.rsplit(['/', ':']).next().unwrap_or(key_id);
    let name: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    if name.is_empty() {
        "kms".into()
    } else {
        format!("kms-{name}")
    }
}

/// `keys.signer.region`, else the environment's (`AWS_REGION`, `AWS_DEFAULT_REGION`).
fn region_or_env(region: &str) -> anyhow::Result<String> {
    if !region.is_empty() {
        return Ok(region.to_string());
    }
    ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty()))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "keys.signer.region is empty and neither AWS_REGION nor AWS_DEFAULT_REGION is set: name the key's region"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_names_come_from_the_ids_last_part() {
        assert_eq!(key_name("alias/tokens"), "kms-tokens");
        assert_eq!(
            key_name("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab"),
            "kms-1234abcd-12ab"
        );
        assert_eq!(key_name("1234abcd"), "kms-1234abcd");
    }
}
