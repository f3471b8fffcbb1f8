//! `[target.aws]`: judging a real account's endpoint through its CloudWatch (issue 10 §2). The file section
//! ([`AwsSection`], absent = no AWS witness) and its resolution ([`AwsTarget`]): the authorizer's function
//! named by name, `name:alias` or ARN, the log group, which witness to read, and the settle/poll timing.
//! Only external targets take it: the embedded emulator has its own ledger.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which CloudWatch record judges the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AwsWitness {
    /// The witness helper's line per invocation in the function's log group (joined per attempt).
    Logs,
    /// `AWS/Lambda` `Invocations` of the function (a count; no change to the function).
    Metrics,
    /// Both: the logs join the attempts, the metrics check the count.
    Both,
}

impl AwsWitness {
    pub const fn logs(self) -> bool {
        matches!(self, Self::Logs | Self::Both)
    }

    pub const fn metrics(self) -> bool {
        matches!(self, Self::Metrics | Self::Both)
    }
}

/// `[target.aws]` as written (see `scenarios/reference.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsSection {
    /// Empty: the environment's (`AWS_REGION`, else `AWS_DEFAULT_REGION`).
    pub region: String,
    /// Name, `name:alias` or ARN of the authorizer's Lambda function.
    pub function_name: String,
    /// Empty: `/aws/lambda/<function name>`.
    pub log_group: String,
    pub witness: AwsWitness,
    /// One URL for the CloudWatch and CloudWatch Logs APIs; empty: AWS's regional endpoints.
    pub endpoint_url: String,
    /// Wait this long after the load before the first read (Lambda metrics arrive minutes late).
    pub settle_s: u64,
    /// Then read every poll_s until two reads agree.
    pub poll_s: u64,
    /// Give up (the count is `pending`, the run inconclusive) this long after the load ended.
    pub reconcile_timeout_s: u64,
}

impl Default for AwsSection {
    fn default() -> Self {
        Self {
            region: String::new(),
            function_name: String::new(),
            log_group: String::new(),
            witness: AwsWitness::Logs,
            endpoint_url: String::new(),
            settle_s: 180,
            poll_s: 60,
            reconcile_timeout_s: 900,
        }
    }
}

/// The authorizer's function as CloudWatch names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The function's name (the `FunctionName` dimension, the default log group).
    pub name: String,
    /// An alias or version (`name:alias`, or the ARN's last part): metrics by the `Resource` dimension.
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Reads a name, `name:qualifier` or `arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
    pub fn parse(v: &str) -> Result<Self, String> {
        let parts: Vec<&str> = v.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            ["arn", _, "lambda", _, _, "function", name] => (*name, None),
            ["arn", _, "lambda", _, _, "function", name, q] => (*name, Some(*q)),
            ["arn", ..] => {
                return Err(format!(
                    "an ARN must look like arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS] (got {v:?})"
                ));
            }
            [name] => (*name, None),
            [name, q] => (*name, Some(*q)),
            _ => return Err(format!("must be a name, name:alias or ARN (got {v:?})")),
        };
        let name_ok = |s: &str, extra: &[u8]| {
            !s.is_empty()
                && s.len() <= if extra.is_empty() { 64 } else { 128 }
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b) || extra.contains(&b))
        };
        if !name_ok(name, b"") {
            return Err(format!(
                "the function name must be 1–64 characters [A-Za-z0-9-_] (got {name:?} in {v:?})"
            ));
        }
        if let Some(q) = qualifier
            && !name_ok(q, b"$")
        {
            return Err(format!(
                "the alias or version must be 1–128 characters [A-Za-z0-9-_$] (got {q:?} in {v:?})"
            ));
        }
        Ok(Self {
            name: name.to_string(),
            qualifier: qualifier.map(str::to_string),
        })
    }

    /// The metric dimensions of this function: `FunctionName`, plus `Resource` = `name:qualifier` for an alias
    /// or version (how Lambda publishes a qualified function's metrics).
    pub fn dimensions(&self) -> Vec<(String, String)> {
        let mut d = vec![("FunctionName".to_string(), self.name.clone())];
        if let Some(q) = &self.qualifier {
            d.push(("Resource".to_string(), format!("{}:{q}", self.name)));
        }
        d
    }

    /// `name` or `name:qualifier`, as the user wrote it short.
    pub fn label(&self) -> String {
        match &self.qualifier {
            Some(q) => format!("{}:{q}", self.name),
            None => self.name.clone(),
        }
    }
}

/// `[target.aws]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsTarget {
    /// Empty: the environment's (resolved when the clients connect).
    pub region: String,
    pub function: FunctionRef,
    pub log_group: String,
    pub witness: AwsWitness,
    pub endpoint_url: Option<String>,
    pub settle: Duration,
    pub poll: Duration,
    pub reconcile_timeout: Duration,
}

