//! `tokenstorm run [SCENARIO]`: run a scenario and judge it.
//!
//! Scenario → Plan (keys loaded or generated) → credential catalogue (all signing happens here) → the embedded
//! emulator on 127.0.0.1:0, or the external target → load, while the emulator's bounded ledger is joined as it
//! goes ([`crate::invariant::drain`]) → invariants → report on stdout and in
//! `<out-dir>/<UTC timestamp>-<scenario>/report.json`. Exit 0 when every invariant holds, 1 when one fails,
//! 2 on setup or usage errors. Progress goes to stderr, results to stdout. SIGINT/SIGTERM stop the load; the
//! attempts in flight drain and the report is still written, marked interrupted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use bytes::Bytes;

use crate::attempt::{Catalogue, SetSpec};
use crate::emulator::RunningEmulator;
use crate::emulator::config::{AuthorizerSpec, DEFAULT_ACCOUNT, DEFAULT_REGION, EmulatorConfig};
use crate::error::Exit;
use crate::invariant::drain::{Joiner, LiveJoin};
use crate::invariant::{self};
use crate::load::{self, Connector, RequestBook, RequestShape, lane};
use crate::report::{build, json, terminal};
use crate::scenario::file::TokenScheme;
use crate::scenario::{self, Plan, Target};
use crate::shutdown::Shutdown;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario file.
    #[arg(default_value = "scenarios/quickstart.toml")]
    pub scenario: PathBuf,
    /// Override run.duration_s (seconds).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Override run.max_attempts (0: bounded by the duration only).
    #[arg(long, value_name = "N")]
    pub attempts: Option<u64>,
    /// Override run.seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Override run.rate_per_s (open model).
    #[arg(long, value_name = "PER_SECOND")]
    pub rate: Option<f64>,
    /// Where run folders (<UTC timestamp>-<scenario>/report.json) are written.
    #[arg(long, value_name = "DIR", default_value = "reports")]
    pub out_dir: PathBuf,
    /// No progress lines on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let mut s = scenario::load(&args.scenario)?;
    if let Some(d) = args.duration {
        s.run.duration_s = d;
    }
    if let Some(n) = args.attempts {
        s.run.max_attempts = n;
    }
    if let Some(seed) = args.seed {
        s.run.seed = seed;
    }
    if let Some(rate) = args.rate {
        s.run.rate_per_s = rate;
    }
    let progress = !args.quiet;
    if progress {
        eprintln!("tokenstorm run {}: preparing keys", args.scenario.display());
    }
    let plan = Plan::resolve(s, &args.scenario)?;
    let catalogue = catalogue(&plan);
    if progress {
        eprintln!(
            "prepared {} credential sets for {} devices ({} signing keys); no signing from here on",
            catalogue.sets().len(),
            plan.devices,
            plan.keys.len()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("tokenstorm")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(session(plan, catalogue, &args.out_dir, progress))
}

/// Every credential, signed once: one set per distinct (token, key).
fn catalogue(plan: &Plan) -> Catalogue {
    let nkeys = plan.keys.len().max(1);
    let (specs, device_set): (Vec<SetSpec>, Vec<u32>) = match plan.tokens {
        TokenScheme::Static => {
            let used = nkeys.min(plan.devices as usize);
            let specs = (0..used)
                .map(|k| SetSpec {
                    token: plan.static_token.clone(),
                    key_index: k,
                })
                .collect();
            (specs, (0..plan.devices).map(|d| d % used as u32).collect())
        }
        TokenScheme::PerDevice => {
            let specs = (0..plan.devices)
                .map(|d| SetSpec {
                    token: plan.token_of(d),
                    key_index: d as usize % nkeys,
                })
                .collect();
            (specs, (0..plan.devices).collect())
        }
    };
    let keys: Vec<_> = plan.keys.iter().map(|k| &k.key).collect();
    Catalogue::build(&specs, device_set, &keys, &plan.attacker, plan.seed)
}

struct Endpoint {
    addr: SocketAddr,
    url: String,
    ca_file: Option<PathBuf>,
    verify: bool,
}

async fn session(
    plan: Plan,
    catalogue: Catalogue,
    out_dir: &Path,
    progress: bool,
) -> anyhow::Result<Exit> {
    let signals = Shutdown::new().on_signals();
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let run_dir = json::run_dir(out_dir, started.as_secs(), &plan.name)?;
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    let emu_shutdown = Shutdown::new();
    let setup = async {
        let emulator = match &plan.target {
            Target::Embedded { .. } => {
                Some(start_embedded(&plan, &run_dir, emu_shutdown.clone()).await?)
            }
            Target::External { .. } => None,
        };
        let endpoint = endpoint(&plan, emulator.as_ref()).await?;
        let connector = Connector::new(
            endpoint.addr,
            plan.target.endpoint_name(),
            endpoint.ca_file.as_deref(),
            endpoint.verify,
        )?;
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
        };
        let book = RequestBook::build(&shape, &catalogue)?;
        anyhow::Ok((emulator, endpoint, connector, book))
    };
    let (emulator, endpoint, connector, book) = match setup.await {
        Ok(s) => s,
        Err(e) => {
            emu_shutdown.trigger();
            let _ = std::fs::remove_dir_all(&run_dir);
            return Err(e);
        }
    };
    if progress {
        eprintln!(
            "run {run_id}: {} devices → {} (SNI {}), {:?}, up to {:.1} s{}",
            plan.devices,
            endpoint.url,
            plan.target.endpoint_name(),
            plan.model,
            plan.duration.as_secs_f64(),
            plan.max_attempts
                .map(|m| format!(" or {m} attempts"))
                .unwrap_or_default()
        );
    }
    // The emulator's ledger is bounded: join it while the load runs, not only at the end.
    let joiner = match (&emulator, &plan.target) {
        (Some(emu), _) => Some(Joiner::InProcess(LiveJoin::attach(emu.ledger(), &run_id))),
        (
            None,
            Target::External {
                admin_url: Some(url),
                ..
            },
        ) => match Joiner::admin(url, &run_id).await {
            Ok(j) => Some(j),
            Err(e) => {
                eprintln!("warning: cannot read the external ledger: {e:#}");
                None
            }
        },
        _ => None,
    };
    let stop_join = Shutdown::new();
    let joining = joiner.map(|j| tokio::spawn(j.run_until(stop_join.clone())));
    let spec = load::LoadSpec {
        model: plan.model,
        duration: plan.duration,
        max_attempts: plan.max_attempts,
        warmup: plan.warmup,
        progress,
    };
    let result = load::run(
        spec,
        |t0, deadline, warmup_end| lane::Shared {
            run_id: run_id.clone(),
            seed: plan.seed,
            devices: plan.devices,
            t0,
            deadline,
            warmup_end,
            request_timeout: plan.request_timeout,
            mix: plan.mix.clone(),
            credentials_in: plan.http.credentials_in,
            book,
            catalogue,
            connector,
        },
        signals.clone(),
    )
    .await;
    if progress {
        eprintln!(
            "load finished: {} attempts; joining the ledger",
            result.recorder.total_ended()
        );
    }
    stop_join.trigger();
    let ledger = match joining {
        Some(task) => match task.await {
            Ok(joiner) => match joiner.finish().await {
                Ok(summary) => Some(summary),
                Err(e) => {
                    eprintln!("warning: cannot read the external ledger: {e:#}");
                    None
                }
            },
            Err(e) => {
                eprintln!("warning: the ledger join stopped: {e}");
                None
            }
        },
        None => None,
    };
    if let Some(emu) = emulator {
        emu_shutdown.trigger();
        if tokio::time::timeout(Duration::from_secs(10), emu.join())
            .await
            .is_err()
        {
            eprintln!("warning: the embedded emulator did not stop within 10 s");
        }
    }
    let verdicts = invariant::evaluate(&invariant::Inputs {
        recorder: &result.recorder,
        ledger: ledger.as_ref(),
    });
    let report = build::build(build::Parts {
        plan: &plan,
        run_id: &run_id,
        started_unix_ms: started.as_millis() as u64,
        elapsed: result.elapsed,
        interrupted: result.interrupted,
        url: endpoint.url,
        recorder: &result.recorder,
        ledger: ledger.as_ref(),
        verdicts,
    });
    let path = json::write(&report, &run_dir)?;
    print!(
        "{}",
        terminal::render(&report, Some(&path.display().to_string()))
    );
    Ok(if report.passed() {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// The embedded emulator: one authorizer from the plan, HTTPS on 127.0.0.1:0, state in the run folder.
async fn start_embedded(
    plan: &Plan,
    run_dir: &Path,
    shutdown: Shutdown,
) -> anyhow::Result<RunningEmulator> {
    let a = &plan.authorizer;
    let config = EmulatorConfig {
        authorizers: vec![AuthorizerSpec {
            name: a.name.clone(),
            token_key_name: a.token_key_name.clone(),
            signing_keys: plan
                .keys
                .iter()
                .map(|k| (k.name.clone(), k.public.clone()))
                .collect(),
            status: a.status,
            signing_disabled: a.signing_disabled,
            enable_caching_for_http: a.enable_caching_for_http,
            function: a.function.clone(),
        }],
        default_authorizer: Some(a.name.clone()),
        endpoint_names: vec![plan.target.endpoint_name().to_string()],
        region: DEFAULT_REGION.into(),
        account_id: DEFAULT_ACCOUNT.into(),
        bind_https: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
        bind_http: None,
        bind_admin: None,
        bind_mqtt_tls: None,
        bind_mqtt: None,
        check_host: true,
        state_dir: run_dir.join("emulator"),
        tls: None,
        ledger_capacity: match plan.target {
            Target::Embedded {
                ledger_capacity, ..
            } => ledger_capacity,
            Target::External { .. } => crate::emulator::config::DEFAULT_LEDGER_CAPACITY,
        },
    };
    crate::emulator::start(config, shutdown)
        .await
        .context("cannot start the embedded emulator")
}

async fn endpoint(plan: &Plan, emulator: Option<&RunningEmulator>) -> anyhow::Result<Endpoint> {
    match (&plan.target, emulator) {
        (Target::Embedded { .. }, Some(emu)) => {
            let addr = emu
                .addrs()
                .https
                .context("the embedded emulator has no HTTPS listener")?;
            Ok(Endpoint {
                addr,
                url: format!("https://{addr}"),
                ca_file: Some(emu.ca_cert_path().to_path_buf()),
                verify: true,
            })
        }
        (
            Target::External {
                authority,
                ca_file,
                verify_tls,
                ..
            },
            _,
        ) => {
            let addr = tokio::net::lookup_host(authority.as_str())
                .await
                .with_context(|| {
                    format!(
                        "{}: target.url: cannot resolve {authority}",
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
            Ok(Endpoint {
                addr,
                url: format!("https://{authority}"),
                ca_file: ca_file.clone(),
                verify: *verify_tls,
            })
        }
        (Target::Embedded { .. }, None) => anyhow::bail!("the embedded emulator is not running"),
    }
}

/// A printable payload of `n` bytes.
fn payload(n: usize) -> Vec<u8> {
    b"tokenstorm ".iter().copied().cycle().take(n).collect()
}
