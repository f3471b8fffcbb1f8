//! The AWS SDK configuration both clients share: the region from [`Settings`], the endpoint URL when set, and
//! credentials from the standard chain (environment, profile, web identity, container, instance role).

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;

use super::Settings;

/// Loads the shared configuration (reads the environment and profile files; contacts nothing yet).
pub async fn load(s: &Settings) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(s.region.clone()));
    if let Some(url) = &s.endpoint_url {
        loader = loader.endpoint_url(url.trim_end_matches('/'));
    }
    loader.load().await
}

/// Credentials from the chain, or an error saying where they are looked for.
pub async fn credentials(config: &SdkConfig, api: &str) -> anyhow::Result<Credentials> {
    let provider = config
        .credentials_provider()
        .ok_or_else(|| anyhow::anyhow!("{api}: no AWS credentials provider configured"))?;
    provider.provide_credentials().await.map_err(|e| {
        anyhow::anyhow!(
            "{api}: no AWS credentials ({}): set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run \
             with an instance or task role",
            super::failure::chain(&e)
        )
    })
}
