//! `[keys] signer`: who signs the custom-auth tokens. Absent: the PEM keys of `[keys]` (generated or read).
//! `{ command = [...] }`: an external command per token (token bytes on stdin, base64 signature on stdout), its
//! key's public half read from `keys.public_key_files`. `{ kms_key_id = "..." }`: AWS KMS `Sign`, the public key
//! from `GetPublicKey` at setup. The file section ([`SignerSection`]) resolves into a [`SignerPlan`]; the
//! signers themselves are `crate::signer`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::file::KeysSection;

/// `[keys] signer` as written (see `scenarios/reference.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignerSection {
    /// The program and its arguments (no shell unless you name one), run in the scenario's directory.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// A KMS key id, ARN, alias name (`alias/...`) or alias ARN; the key is RSA with usage SIGN_VERIFY.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kms_key_id: String,
    /// The key's region; empty: the environment's (`AWS_REGION`, else `AWS_DEFAULT_REGION`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// KMS's URL (a local double, a VPC endpoint); empty: `https://kms.<region>.amazonaws.com`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub endpoint_url: String,
    /// At most this many signatures in flight: child processes, or KMS requests.
    pub concurrency: u32,
    /// One signature's time limit, ms: a command's run, or a KMS request with its throttling retries.
    pub timeout_ms: u64,
}

impl Default for SignerSection {
    fn default() -> Self {
        Self {
            command: Vec::new(),
            kms_key_id: String::new(),
            region: String::new(),
            endpoint_url: String::new(),
            concurrency: 8,
            timeout_ms: 10_000,
        }
    }
}

/// Who signs, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerPlan {
    /// The PEM keys of `[keys]`.
    Pem,
    Command {
        argv: Vec<String>,
        /// The scenario's directory (relative paths in the command are read from there).
        dir: PathBuf,
        concurrency: usize,
        timeout: Duration,
    },
    Kms {
        key_id: String,
        /// Empty: the environment's, looked up when the signer connects.
        region: String,
        endpoint_url: Option<String>,
        concurrency: usize,
        timeout: Duration,
    },
}

impl SignerPlan {
    /// `pem`, `command` or `kms` (for the report and the setup line).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Pem => "pem",
            Self::Command { .. } => "command",
            Self::Kms { .. } => "kms",
        }
    }
}

/// Resolves `keys.signer`; errors are (field, problem).
pub(super) fn resolve(k: &KeysSection, file: &Path) -> Result<SignerPlan, (String, String)> {
    let Some(s) = &k.signer else {
        if !k.public_key_files.is_empty() {
            return Err((
                "keys.public_key_files".into(),
                "only for an external signer (keys.signer = { command = [...] }); PEM private keys carry their public half".into(),
            ));
        }
        return Ok(SignerPlan::Pem);
    };
    let field = |f: &str| format!("keys.signer.{f}");
    if s.concurrency == 0 || s.concurrency > 256 {
        return Err((
            field("concurrency"),
            format!("must be 1–256 (got {})", s.concurrency),
        ));
    }
    if s.timeout_ms == 0 {
        return Err((field("timeout_ms"), "must be at least 1".into()));
    }
    if !k.private_key_files.is_empty() {
        return Err((
            "keys.private_key_files".into(),
            "the signer holds the key: leave private_key_files empty with keys.signer".into(),
        ));
    }
    let concurrency = s.concurrency as usize;
    let timeout = Duration::from_millis(s.timeout_ms);
    match (s.command.is_empty(), s.kms_key_id.is_empty()) {
        (false, false) | (true, true) => Err((
            "keys.signer".into(),
            "name exactly one signer: command = [\"program\", ...] or kms_key_id = \"...\"".into(),
        )),
        (false, true) => command(k, s, file, concurrency, timeout),
        (true, false) => kms(k, s, concurrency, timeout),
    }
}

