//! Resolving `[target]`: the embedded emulator, or an external endpoint (URL, admin URL, CA file).

use std::path::{Path, PathBuf};

use super::error::ScenarioError;
use super::file::{Scenario, TargetKind, TargetSection};
use super::groups::Groups;
use super::plan::Target;
use crate::contract::Transport;
use crate::contract::transport::DEFAULT_ENDPOINT;
use crate::contract::url;

/// Checks `[target]` and resolves the embedded emulator or the external endpoint's addresses.
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
        TargetKind::Embedded => embedded(t, err),
        TargetKind::External => external(t, file, groups, err),
    }
}

/// The embedded emulator: no external addresses allowed, a default endpoint name, a non-zero ledger.
fn embedded(
    t: &TargetSection,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Target, ScenarioError> {
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
            "must be at least 1 (default 100000); it bounds the embedded emulator's ledger".into(),
        ));
    }
    Ok(Target::Embedded {
        endpoint_name,
        ledger_capacity: usize::try_from(t.ledger_capacity).unwrap_or(usize::MAX),
    })
}

/// An external endpoint: every transport with devices needs an address; the endpoint name defaults to the
/// first host given.
fn external(
    t: &TargetSection,
    file: &Path,
    groups: &Groups,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Target, ScenarioError> {
    let https = if t.url.is_empty() && groups.count(Transport::Https) == 0 {
        None
    } else {
        Some(url::https_origin(&t.url).map_err(|e| err("target.url", e.to_string()))?)
    };
    let needs =
        |tr: Transport, field: &str, v: &str| host_port_if_needed(groups, tr, field, v, err);
    let mqtt_tls = needs(Transport::MqttTls, "target.mqtt_tls_addr", &t.mqtt_tls_addr)?;
    let mqtt = needs(Transport::Mqtt, "target.mqtt_addr", &t.mqtt_addr)?;
    let wss = wss_endpoint(t, groups, https.as_ref(), err)?;
    let admin_url = if t.admin_url.is_empty() {
        None
    } else {
        url::http_origin(&t.admin_url).map_err(|e| err("target.admin_url", e.to_string()))?;
        Some(t.admin_url.trim_end_matches('/').to_string())
    };
    let ca_file = ca_file(t, file, err)?;
    let first_host = https
        .as_ref()
        .map(|o| o.host.clone())
        .or_else(|| mqtt_tls.as_deref().map(url::host_of))
        .or_else(|| wss.as_ref().map(|(a, _)| url::host_of(a)))
        .or_else(|| mqtt.as_deref().map(url::host_of))
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
        authority: https.map(|o| o.addr()),
        endpoint_name,
        mqtt_tls,
        mqtt,
        wss,
        admin_url,
        ca_file,
        verify_tls: t.verify_tls,
        system_roots: t.system_roots,
    })
}

/// A `host:port` address `v`, required (as `field`) when transport `tr` has devices.
fn host_port_if_needed(
    groups: &Groups,
    tr: Transport,
    field: &str,
    v: &str,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Option<String>, ScenarioError> {
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
    url::host_port(v)
        .map(Some)
        .map_err(|e| err(field, e.to_string()))
}

/// The WebSocket (`host:port`, path): `wss_url`, else the HTTPS origin at `/mqtt` when wss has devices.
fn wss_endpoint(
    t: &TargetSection,
    groups: &Groups,
    https: Option<&url::Origin>,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Option<(String, String)>, ScenarioError> {
    if !t.wss_url.is_empty() {
        let (origin, path) =
            url::wss_endpoint(&t.wss_url).map_err(|e| err("target.wss_url", e.to_string()))?;
        Ok(Some((origin.addr(), path)))
    } else if groups.count(Transport::Wss) > 0 {
        let origin = https.ok_or_else(|| {
            err(
                "target.wss_url",
                "transports.wss has devices: set wss_url or url".into(),
            )
        })?;
        Ok(Some((origin.addr(), "/mqtt".to_string())))
    } else {
        Ok(None)
    }
}

/// The CA file (relative to the scenario); `None` (empty): the system's roots are trusted.
fn ca_file(
    t: &TargetSection,
    file: &Path,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Option<PathBuf>, ScenarioError> {
    if t.ca_file.as_os_str().is_empty() {
        return Ok(None);
    }
    let p = relative_to(file, &t.ca_file);
    if !p.is_file() {
        return Err(err(
            "target.ca_file",
            format!("{} is not a readable file", p.display()),
        ));
    }
    Ok(Some(p))
}

/// `p` as given when absolute, else relative to the scenario file's directory.
pub(super) fn relative_to(file: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::scenario::plan::{Plan, Target};

    fn external(target: &str) -> Result<Target, String> {
        let text = format!("[target]\nkind = \"external\"\nverify_tls = false\n{target}");
        let s = crate::scenario::parse(&text, "t.toml").map_err(|e| e.to_string())?;
        Plan::resolve(s, Path::new("t.toml"))
            .map(|p| p.target)
            .map_err(|e| e.to_string())
    }

    /// `https://[::1]` was refused: `rsplit_once(':')` read `1]` as the port.
    #[test]
    fn an_ipv6_literal_url_without_port_resolves_to_port_443() {
        let Target::External {
            authority,
            endpoint_name,
            wss,
            ..
        } = external("url = \"https://[::1]\"\n").unwrap()
        else {
            panic!("external");
        };
        assert_eq!(authority.as_deref(), Some("[::1]:443"));
        assert_eq!(endpoint_name, "[::1]");
        assert_eq!(wss, None);
        let Target::External { authority, .. } =
            external("url = \"https://[::1]:8443/\"\n").unwrap()
        else {
            panic!("external");
        };
        assert_eq!(authority.as_deref(), Some("[::1]:8443"));
    }

    /// No `ca_file` with verification on: the system's roots are trusted (no longer an error).
    #[test]
    fn an_empty_ca_file_means_the_system_roots() {
        let text = "[target]\nkind = \"external\"\nurl = \"https://x\"\n";
        let s = crate::scenario::parse(text, "t.toml").unwrap();
        let Target::External {
            ca_file,
            verify_tls,
            system_roots,
            ..
        } = Plan::resolve(s, Path::new("t.toml")).unwrap().target
        else {
            panic!("external");
        };
        assert_eq!((ca_file, verify_tls, system_roots), (None, true, false));
    }

    #[test]
    fn bad_target_urls_name_the_field_and_the_value() {
        for (line, want) in [
            (
                "url = \"https://[::1]:port\"\n",
                "t.toml: target.url: must look like https://host[:port] (got \"https://[::1]:port\": bad port \"port\")",
            ),
            (
                "url = \"https://x/p\"\n",
                "t.toml: target.url: must be https://host[:port] with no path (got \"https://x/p\")",
            ),
            (
                "url = \"https://x\"\nadmin_url = \"x:9\"\n",
                "t.toml: target.admin_url: must look like http://host[:port] (got \"x:9\")",
            ),
            (
                "url = \"https://x\"\nmqtt_addr = \"[::1]\"\n",
                "t.toml: target.mqtt_addr: must look like host:port (got \"[::1]\": no port)",
            ),
            (
                "url = \"https://x\"\nwss_url = \"ws://x\"\n",
                "t.toml: target.wss_url: must look like wss://host[:port]/mqtt (got \"ws://x\")",
            ),
        ] {
            assert_eq!(external(line).unwrap_err(), want, "{line}");
        }
    }
}
