//! Resolving `[target]`: the embedded emulator, or an external endpoint (URL, admin URL, CA file).

use std::path::{Path, PathBuf};

use super::error::ScenarioError;
use super::file::{Scenario, TargetKind};
use super::plan::Target;
use crate::emulator::config::DEFAULT_ENDPOINT;

pub(super) fn resolve_target(
    s: &Scenario,
    file: &Path,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Target, ScenarioError> {
    let t = &s.target;
    match t.kind {
        TargetKind::Embedded => {
            for (field, set) in [
                ("target.url", !t.url.is_empty()),
                ("target.admin_url", !t.admin_url.is_empty()),
            ] {
                if set {
                    return Err(err(
                        field,
                        "only for target.kind = \"external\"; remove it or set the kind".into(),
                    ));
                }
            }
            let endpoint_name = if t.endpoint_name.is_empty() {
                DEFAULT_ENDPOINT.into()
            } else {
                t.endpoint_name.clone()
            };
            if t.ledger_capacity == 0 {
                return Err(err(
                    "target.ledger_capacity",
                    "must be at least 1 (default 100000); it bounds the embedded emulator's ledger"
                        .into(),
                ));
            }
            Ok(Target::Embedded {
                endpoint_name,
                ledger_capacity: usize::try_from(t.ledger_capacity).unwrap_or(usize::MAX),
            })
        }
        TargetKind::External => {
            let (host, port) = parse_https_url(&t.url).map_err(|p| err("target.url", p))?;
            let admin_url = if t.admin_url.is_empty() {
                None
            } else {
                let rest = t.admin_url.strip_prefix("http://").ok_or_else(|| {
                    err(
                        "target.admin_url",
                        format!("must look like http://host:port (got {:?})", t.admin_url),
                    )
                })?;
                if rest.trim_end_matches('/').is_empty() {
                    return Err(err("target.admin_url", "has no host".into()));
                }
                Some(t.admin_url.trim_end_matches('/').to_string())
            };
            let ca_file = if t.ca_file.as_os_str().is_empty() {
                if t.verify_tls {
                    return Err(err("target.ca_file", "needed when target.verify_tls = true (the CA that signed the endpoint's certificate)".into()));
                }
                None
            } else {
                let p = relative_to(file, &t.ca_file);
                if !p.is_file() {
                    return Err(err(
                        "target.ca_file",
                        format!("{} is not a readable file", p.display()),
                    ));
                }
                Some(p)
            };
            let endpoint_name = if t.endpoint_name.is_empty() {
                host.clone()
            } else {
                t.endpoint_name.clone()
            };
            Ok(Target::External {
                authority: format!("{host}:{port}"),
                host,
                port,
                endpoint_name,
                admin_url,
                ca_file,
                verify_tls: t.verify_tls,
            })
        }
    }
}

/// `https://host[:port][/]` → (host, port). IPv6 literals in brackets are kept with their brackets.
pub(super) fn parse_https_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("must look like https://host:port (got {url:?})"))?
        .trim_end_matches('/');
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "must be https://host[:port] with no path (got {url:?})"
        ));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (
            h.to_string(),
            p.parse::<u16>()
                .map_err(|_| format!("bad port {p:?} in {url:?}"))?,
        ),
        _ => (rest.to_string(), 443),
    };
    Ok((host, port))
}

pub(super) fn relative_to(file: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            parse_https_url("https://localhost:8443").unwrap(),
            ("localhost".into(), 8443)
        );
        assert_eq!(
            parse_https_url("https://a.example/").unwrap(),
            ("a.example".into(), 443)
        );
        assert_eq!(
            parse_https_url("https://[::1]:9").unwrap(),
            ("[::1]".into(), 9)
        );
        assert!(parse_https_url("http://x").is_err());
        assert!(parse_https_url("https://x/path").is_err());
        assert!(parse_https_url("https://x:notaport").is_err());
    }
}
