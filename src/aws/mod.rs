//! The AWS APIs tokenstorm reads and writes: CloudWatch metrics ([`CloudWatch`]) and CloudWatch Logs ([`Logs`]),
//! and KMS ([`Kms`]) for the token signer `keys.signer = { kms_key_id = ... }`.
//! A run reads them to judge a real account (the authorizer Lambda's own records are the witness); the emulator
//! writes them to behave like the Lambda service. Both take one [`Settings`]: the region and, for a local double
//! (moto) or a VPC endpoint, one endpoint URL serving both APIs. Credentials come from the standard AWS chain
//! (environment, profile, instance role).
//!
//! Behind the `aws` cargo feature. Without it this module has the same API and every `connect` fails with
//! [`NOT_BUILT`], so no caller needs a `cfg`.

mod metric_json;

#[cfg(feature = "aws")]
mod cloudwatch;
#[cfg(feature = "aws")]
mod failure;
#[cfg(feature = "aws")]
mod json_api;
#[cfg(feature = "aws")]
mod kms;
#[cfg(feature = "aws")]
mod logs;
#[cfg(feature = "aws")]
mod sdk;

#[cfg(not(feature = "aws"))]
mod disabled;

#[cfg(feature = "aws")]
pub use cloudwatch::CloudWatch;
#[cfg(not(feature = "aws"))]
pub use disabled::{CloudWatch, Kms, Logs, kms_error_code};
#[cfg(feature = "aws")]
pub use kms::{Kms, error_code as kms_error_code};
#[cfg(feature = "aws")]
pub use logs::Logs;

/// What every `connect` says in a build without the `aws` feature.
pub const NOT_BUILT: &str = "this tokenstorm was built without AWS support: rebuild with `cargo build --release --features aws`";

/// Where the AWS APIs are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub region: String,
    /// One URL for both CloudWatch and CloudWatch Logs (a local double, a VPC endpoint); `None`: AWS's own.
    pub endpoint_url: Option<String>,
}

impl Settings {
    /// The URL errors name for a service (`monitoring`, `logs`): the endpoint URL, else AWS's regional one.
    pub fn url_for(&self, service: &str) -> String {
        match &self.endpoint_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("https://{service}.{}.amazonaws.com", self.region),
        }
    }
}

/// One CloudWatch data point to put.
#[derive(Debug, Clone, PartialEq)]
pub struct Datum {
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    /// When the value was observed (CloudWatch sums the points of one period).
    pub unix_s: i64,
    pub value: f64,
    /// A CloudWatch unit: `Count`, `Milliseconds`, ...
    pub unit: &'static str,
}

/// One statistic of one metric to read, per period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricQuery {
    /// Names the series in the answer; CloudWatch wants it to start with a lower-case letter.
    pub id: String,
    pub namespace: String,
    pub metric: String,
    pub dimensions: Vec<(String, String)>,
    pub period_s: u32,
    /// `Sum`, `Maximum`, ...
    pub stat: String,
}

/// The answer to one [`MetricQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSeries {
    pub id: String,
    /// (period start, unix seconds; value), oldest first. Periods without data are absent.
    pub points: Vec<(i64, f64)>,
    /// CloudWatch's `StatusCode` was `Complete` on every page.
    pub complete: bool,
}

/// One CloudWatch Logs event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub unix_ms: i64,
    pub message: String,
    pub stream: String,
}
