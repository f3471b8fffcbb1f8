//! The region and account the devices' resources are built with (`arn:aws:iot:REGION:ACCOUNT:...`): given by
//! flags, known from the scenario (the embedded emulator's own, `[target.aws] region`, an AWS endpoint name),
//! or else taken from the policy's own ARNs — then a wrong region or account cannot be told, only a placeholder.

use serde::Serialize;
use serde_json::Value;

use super::lint::Arn;
use crate::emulator::config::{DEFAULT_ACCOUNT, DEFAULT_REGION};
use crate::emulator::policy;
use crate::scenario::Scenario;
use crate::scenario::file::TargetKind;

/// A value and where it came from.
pub type Known = Option<(String, String)>;

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub region: String,
    pub account_id: String,
    /// Where the region came from (`--region`, `the embedded emulator`...); `None`: taken from the policy.
    pub region_from: Option<String>,
    pub account_from: Option<String>,
}

impl Account {
    /// What is known, the rest from the documents' first concrete ARN, else the emulator's defaults.
    pub fn resolve(region: Known, account: Known, documents: &[Value]) -> Self {
        let concrete = |v: &str| !v.is_empty() && !v.contains(['*', '?', '$']);
        let arns: Vec<Arn<'_>> = documents
            .iter()
            .flat_map(policy::statements)
            .filter_map(|s| s.get("Resource"))
            .flat_map(policy::strings)
            .filter_map(Arn::parse)
            .collect();
        let from_policy = |values: Vec<&str>, default: &str| {
            values
                .into_iter()
                .find(|v| concrete(v))
                .unwrap_or(default)
                .to_string()
        };
        let (region, region_from) = match region {
            Some((v, from)) => (v, Some(from)),
            None => (
                from_policy(arns.iter().map(|a| a.region).collect(), DEFAULT_REGION),
                None,
            ),
        };
        let (account_id, account_from) = match account {
            Some((v, from)) => (v, Some(from)),
            None => (
                from_policy(arns.iter().map(|a| a.account).collect(), DEFAULT_ACCOUNT),
                None,
            ),
        };
        Self {
            region,
            account_id,
            region_from,
            account_from,
        }
    }

    /// What the scenario says: the embedded emulator's region and account; for an external target the
    /// `[target.aws]` region, else the region in an AWS endpoint name (`…-ats.iot.REGION.amazonaws.com`).
    pub fn of_scenario(s: &Scenario) -> (Known, Known) {
        let t = &s.target;
        if t.kind == TargetKind::Embedded {
            let from = || "the embedded emulator".to_string();
            return (
                Some((DEFAULT_REGION.into(), from())),
                Some((DEFAULT_ACCOUNT.into(), from())),
            );
        }
        let aws = t
            .aws
            .as_ref()
            .filter(|a| !a.region.is_empty())
            .map(|a| (a.region.clone(), "target.aws.region".to_string()));
        let host = if t.endpoint_name.is_empty() {
            t.url
                .trim_start_matches("https://")
                .split([':', '/'])
                .next()
                .unwrap_or("")
        } else {
            t.endpoint_name.as_str()
        };
        (
            aws.or_else(|| {
                endpoint_region(host).map(|r| (r.to_string(), "the endpoint name".into()))
            }),
            None,
        )
    }
}

/// `REGION` in `<prefix>-ats.iot.REGION.amazonaws.com` (and `.amazonaws.com.cn`).
pub fn endpoint_region(host: &str) -> Option<&str> {
    let (_, rest) = host.split_once(".iot.")?;
    let (region, tail) = rest.split_once('.')?;
    tail.starts_with("amazonaws.com").then_some(region)
}
