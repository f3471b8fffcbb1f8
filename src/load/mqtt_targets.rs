//! Where each MQTT device group connects: the embedded emulator's MQTT/TLS and MQTT listeners and its HTTPS
//! listener's `/mqtt` WebSocket, or the external target's addresses. TLS trusts the emulator's CA, or the
//! target's `ca_file` and/or the system's roots (verification on unless the scenario turns it off); SNI and the WebSocket `Host` are the
//! endpoint name. MQTT over TLS offers ALPN `mqtt`; WebSocket offers no ALPN (as AWS SDKs do).

use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;

use anyhow::Context as _;

use super::connect::{client_config, server_name};
use super::link::LinkSpec;
use crate::contract::Transport;
use crate::scenario::{Plan, Target};
use crate::wire::mqtt::{ALPN_MQTT, WS_PATH};

/// The embedded emulator's listeners.
#[derive(Debug, Clone)]
pub struct Embedded {
    pub https: Option<SocketAddr>,
    pub mqtt_tls: Option<SocketAddr>,
    pub mqtt: Option<SocketAddr>,
    pub ca_file: PathBuf,
}

/// One link per MQTT group with devices, and its device range; their connections bind to `sources` in turn.
pub async fn link_specs(
    plan: &Plan,
    embedded: Option<&Embedded>,
    sources: &super::source::Sources,
) -> anyhow::Result<Vec<(LinkSpec, Range<u32>)>> {
    let name = plan.target.endpoint_name().to_string();
    let (ca, system_roots, verify) = match (&plan.target, embedded) {
        (Target::Embedded { .. }, Some(e)) => (Some(e.ca_file.clone()), false, true),
        (
            Target::External {
                ca_file,
                verify_tls,
                system_roots,
                ..
            },
            _,
        ) => (ca_file.clone(), *system_roots, *verify_tls),
        (Target::Embedded { .. }, None) => anyhow::bail!("the embedded emulator is not running"),
    };
    let mut out = Vec::new();
    for t in [Transport::MqttTls, Transport::Mqtt, Transport::Wss] {
        let range = plan.groups.range(t);
        if range.is_empty() {
            continue;
        }
        let (authority, path) = authority_and_path(plan, embedded, t)?;
        let addr = tokio::net::lookup_host(authority.as_str())
            .await
            .with_context(|| {
                format!(
                    "{}: {}: DNS: cannot resolve {authority}",
                    plan.source.display(),
                    field(t)
                )
            })?
            .next()
            .with_context(|| {
                format!(
                    "{}: {authority} resolves to no address",
                    plan.source.display()
                )
            })?;
        let config = match t {
            Transport::Mqtt => None,
            Transport::MqttTls => Some(client_config(
                ca.as_deref(),
                system_roots,
                verify,
                &[ALPN_MQTT],
            )?),
            _ => Some(client_config(ca.as_deref(), system_roots, verify, &[])?),
        };
        let tls = config.map(std::sync::Arc::new);
        let host = match t {
            Transport::Wss => format!("{name}:{}", addr.port()),
            _ => name.clone(),
        };
        let spec = LinkSpec {
            transport: t,
            addr,
            server_name: server_name(&name)?,
            host,
            tls,
            path,
            sources: sources.clone(),
            resumption: plan.scenario.tls.resumption,
        };
        out.push((spec, range));
    }
    Ok(out)
}

/// The `host:port` an MQTT transport connects to and, for WebSocket, the upgrade path: the embedded emulator's
/// listener, or the external target's configured address.
fn authority_and_path(
    plan: &Plan,
    embedded: Option<&Embedded>,
    t: Transport,
) -> anyhow::Result<(String, String)> {
    match (&plan.target, embedded) {
        (Target::Embedded { .. }, Some(e)) => {
            let addr = match t {
                Transport::MqttTls => e.mqtt_tls,
                Transport::Mqtt => e.mqtt,
                _ => e.https,
            }
            .with_context(|| {
                format!(
                    "the embedded emulator has no listener for transports.{}",
                    t.as_str()
                )
            })?;
            Ok((addr.to_string(), WS_PATH.to_string()))
        }
        (
            Target::External {
                mqtt_tls,
                mqtt,
                wss,
                ..
            },
            _,
        ) => Ok(match t {
            Transport::MqttTls => (
                mqtt_tls.clone().context("no target.mqtt_tls_addr")?,
                String::new(),
            ),
            Transport::Mqtt => (mqtt.clone().context("no target.mqtt_addr")?, String::new()),
            _ => wss.clone().context("no target.wss_url")?,
        }),
        _ => unreachable_target(),
    }
}

/// The scenario field that names an MQTT transport's address.
fn field(t: Transport) -> &'static str {
    match t {
        Transport::MqttTls => "target.mqtt_tls_addr",
        Transport::Mqtt => "target.mqtt_addr",
        _ => "target.wss_url",
    }
}

fn unreachable_target<T>() -> anyhow::Result<T> {
    anyhow::bail!("the embedded emulator is not running")
}
