//! Before any connection: resolve every address the target names (HTTPS url, MQTT/TLS, MQTT, WSS), decide
//! whether it is remote, and refuse (exit 2) a remote run without `--allow-remote` and `[safety] authorized`, or
//! a plan over the caps in force ([`crate::safety`]). The embedded emulator is never remote.

use std::net::{IpAddr, Ipv4Addr};

use super::target;
use super::*;
use crate::safety::{self, Caps, Planned, SafetyRecord};

/// Every address of the target; the embedded emulator's loopback listener for the embedded one.
async fn addresses(plan: &Plan) -> anyhow::Result<Vec<IpAddr>> {
    let Target::External {
        authority,
        mqtt_tls,
        mqtt,
        wss,
        ..
    } = &plan.target
    else {
        return Ok(vec![IpAddr::V4(Ipv4Addr::LOCALHOST)]);
    };
    let named = [
        ("target.url", authority.as_deref()),
        ("target.mqtt_tls_addr", mqtt_tls.as_deref()),
        ("target.mqtt_addr", mqtt.as_deref()),
        ("target.wss_url", wss.as_ref().map(|(a, _)| a.as_str())),
    ];
    let mut out = Vec::new();
    for (field, authority) in named {
        let Some(authority) = authority else { continue };
        let found = tokio::net::lookup_host(authority).await.with_context(|| {
            format!(
                "{}: {field}: DNS: cannot resolve {authority}",
                plan.source.display()
            )
        })?;
        out.extend(found.map(|a| a.ip()));
    }
    Ok(out)
}

/// The safety record of a run allowed to start; `Err` (exit 2) names what is missing, a ramp too steep
/// ([`safety::ramp`], which also gives the plan its implicit ramp) or every cap exceeded.
pub(super) async fn guard(plan: &mut Plan, allow_remote: bool) -> anyhow::Result<SafetyRecord> {
    let addrs = addresses(plan).await?;
    let remote = safety::is_remote(&addrs);
    let section = plan.scenario.safety.clone();
    let file = plan.source.display().to_string();
    let caps = Caps::resolve(&section, remote).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    safety::authorize(remote, allow_remote, &section.authorized)
        .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    safety::ramp::apply(plan, caps.ramp_s.unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    let planned = Planned::of(plan);
    let over = safety::caps::check(&caps, &planned);
    if !over.is_empty() {
        anyhow::bail!(
            "{file}: the plan exceeds the safety caps{}; nothing was sent:\n  {}",
            if remote { " of a remote target" } else { "" },
            over.join("\n  ")
        );
    }
    let mut record = SafetyRecord::new(&addrs, &section.authorized, caps, &planned);
    record.abort = plan.abort.in_force(remote, record.caps.max_cost_usd);
    record.implicit_ramp_s = plan.ramps.implicit_s;
    Ok(record)
}

/// The addresses the load will connect to, resolved again by the setup: a run the guard found local must
/// still be local. A DNS answer that changed between the check and the setup could otherwise send a run
/// judged loopback to a remote address. (A remote run that was allowed may meet other addresses of the same
/// names: real endpoints answer from a pool.)
pub(super) fn confirm(
    record: &SafetyRecord,
    https: Option<&target::Endpoint>,
    links: &[(load::link::LinkSpec, std::ops::Range<u32>)],
    plan: &Plan,
) -> anyhow::Result<()> {
    let used = https
        .map(|e| e.addr.ip())
        .into_iter()
        .chain(links.iter().map(|(l, _)| l.addr.ip()));
    let remote: Vec<String> = safety::newly_remote(record.remote, used)
        .iter()
        .map(|a| a.to_string())
        .collect();
    if remote.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{}: the target now resolves to {} outside 127.0.0.0/8 and ::1, after the safety check found only {}; nothing was sent (a remote run needs --allow-remote and [safety] authorized)",
        plan.source.display(),
        remote.join(", "),
        record.addresses.join(", ")
    )
}
