//! `tokenstorm calibrate [SCENARIO] [--out gate.toml] [--allow-remote]`: measure the gate settings AWS does not
//! document on the scenario's external target ([`crate::calibrate`]) and write them as a gate file.
//!
//! Scenario → Plan → the valid pair (device 0's token, signed once here with key 0) → the same remote opt-in as
//! `run` (`--allow-remote` + `[safety] authorized`, exit 2 before any connection) → the probes, one at a time
//! (at least 1 s apart against a remote target; on loopback as `[safety] max_rate_per_s` allows, uncapped by
//! default) → with `[target.aws]` (unless `--no-witness`), the CloudWatch witness settled over the probes
//! ([`calibrate::witness`]) → the gate file on stdout, and in `--out` when every setting was decided. Exit 0:
//! every setting decided; 1: the baseline was not allowed, some answer fit no value, a refused probe invoked
//! the authorizer, or the witness did not settle (reported on stderr, `--out` not written); 2: usage or setup
//! errors (a `[target.aws]` witness that cannot connect included, before any probe).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::calibrate::mqtt::MqttProbe;
use crate::calibrate::probe::{Pair, Prober, probe_gap, shape};
use crate::calibrate::table::Answer;
use crate::calibrate::witness::Witnessed;
use crate::calibrate::{self, Calibration, file};
use crate::contract::Transport;
use crate::error::Exit;
use crate::join::cloudwatch::{CloudWatchWitness, LoadSpan, unix_ms_now};
use crate::load::Connector;
use crate::load::connect::{client_config, server_name};
use crate::load::link::LinkSpec;
use crate::load::username::UsernameShape;
use crate::safety::{self, Caps};
use crate::scenario::file::UsernameMode;
use crate::scenario::{self, Plan, Target};
use crate::shutdown::Shutdown;
use crate::wire::mqtt::ALPN_MQTT;
use crate::wire::username_style::UsernameStyle;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario: its external target (`target.url`), authorizer, token and signing key.
    #[arg(default_value = "scenarios/quickstart.toml")]
    pub scenario: PathBuf,
    /// Write the gate file here (only when every setting was decided); it is printed on stdout in any case.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Allow a remote target (any address outside 127.0.0.0/8 and ::1); the scenario must also name who
    /// authorized it (`[safety] authorized`).
    #[arg(long)]
    pub allow_remote: bool,
    /// Do not read the `[target.aws]` witness: classify from the answers alone (a refusal is taken as the
    /// gate's), as the file's comments then say.
    #[arg(long)]
    pub no_witness: bool,
}

/// Where the probes go, once the safety rules allowed it.
struct Probed {
    addr: SocketAddr,
    url: String,
    /// MQTT/TLS (else plain MQTT) when the target names one.
    mqtt: Option<(Transport, SocketAddr)>,
    gap: std::time::Duration,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let s = scenario::load(&args.scenario)?;
    let plan = Plan::resolve(s, &args.scenario)?;
    let file_name = args.scenario.display().to_string();
    if plan.tokens.pooled() {
        anyhow::bail!(
            "{file_name}: devices.token: calibrate sends one token several times; use \"static\" or \"per_device\" (a replay-resistant function would refuse the reuse; \"{}\" tokens are single-use)",
            plan.tokens.as_str()
        );
    }
    let key = plan
        .keys
        .first()
        .with_context(|| format!("{file_name}: keys: calibrate needs a signing key"))?;
    // All the signing, before any connection.
    let key = key.key.as_ref().with_context(|| {
        format!(
            "{file_name}: keys.signer: calibrate signs its probes with a PEM key; leave keys.signer out"
        )
    })?;
    let pair = Pair::with_plus(&plan.token_of(0), key);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let run_id = format!(
        "calibrate{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    );
    let (probed, c) = runtime.block_on(async {
        let probed = guard(&plan, args.allow_remote).await?;
        let cw = connect_witness(&plan, args.no_witness).await?;
        let start_unix_ms = unix_ms_now();
        let mut c = probe(&plan, &probed, pair, &run_id).await?;
        let span = LoadSpan {
            start_unix_ms,
            end_unix_ms: unix_ms_now(),
        };
        let witnessed = read_witness(cw, span, &c, &run_id, args.no_witness).await;
        calibrate::witness::apply(&mut c, witnessed);
        anyhow::Ok((probed, c))
    })?;
    let at_unix_s = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let text = file::render(
        &c,
        &file::About {
            target: &probed.url,
            endpoint_name: plan.target.endpoint_name(),
            scenario: &file_name,
            authorizer: &plan.authorizer.name,
            at_unix_s,
        },
    );
    print!("{text}");
    finish(&c, &text, args.out.as_ref())
}

/// Exit 0 and the file written when every setting was decided; else each problem on stderr and exit 1.
fn finish(c: &Calibration, text: &str, out: Option<&PathBuf>) -> anyhow::Result<Exit> {
    let problems = c.problems();
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("calibrate: {p}");
        }
        if let Some(out) = out {
            eprintln!("calibrate: {} not written", out.display());
        }
        return Ok(Exit::Failed);
    }
    if let Some(out) = out {
        std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("calibrate: wrote {}", out.display());
    }
    Ok(Exit::Ok)
}