/// Checks `[target.aws]`; the error is (field, problem).
pub(crate) fn resolve(a: &AwsSection) -> Result<AwsTarget, (String, String)> {
    let field = |f: &str| format!("target.aws.{f}");
    if a.function_name.is_empty() {
        return Err((
            field("function_name"),
            "the authorizer's Lambda function is needed (name, name:alias or ARN)".into(),
        ));
    }
    let function = FunctionRef::parse(&a.function_name).map_err(|e| (field("function_name"), e))?;
    let log_group = if a.log_group.is_empty() {
        format!("/aws/lambda/{}", function.name)
    } else if a.log_group.len() > 512
        || !a
            .log_group
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-/.#".contains(&b))
    {
        return Err((
            field("log_group"),
            format!(
                "must be 1–512 characters [A-Za-z0-9_-/.#] (got {:?})",
                a.log_group
            ),
        ));
    } else {
        a.log_group.clone()
    };
    if !region_ok(&a.region) {
        return Err((
            field("region"),
            format!("must look like eu-west-1 (got {:?})", a.region),
        ));
    }
    let endpoint_url = endpoint(&a.endpoint_url).map_err(|e| (field("endpoint_url"), e))?;
    if a.poll_s == 0 {
        return Err((
            field("poll_s"),
            "must be at least 1 (seconds between reads once settled)".into(),
        ));
    }
    if a.reconcile_timeout_s < a.settle_s.saturating_add(a.poll_s) {
        return Err((
            field("reconcile_timeout_s"),
            format!(
                "must leave room for two reads: at least settle_s + poll_s ({} + {} s) (got {})",
                a.settle_s, a.poll_s, a.reconcile_timeout_s
            ),
        ));
    }
    Ok(AwsTarget {
        region: a.region.clone(),
        function,
        log_group,
        witness: a.witness,
        endpoint_url,
        settle: Duration::from_secs(a.settle_s),
        poll: Duration::from_secs(a.poll_s),
        reconcile_timeout: Duration::from_secs(a.reconcile_timeout_s),
    })
}

