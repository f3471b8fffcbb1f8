//! Resolving `[target]`: the embedded emulator, or an external endpoint (URL, admin URL, CA file).

use std::path::{Path, PathBuf};

use super::error::ScenarioError;
use super::file::{Scenario, TargetKind};
use super::groups::Groups;
use super::plan::Target;
use crate::contract::Transport;
use crate::contract::transport::DEFAULT_ENDPOINT;

pub(super) fn resolve_target(
    s: &Scenario,
    file: &Path,
    groups: &Groups,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Target, ScenarioError> {
    let t = &s.target;
    if t.inactive_authorizer.is_empty() || t.inactive_authorizer == s.authorizer.name {
        return Err(err(
            "target.inactive_authorizer",
            format!(
                "{:?} cannot name the INACTIVE authorizer: give a name other than authorizer.name (default \"{}\")",
                t.inactive_authorizer,
                crate::attempt::forge::INACTIVE_AUTHORIZER
            ),
        ));
    }
    match t.kind {
        TargetKind::Embedded => {
            for (field, set) in [
                ("target.url", !t.url.is_empty()),
                ("target.admin_url", !t.admin_url.is_empty()),
                ("target.mqtt_tls_addr", !t.mqtt_tls_addr.is_empty()),
                ("target.mqtt_addr", !t.mqtt_addr.is_empty()),
                ("target.wss_url", !t.wss_url.is_empty()),
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
            let https = if t.url.is_empty() && groups.count(Transport::Https) == 0 {
                None
            } else {
                Some(parse_https_url(&t.url).map_err(|p| err("target.url", p))?)
            };
            let needs = |tr: Transport,
                         field: &str,
                         v: &str|
             -> Result<Option<String>, ScenarioError> {
                if v.is_empty() {
                    if groups.count(tr) > 0 {
                        return Err(err(
                            field,
                            format!(
                                "transports.{} has devices, so the external target needs this address",
                                tr.as_str()
                            ),
                        ));
                    }
                    return Ok(None);
                }
                parse_authority(v).map(Some).map_err(|p| err(field, p))
            };
            let mqtt_tls = needs(Transport::MqttTls, "target.mqtt_tls_addr", &t.mqtt_tls_addr)?;
            let mqtt = needs(Transport::Mqtt, "target.mqtt_addr", &t.mqtt_addr)?;
            let wss = if !t.wss_url.is_empty() {
                Some(parse_wss_url(&t.wss_url).map_err(|p| err("target.wss_url", p))?)
            } else if groups.count(Transport::Wss) > 0 {
                let (h, p) = https.clone().ok_or_else(|| {
                    err(
                        "target.wss_url",
                        "transports.wss has devices: set wss_url or url".into(),
                    )
                })?;
                Some((format!("{h}:{p}"), "/mqtt".to_string()))
            } else {
                None
            };
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
            let first_host = https
                .as_ref()
                .map(|(h, _)| h.clone())
                .or_else(|| mqtt_tls.as_deref().map(host_of))
                .or_else(|| wss.as_ref().map(|(a, _)| host_of(a)))
                .or_else(|| mqtt.as_deref().map(host_of))
                .unwrap_or_default();
            let endpoint_name = if t.endpoint_name.is_empty() {
                first_host
            } else {
                t.endpoint_name.clone()
            };
            if endpoint_name.is_empty() {
                return Err(err("target.url", "no target address is set".into()));
            }
            Ok(Target::External {
                authority: https.map(|(h, p)| format!("{h}:{p}")),
                endpoint_name,
                mqtt_tls,
                mqtt,
                wss,
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

/// `host:port` (port required).
fn parse_authority(v: &str) -> Result<String, String> {
    match v.rsplit_once(':') {
        Some((h, p))
            if !h.is_empty() && p.parse::<u16>().is_ok() && !v.contains(['/', '?', '@']) =>
        {
            Ok(v.to_string())
        }
        _ => Err(format!("must look like host:port (got {v:?})")),
    }
}

/// `wss://host:port/path` → (`host:port`, `/path`); the port defaults to 443 and the path to `/mqtt`.
fn parse_wss_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("wss://")
        .ok_or_else(|| format!("must look like wss://host:port/mqtt (got {url:?})"))?;
    let (auth, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/mqtt"),
    };
    if auth.is_empty() || auth.contains(['?', '@', '#']) || path.contains('#') {
        return Err(format!("must look like wss://host:port/mqtt (got {url:?})"));
    }
    let auth = match auth.rsplit_once(':') {
        Some((_, p)) if !auth.ends_with(']') => {
            p.parse::<u16>()
                .map_err(|_| format!("bad port {p:?} in {url:?}"))?;
            auth.to_string()
        }
        _ => format!("{auth}:443"),
    };
    Ok((auth, path.to_string()))
}

/// The host part of `host:port`.
fn host_of(authority: &str) -> String {
    authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .to_string()
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
        assert_eq!(
            parse_wss_url("wss://a.example:8443/mqtt").unwrap(),
            ("a.example:8443".into(), "/mqtt".into())
        );
        assert_eq!(
            parse_wss_url("wss://a.example").unwrap(),
            ("a.example:443".into(), "/mqtt".into())
        );
        assert!(parse_wss_url("ws://a").is_err());
        assert_eq!(parse_authority("127.0.0.1:1883").unwrap(), "127.0.0.1:1883");
        assert!(parse_authority("127.0.0.1").is_err());
        assert!(parse_authority("mqtt://x:1").is_err());
    }
}
