//! Where a run's attempts go: the embedded emulator (started here on 127.0.0.1:0 with the plan's authorizer) or
//! an external target, resolved to addresses, URLs and the CA to trust, and what the load needs to reach them.

use super::*;

/// The HTTPS endpoint attempts go to, and the TLS trust for it.
pub(super) struct Endpoint {
    pub(super) addr: SocketAddr,
    pub(super) url: String,
    pub(super) ca_file: Option<PathBuf>,
    /// Trust the system's roots (always when `ca_file` is `None`).
    pub(super) system_roots: bool,
    pub(super) verify: bool,
}

/// Where the embedded emulator's runtime functions write their stdout and stderr, in the run folder's `emulator/`.
pub(super) const FUNCTION_LOG: &str = "functions.log";

/// The embedded emulator: one authorizer from the plan, HTTPS on 127.0.0.1:0, state in the run folder.
pub(super) async fn start_embedded(
    plan: &Plan,
    run_dir: &Path,
    shutdown: Shutdown,
) -> anyhow::Result<RunningEmulator> {
    let config = EmulatorConfig {
        authorizers: plan.authorizer_specs(),
        default_authorizer: Some(plan.authorizer.name.clone()),
        endpoint_names: vec![plan.target.endpoint_name().to_string()],
        region: DEFAULT_REGION.into(),
        account_id: DEFAULT_ACCOUNT.into(),
        bind_https: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        bind_http: None,
        bind_admin: None,
        bind_mqtt_tls: (plan.groups.count(Transport::MqttTls) > 0)
            .then(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        bind_mqtt: (plan.groups.count(Transport::Mqtt) > 0)
            .then(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        check_host: true,
        state_dir: run_dir.join("emulator"),
        tls: None,
        ledger_capacity: match plan.target {
            Target::Embedded {
                ledger_capacity, ..
            } => ledger_capacity,
            Target::External { .. } => crate::contract::ledger::DEFAULT_LEDGER_CAPACITY,
        },
        gate: plan.gate,
        // The generator always offers ALPN `mqtt`, as AWS requires on 443.
        mqtt_tls_alpn: Default::default(),
        cloudwatch_url: None,
        function_log: Some(run_dir.join("emulator").join(FUNCTION_LOG)),
    };
    crate::emulator::start(config, shutdown)
        .await
        .context("cannot start the embedded emulator")
}

/// The HTTPS endpoint; `None` for an external target without `target.url` (no HTTPS devices).
pub(super) async fn endpoint(
    plan: &Plan,
    emulator: Option<&RunningEmulator>,
) -> anyhow::Result<Option<Endpoint>> {
    match (&plan.target, emulator) {
        (Target::Embedded { .. }, Some(emu)) => {
            let addr = emu
                .addrs()
                .https
                .context("the embedded emulator has no HTTPS listener")?;
            Ok(Some(Endpoint {
                addr,
                url: format!("https://{addr}"),
                ca_file: Some(emu.ca_cert_path().to_path_buf()),
                system_roots: false,
                verify: true,
            }))
        }
        (
            Target::External {
                authority: None, ..
            },
            _,
        ) => Ok(None),
        (
            Target::External {
                authority: Some(authority),
                ca_file,
                verify_tls,
                system_roots,
                ..
            },
            _,
        ) => {
            let addr = tokio::net::lookup_host(authority.as_str())
                .await
                .with_context(|| {
                    format!(
                        "{}: target.url: DNS: cannot resolve {authority}",
                        plan.source.display()
                    )
                })?
                .next()
                .with_context(|| {
                    format!(
                        "{}: target.url: {authority} resolves to no address",
                        plan.source.display()
                    )
                })?;
            Ok(Some(Endpoint {
                addr,
                url: format!("https://{authority}"),
                ca_file: ca_file.clone(),
                system_roots: *system_roots,
                verify: *verify_tls,
            }))
        }
        (Target::Embedded { .. }, None) => anyhow::bail!("the embedded emulator is not running"),
    }
}

/// The embedded emulator's listeners, for the MQTT groups.
pub(super) fn embedded_addrs(emu: &RunningEmulator) -> load::mqtt_targets::Embedded {
    let a = emu.addrs();
    load::mqtt_targets::Embedded {
        https: a.https,
        mqtt_tls: a.mqtt_tls,
        mqtt: a.mqtt,
        ca_file: emu.ca_cert_path().to_path_buf(),
    }
}

/// Where attempts went, one URL per transport in use.
pub(super) fn target_urls(
    https: Option<&Endpoint>,
    links: &[(load::link::LinkSpec, std::ops::Range<u32>)],
) -> Vec<String> {
    let mut out: Vec<String> = https.map(|e| e.url.clone()).into_iter().collect();
    for (l, _) in links {
        out.push(match l.transport {
            Transport::MqttTls => format!("mqtts://{}", l.addr),
            Transport::Mqtt => format!("mqtt://{}", l.addr),
            _ => format!("wss://{}{}", l.addr, l.path),
        });
    }
    out
}

/// The embedded emulator (when the target is), the HTTPS endpoint, the HTTPS lane's connector and requests (when
/// HTTPS devices have an endpoint), and the MQTT/WSS links.
pub(super) async fn prepare(
    plan: &Plan,
    catalogue: &Catalogue,
    run_dir: &Path,
    safety: &crate::safety::SafetyRecord,
    emu_shutdown: Shutdown,
) -> anyhow::Result<Prepared> {
    let emulator = match &plan.target {
        Target::Embedded { .. } => Some(start_embedded(plan, run_dir, emu_shutdown).await?),
        Target::External { .. } => None,
    };
    let endpoint = endpoint(plan, emulator.as_ref()).await?;
    let sources = load::source::Sources::new(plan.source_addrs.clone());
    let https = match &endpoint {
        Some(e) if plan.groups.count(Transport::Https) > 0 => {
            let connector = Connector::new(
                e.addr,
                plan.target.endpoint_name(),
                e.ca_file.as_deref(),
                e.system_roots,
                e.verify,
            )?
            .with_sources(sources.clone())
            .with_resumption(plan.scenario.tls.resumption);
            let shape = RequestShape {
                host: plan.target.endpoint_name().to_string(),
                topic: plan.http.topic.clone(),
                qos: plan.http.qos,
                authorizer_name: plan
                    .authorizer
                    .send_name
                    .then(|| plan.authorizer.name.clone()),
                token_key_name: plan.authorizer.token_key_name.clone(),
                payload: Bytes::from(payload(plan.http.payload_bytes)),
                inactive_authorizer: plan.inactive_authorizer.clone(),
            };
            Some((connector, RequestBook::build(&shape, catalogue)?))
        }
        _ => None,
    };
    let embedded = emulator.as_ref().map(embedded_addrs);
    let links = load::mqtt_targets::link_specs(plan, embedded.as_ref(), &sources).await?;
    check_sources(
        plan,
        &sources,
        https.as_ref().zip(endpoint.as_ref()).map(|(_, e)| e.addr),
        &links,
    )?;
    super::remote::confirm(safety, endpoint.as_ref(), &links, plan)?;
    Ok((emulator, endpoint, https, links))
}

/// `load.source_addrs` against the addresses the run connects to, once before any traffic: a scenario error
/// (exit 2) naming the field, the address and the fix.
fn check_sources(
    plan: &Plan,
    sources: &load::source::Sources,
    https: Option<std::net::SocketAddr>,
    links: &[(load::link::LinkSpec, std::ops::Range<u32>)],
) -> anyhow::Result<()> {
    let targets: Vec<_> = https
        .into_iter()
        .chain(links.iter().map(|(l, _)| l.addr))
        .collect();
    sources.check(&targets).map_err(|p| {
        crate::scenario::ScenarioError::new(
            plan.source.display().to_string(),
            "load.source_addrs",
            p,
        )
        .into()
    })
}

/// What [`prepare`] returns.
pub(super) type Prepared = (
    Option<RunningEmulator>,
    Option<Endpoint>,
    Option<(Connector, RequestBook)>,
    Vec<(load::link::LinkSpec, std::ops::Range<u32>)>,
);

/// Raises the open-file limit for one connection per device of this process (and the embedded emulator's
/// side); warns when it cannot.
pub(super) fn raise_fd_limit(plan: &Plan, https: bool, embedded: bool) {
    let fds = fdlimit::raise(fdlimit::FdCheck::needed(connections(plan, https), embedded));
    if let Some(w) = fds.warning() {
        eprintln!("warning: {w}");
    }
}

/// The connections this process keeps: one per MQTT device and (when HTTPS runs) per HTTPS device, counting
/// only the shard's own devices under `run --shard`, so a shard of a 100,000-device plan is judged on its
/// share, not on the whole plan.
fn connections(plan: &Plan, https: bool) -> u64 {
    Transport::ALL
        .into_iter()
        .filter(|&t| t.is_mqtt() || (https && t == Transport::Https))
        .map(|t| u64::from(load::shard::devices_of(plan, t)))
        .sum()
}

/// The most connections this process keeps to one destination (address and port): each transport's devices
/// go to one, and under `run --shard` only the shard's own devices count (each shard process has its own
/// source ports and, with the embedded emulator, its own destination).
pub(super) fn per_destination(plan: &Plan) -> u64 {
    Transport::ALL
        .into_iter()
        .map(|t| u64::from(load::shard::devices_of(plan, t)))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(shard: Option<&str>) -> Plan {
        let text = "[devices]\ncount = 100000\ntoken = \"static\"\n\
                    [transports]\nhttps = 10.0\nmqtt_tls = 90.0\n";
        let s = crate::scenario::parse(text, "t.toml").unwrap();
        let mut p = Plan::resolve(s, Path::new("t.toml")).unwrap();
        p.shard = shard.map(|s| s.parse().unwrap());
        p
    }

    /// A shard of a 100,000-device plan was judged on the whole plan's connections (and warned it needed
    /// 200,064 descriptors when it holds a twelfth of them).
    #[test]
    fn a_shard_needs_descriptors_for_its_own_devices_only() {
        let whole = plan(None);
        assert_eq!(connections(&whole, true), 100_000);
        assert_eq!(connections(&whole, false), 90_000);
        let parts: Vec<u64> = (0..12)
            .map(|i| connections(&plan(Some(&format!("{i}/12"))), true))
            .collect();
        assert_eq!(parts.iter().sum::<u64>(), 100_000);
        assert!(
            parts.iter().all(|&n| (8_333..=8_334).contains(&n)),
            "{parts:?}"
        );
        let fds = fdlimit::FdCheck::needed(parts[0], true);
        assert!(fds < 20_000, "{fds}");
    }

    /// `generator_kept_up` failed every shard of a 100,000-device plan for "ephemeral ports": it counted the
    /// whole plan's 90,000 MQTT/TLS connections to one destination against the 28,232 local ports.
    #[test]
    fn a_shard_counts_its_own_connections_per_destination() {
        assert_eq!(per_destination(&plan(None)), 90_000);
        assert_eq!(per_destination(&plan(Some("0/12"))), 7_500);
        assert_eq!(per_destination(&plan(Some("11/12"))), 7_500);
    }
}