/// The target's HTTPS address, and the pacing, once the remote opt-in allowed it (exit 2 otherwise, before any
/// connection).
async fn guard(plan: &Plan, allow_remote: bool) -> anyhow::Result<Probed> {
    let file = plan.source.display();
    let Target::External {
        authority: Some(authority),
        mqtt_tls,
        mqtt,
        ..
    } = &plan.target
    else {
        anyhow::bail!(
            "{file}: target: calibrate probes an external target's HTTPS endpoint (target.kind = \"external\", target.url); the embedded emulator's settings are the scenario's [gate]"
        );
    };
    let f = file.to_string();
    let addr = resolve(&f, "target.url", authority).await?;
    let mqtt = match (mqtt_tls, mqtt) {
        (Some(a), _) => Some((
            Transport::MqttTls,
            resolve(&f, "target.mqtt_tls_addr", a).await?,
        )),
        (None, Some(a)) => Some((Transport::Mqtt, resolve(&f, "target.mqtt_addr", a).await?)),
        (None, None) => None,
    };
    let ips: Vec<_> = std::iter::once(addr.ip())
        .chain(mqtt.map(|(_, a)| a.ip()))
        .collect();
    let remote = safety::is_remote(&ips);
    let section = &plan.scenario.safety;
    let caps = Caps::resolve(section, remote).map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    safety::authorize(remote, allow_remote, &section.authorized)
        .map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    Ok(Probed {
        addr,
        url: format!("https://{authority}"),
        mqtt,
        gap: probe_gap(remote, &caps),
    })
}

/// The first address `authority` (the scenario's `field`) resolves to.
async fn resolve(file: &str, field: &str, authority: &str) -> anyhow::Result<SocketAddr> {
    tokio::net::lookup_host(authority)
        .await
        .with_context(|| format!("{file}: {field}: DNS: cannot resolve {authority}"))?
        .next()
        .with_context(|| format!("{file}: {field}: {authority} resolves to no address"))
}

/// What the probes' TLS trusts and names: the external target's settings.
struct Trust<'p> {
    endpoint_name: &'p String,
    ca_file: &'p Option<std::path::PathBuf>,
    verify_tls: &'p bool,
    system_roots: &'p bool,
}

fn trust(plan: &Plan) -> anyhow::Result<Trust<'_>> {
    let Target::External {
        endpoint_name,
        ca_file,
        verify_tls,
        system_roots,
        ..
    } = &plan.target
    else {
        anyhow::bail!("calibrate needs an external target");
    };
    Ok(Trust {
        endpoint_name,
        ca_file,
        verify_tls,
        system_roots,
    })
}