fn command(
    k: &KeysSection,
    s: &SignerSection,
    file: &Path,
    concurrency: usize,
    timeout: Duration,
) -> Result<SignerPlan, (String, String)> {
    if s.command[0].trim().is_empty() {
        return Err((
            "keys.signer.command".into(),
            "the program (first element) is empty".into(),
        ));
    }
    if !(s.region.is_empty() && s.endpoint_url.is_empty()) {
        return Err((
            "keys.signer.region".into(),
            "region and endpoint_url are for kms_key_id, not for a command".into(),
        ));
    }
    if k.public_key_files.is_empty() {
        return Err((
            "keys.public_key_files".into(),
            "a command signer needs its key's public half (PEM) to register with the authorizer"
                .into(),
        ));
    }
    Ok(SignerPlan::Command {
        argv: s.command.clone(),
        // `t.toml`'s parent is the empty path, which no process can start in.
        dir: file
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf(),
        concurrency,
        timeout,
    })
}

fn kms(
    k: &KeysSection,
    s: &SignerSection,
    concurrency: usize,
    timeout: Duration,
) -> Result<SignerPlan, (String, String)> {
    if !k.public_key_files.is_empty() {
        return Err((
            "keys.public_key_files".into(),
            "a KMS signer's public key comes from KMS (GetPublicKey): leave it empty".into(),
        ));
    }
    if !super::aws::region_ok(&s.region) {
        return Err((
            "keys.signer.region".into(),
            format!("must look like eu-west-1 (got {:?})", s.region),
        ));
    }
    let endpoint_url = super::aws::endpoint(&s.endpoint_url)
        .map_err(|e| ("keys.signer.endpoint_url".into(), e))?;
    Ok(SignerPlan::Kms {
        key_id: s.kms_key_id.clone(),
        region: s.region.clone(),
        endpoint_url,
        concurrency,
        timeout,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(signer: &str, extra: &str) -> Result<SignerPlan, String> {
        let s = crate::scenario::parse(&format!("[keys]\n{extra}\nsigner = {signer}\n"), "t.toml")
            .map_err(|e| e.to_string())?;
        resolve(&s.keys, Path::new("dir/t.toml")).map_err(|(f, p)| format!("{f}: {p}"))
    }

    #[test]
    fn a_command_needs_the_public_key_and_runs_in_the_scenario_directory() {
        let e = keys(r#"{ command = ["sh", "-c", "x"] }"#, "").unwrap_err();
        assert!(e.starts_with("keys.public_key_files:"), "{e}");
        let p = keys(
            r#"{ command = ["sh"] }"#,
            r#"public_key_files = ["pub.pem"]"#,
        )
        .unwrap();
        assert_eq!(
            p,
            SignerPlan::Command {
                argv: vec!["sh".into()],
                dir: "dir".into(),
                concurrency: 8,
                timeout: Duration::from_secs(10),
            }
        );
    }

    #[test]
    fn kms_takes_its_region_and_endpoint() {
        let p = keys(
            r#"{ kms_key_id = "alias/x", region = "eu-west-1", endpoint_url = "http://127.0.0.1:5000/" }"#,
            "",
        )
        .unwrap();
        assert_eq!(p.kind(), "kms");
        let SignerPlan::Kms { endpoint_url, .. } = p else {
            unreachable!()
        };
        assert_eq!(endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));
    }

    #[test]
    fn bad_signers_name_the_field() {
        for (signer, extra, want) in [
            ("{}", "", "keys.signer: name exactly one"),
            (
                r#"{ command = ["a"], kms_key_id = "k" }"#,
                "",
                "keys.signer: name exactly one",
            ),
            (
                r#"{ kms_key_id = "k", concurrency = 0 }"#,
                "",
                "keys.signer.concurrency",
            ),
            (
                r#"{ kms_key_id = "k", region = "EU" }"#,
                "",
                "keys.signer.region",
            ),
            (
                r#"{ kms_key_id = "k", endpoint_url = "ftp://x" }"#,
                "",
                "keys.signer.endpoint_url",
            ),
            (
                r#"{ kms_key_id = "k" }"#,
                r#"private_key_files = ["a.pem"]"#,
                "keys.private_key_files",
            ),
            (
                r#"{ command = [""] }"#,
                r#"public_key_files = ["p.pem"]"#,
                "keys.signer.command",
            ),
            (r#"{ kms = "k" }"#, "", "unknown field `kms`"),
        ] {
            let e = keys(signer, extra).unwrap_err();
            assert!(e.contains(want), "{signer}: {e}");
        }
    }
}