/// `http(s)://host[:port]`, trailing `/` dropped; empty: AWS.
/// Empty (the environment's) or shaped like `eu-west-1`.
pub(super) fn region_ok(region: &str) -> bool {
    region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

pub(super) fn endpoint(v: &str) -> Result<Option<String>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    let checked = if v.starts_with("http://") {
        crate::contract::url::http_origin(v).map(|_| ())
    } else {
        crate::contract::url::https_origin(v).map(|_| ())
    };
    checked
        .map(|()| Some(v.trim_end_matches('/').to_string()))
        .map_err(|e| {
            e.to_string()
                .replace("https://host[:port]", "http(s)://host[:port]")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: &str) -> FunctionRef {
        FunctionRef::parse(v).unwrap()
    }

    #[test]
    fn a_function_is_a_name_an_alias_or_an_arn() {
        assert_eq!(
            f("MyFn").dimensions(),
            vec![("FunctionName".into(), "MyFn".into())]
        );
        let alias = f("MyFn:live");
        assert_eq!(alias.name, "MyFn");
        assert_eq!(
            alias.dimensions(),
            vec![
                ("FunctionName".into(), "MyFn".into()),
                ("Resource".into(), "MyFn:live".into())
            ]
        );
        assert_eq!(
            f("arn:aws:lambda:eu-west-1:123456789012:function:MyFn"),
            f("MyFn")
        );
        assert_eq!(
            f("arn:aws-cn:lambda:cn-north-1:123456789012:function:MyFn:$LATEST").label(),
            "MyFn:$LATEST"
        );
        for bad in [
            "",
            "a b",
            "arn:aws:iam::123:role/x",
            "a:b:c",
            "MyFn:",
            "arn:aws:lambda:eu-west-1:1:function:",
        ] {
            assert!(FunctionRef::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn defaults_and_errors_name_the_field() {
        let mut a = AwsSection {
            function_name: "arn:aws:lambda:eu-west-1:1:function:Auth:prod".into(),
            ..AwsSection::default()
        };
        let t = resolve(&a).unwrap();
        assert_eq!(t.log_group, "/aws/lambda/Auth");
        assert_eq!(t.endpoint_url, None);
        assert_eq!(
            (
                t.settle.as_secs(),
                t.poll.as_secs(),
                t.reconcile_timeout.as_secs()
            ),
            (180, 60, 900)
        );
        a.endpoint_url = "http://127.0.0.1:5000/".into();
        assert_eq!(
            resolve(&a).unwrap().endpoint_url.as_deref(),
            Some("http://127.0.0.1:5000")
        );
        for (edit, field) in [
            (
                (|a: &mut AwsSection| a.function_name.clear()) as fn(&mut AwsSection),
                "target.aws.function_name",
            ),
            (
                |a| a.endpoint_url = "ftp://x".into(),
                "target.aws.endpoint_url",
            ),
            (
                |a| a.log_group = "no spaces please".into(),
                "target.aws.log_group",
            ),
            (|a| a.region = "EU West".into(), "target.aws.region"),
            (|a| a.poll_s = 0, "target.aws.poll_s"),
            (
                |a| a.reconcile_timeout_s = 10,
                "target.aws.reconcile_timeout_s",
            ),
        ] {
            let mut b = a.clone();
            edit(&mut b);
            assert_eq!(resolve(&b).unwrap_err().0, field);
        }
    }

    fn plan(text: &str) -> Result<crate::scenario::Plan, String> {
        let s = crate::scenario::parse(text, "t.toml").map_err(|e| e.to_string())?;
        crate::scenario::Plan::resolve(s, std::path::Path::new("t.toml")).map_err(|e| e.to_string())
    }

    #[test]
    fn target_aws_is_for_external_targets_and_rejects_unknown_fields() {
        let ext = "[target]\nkind = \"external\"\nurl = \"https://x\"\nverify_tls = false\n";
        let p = plan(&format!(
            "{ext}[target.aws]\nfunction_name = \"Auth\"\nwitness = \"both\"\nsettle_s = 0\npoll_s = 1\n"
        ))
        .unwrap();
        let aws = p.target.aws().unwrap();
        assert_eq!((aws.witness, aws.settle.as_secs()), (AwsWitness::Both, 0));
        assert_eq!(
            plan(&format!(
                "{ext}[target.aws]\nfunction_name = \"Auth\"\nsettle = 1\n"
            ))
            .unwrap_err(),
            "t.toml: target.aws.settle: unknown field `settle`, expected one of `region`, `function_name`, `log_group`, `witness`, `endpoint_url`, `settle_s`, `poll_s`, `reconcile_timeout_s`"
        );
        assert_eq!(
            plan("[target.aws]\nfunction_name = \"Auth\"\n").unwrap_err(),
            "t.toml: target.aws: only for target.kind = \"external\"; remove it or set the kind"
        );
        assert_eq!(
            plan(&format!("{ext}[target.aws]\n")).unwrap_err(),
            "t.toml: target.aws.function_name: the authorizer's Lambda function is needed (name, name:alias or ARN)"
        );
    }
}