/// With `[target.aws]` (and no `--no-witness`), the CloudWatch clients, connected before any probe (exit 2 if
/// they cannot be).
async fn connect_witness(
    plan: &Plan,
    no_witness: bool,
) -> anyhow::Result<Option<CloudWatchWitness>> {
    match plan.target.aws().filter(|_| !no_witness) {
        Some(a) => Ok(Some(CloudWatchWitness::connect(a).await.with_context(
            || {
                format!(
                    "{}: [target.aws]: cannot read the account's CloudWatch (or pass --no-witness)",
                    plan.source.display()
                )
            },
        )?)),
        None => Ok(None),
    }
}

/// Settles the witness over the probes' span (progress on stderr) and says what it saw of them.
async fn read_witness(
    cw: Option<CloudWatchWitness>,
    span: LoadSpan,
    c: &Calibration,
    run_id: &str,
    no_witness: bool,
) -> Witnessed {
    let Some(mut cw) = cw else {
        return Witnessed::NotRead(if no_witness {
            "--no-witness"
        } else {
            "the scenario has no [target.aws]"
        });
    };
    eprintln!("calibrate: {}", cw.describe());
    let reads = cw.settle(span, run_id, &Shutdown::new(), true).await;
    let allowed = c
        .observations()
        .filter(|o| o.answer == Answer::Allowed)
        .count();
    let w = calibrate::witness::of_reads(reads, allowed as u64);
    eprintln!("calibrate: {}", w.header());
    w
}

/// Sends the probes (attempt ids `<run_id>-<class>-0-<n>`) and classifies the answers.
async fn probe(plan: &Plan, to: &Probed, pair: Pair, run: &str) -> anyhow::Result<Calibration> {
    let Trust {
        endpoint_name,
        ca_file,
        verify_tls,
        system_roots,
    } = trust(plan)?;
    let connector = Connector::new(
        to.addr,
        endpoint_name,
        ca_file.as_deref(),
        *system_roots,
        *verify_tls,
    )?;
    let a = &plan.authorizer;
    let shape = shape(
        endpoint_name,
        &plan.http.topic,
        a.send_name.then_some(a.name.as_str()),
        &a.token_key_name,
    );
    let mut prober = Prober::new(connector, &shape, pair, plan.request_timeout, to.gap, run);
    if let Some((transport, addr)) = to.mqtt {
        prober = prober.with_mqtt(mqtt_probe(plan, transport, addr)?);
    }
    calibrate::calibrate(&mut prober)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {e}", plan.source.display()))
}

/// How MQTT probes reach the target: its MQTT/TLS address (ALPN `mqtt`, the target's trust) or plain MQTT.
fn mqtt_probe(plan: &Plan, transport: Transport, addr: SocketAddr) -> anyhow::Result<MqttProbe> {
    let Trust {
        endpoint_name,
        ca_file,
        verify_tls,
        system_roots,
    } = trust(plan)?;
    let tls = (transport == Transport::MqttTls)
        .then(|| {
            client_config(ca_file.as_deref(), *system_roots, *verify_tls, &[ALPN_MQTT])
                .map(std::sync::Arc::new)
        })
        .transpose()?;
    let a = &plan.authorizer;
    Ok(MqttProbe {
        link: LinkSpec {
            transport,
            addr,
            server_name: server_name(endpoint_name)?,
            host: endpoint_name.clone(),
            tls,
            path: String::new(),
            // A handful of probes: the kernel's source address is enough.
            sources: Default::default(),
            // Each probe a full handshake, as a device's first connect is.
            resumption: false,
        },
        shape: UsernameShape {
            mode: UsernameMode::CustomAuthorizer,
            authorizer_name: a.send_name.then(|| a.name.clone()),
            token_key_name: a.token_key_name.clone(),
            username: String::new(),
            password: plan.mqtt.password.clone(),
            inactive_authorizer: String::new(),
            // tokenstorm's own shape, whatever `mqtt.username_style` says: an SDK's suffix (the CRT's
            // `?SDK=...` metrics) would itself be a probe of `username_query`.
            style: UsernameStyle::Tokenstorm,
        },
        version: plan.mqtt.version,
        client_id_prefix: plan.mqtt.client_id_prefix.clone(),
    })
}
