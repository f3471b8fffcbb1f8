//! The emulated AWS IoT Core custom-auth data plane (spec §1–§6, §9).
//!
//! - [`start`]`(config, shutdown) -> RunningEmulator`: binds every configured listener (port 0 allowed), writes
//!   the CA to `state_dir/ca.pem`, serves until `shutdown` fires.
//! - [`RunningEmulator::addrs`] gives the real listener addresses (the ready line's JSON), [`RunningEmulator::ledger`]
//!   the shared [`ledger::Ledger`], [`RunningEmulator::metrics`] the counters behind `GET /metrics`.
//!
//! Pure parts: [`gate`] (authorizer selection, credentials, signature check), [`event`] (the function's event),
//! [`function`] (the in-process function), [`response`] (judging its answer), [`policy`] (IAM-style
//! evaluation), [`host`] (which Host/SNI names are served), [`ledger`], [`metrics`]. [`authorize`] is the
//! transport-neutral step (invoke, judge, decide, record) every front end shares. The async shell: [`server`]
//! (listeners, connections, ALPN dispatch; [`alpn`]: the MQTT/TLS listener's ALPN rule and TLS refusal reasons),
//! [`connection`] (per-connection state and the HTTPS auth cache),
//! [`publish`] (the HTTPS request pipeline), [`mqtt`] (MQTT 3.1.1/5 sessions), [`websocket`] (MQTT over
//! WebSocket at `GET /mqtt`), [`admin`], [`tls`].
//! Towards CloudWatch: [`cloudwatch`] (`--cloudwatch-url`: Lambda's metrics and log lines for each invocation).
//! Real authorizer functions: [`lambda`] (the Lambda Runtime API, supervised runtime processes, the Invoke API
//! client, throttling at the concurrency limit, cold starts; every authorizer's function is started by [`start`]
//! and invoked through [`lambda::LiveFunction`]).
//! Configuration: [`config`] (the resolved emulator), [`file`](mod@file) (`--config`), [`authorizer_json`]
//! (`aws iot describe-authorizer` output); the authorizer and function description and the function table are
//! shared with scenarios, in [`crate::contract`].

pub mod admin;
pub mod alpn;
pub mod authorize;
pub mod authorizer_json;
pub mod cloudwatch;
pub mod config;
pub mod connection;
pub mod event;
pub mod file;
pub mod function;
pub mod gate;
pub mod host;
pub mod lambda;
pub mod ledger;
pub mod metrics;
pub mod mqtt;
pub mod peers;
pub mod policy;
pub mod publish;
pub mod refusals;
pub mod replay_resistant;
pub mod reply;
pub mod response;
pub mod server;
pub mod tls;
pub mod websocket;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

pub use config::EmulatorConfig;
pub use ledger::Ledger;
pub use metrics::EmulatorMetrics;

use crate::contract::authorizer::AuthorizerSpec;
use crate::shutdown::Shutdown;
use server::Role;

/// The real addresses of the listeners (`None`: that listener is off).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenAddrs {
    pub https: Option<SocketAddr>,
    pub http: Option<SocketAddr>,
    pub admin: Option<SocketAddr>,
    /// MQTT over TLS (ALPN `mqtt`).
    #[serde(default)]
    pub mqtt_tls: Option<SocketAddr>,
    /// Plain MQTT.
    #[serde(default)]
    pub mqtt: Option<SocketAddr>,
}

/// What every connection shares: the resolved authorizers and the recorders.
pub(crate) struct Shared {
    pub authorizers: Vec<AuthorizerSpec>,
    /// The started function of each authorizer (same order).
    pub functions: Vec<lambda::LiveFunction>,
    /// Results, cold starts and restarts per authorizer function.
    pub function_metrics: Arc<lambda::metrics::FunctionMetrics>,
    pub default_authorizer: Option<usize>,
    pub region: String,
    pub account_id: String,
    pub metrics: Arc<EmulatorMetrics>,
    pub ledger: Ledger,
    /// Connections accepted per listener and source address (`GET /peers`).
    pub peers: Arc<peers::Peers>,
    /// The gate's refusals with their explanations (`GET /refusals`).
    pub refusals: Arc<refusals::RefusalLog>,
    /// MQTT client ids, subscriptions and delivery queues.
    pub broker: Arc<mqtt::broker::Broker>,
    /// Which Host / SNI names are served.
    pub host: host::HostRule,
    /// The gate's unconfirmed behaviours.
    pub gate: crate::wire::settings::GateSettings,
    /// Whether the MQTT/TLS listener requires ALPN `mqtt`.
    pub mqtt_tls_alpn: alpn::MqttTlsAlpn,
    /// Publishes each invocation as the Lambda service would (`--cloudwatch-url`).
    pub cloudwatch: Option<cloudwatch::Publisher>,
    /// Held by `Shared` only: it closes when the last task holding `Arc<Shared>` (listener, connection, or a
    /// WebSocket session spawned outside the listeners' task sets) has ended, which is what `join` waits for.
    pub _alive: tokio::sync::mpsc::Sender<()>,
}

/// A started emulator. To stop it gracefully, trigger the shutdown given to [`start`], then [`join`](Self::join);
/// dropping it aborts its tasks at once.
pub struct RunningEmulator {
    addrs: ListenAddrs,
    ca_cert_path: PathBuf,
    ledger: Ledger,
    peers: Arc<peers::Peers>,
    refusals: Arc<refusals::RefusalLog>,
    metrics: Arc<EmulatorMetrics>,
    function_metrics: Arc<lambda::metrics::FunctionMetrics>,
    broker: Arc<mqtt::broker::Broker>,
    tasks: JoinSet<()>,
    /// Yields `None` once every holder of the shared state is gone.
    alive: tokio::sync::mpsc::Receiver<()>,
}

impl RunningEmulator {
    pub fn addrs(&self) -> &ListenAddrs {
        &self.addrs
    }

    /// The certificate clients should trust (`state_dir/ca.pem`, or the `--tls-cert` file).
    pub fn ca_cert_path(&self) -> &Path {
        &self.ca_cert_path
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Connections accepted per listener and source address (what `GET /peers` serves).
    pub fn peers(&self) -> &Arc<peers::Peers> {
        &self.peers
    }

    /// The gate's refusals with their explanations (what `GET /refusals` serves).
    pub fn refusals(&self) -> &Arc<refusals::RefusalLog> {
        &self.refusals
    }

    pub fn metrics(&self) -> &Arc<EmulatorMetrics> {
        &self.metrics
    }

    /// Per-authorizer function results, cold starts and runtime restarts.
    pub fn function_metrics(&self) -> &Arc<lambda::metrics::FunctionMetrics> {
        &self.function_metrics
    }

    /// A storm: drops every MQTT session open now (as `POST /storm` does); returns how many there were.
    pub fn storm(&self) -> usize {
        mqtt::broker::storm(&self.broker, &self.metrics)
    }

    /// [`Self::storm`] as a handle that outlives this borrow (a run's storms fire from its fleet).
    pub fn storm_handle(&self) -> impl Fn() -> usize + Send + Sync + 'static {
        let (broker, metrics) = (self.broker.clone(), self.metrics.clone());
        move || mqtt::broker::storm(&broker, &metrics)
    }

    /// Waits for every listener and connection task; returns once shutdown fired and connections drained.
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
        // WebSocket sessions run outside the listeners' task sets; they end at shutdown too.
        while self.alive.recv().await.is_some() {}
    }
}

/// Checks what the types cannot: unique names, a default that exists, keys where signing is on.
pub(crate) fn validate(config: &EmulatorConfig) -> anyhow::Result<Option<usize>> {
    for (i, a) in config.authorizers.iter().enumerate() {
        if config.authorizers[..i].iter().any(|b| b.name == a.name) {
            anyhow::bail!(
                "authorizer {:?} is configured twice; authorizer names must be unique",
                a.name
            );
        }
        if !a.signing_disabled && a.signing_keys.is_empty() {
            anyhow::bail!(
                "authorizer {:?}: tokenSigningPublicKeys is empty; give at least one key or set signingDisabled",
                a.name
            );
        }
        if !a.signing_disabled && a.token_key_name.is_empty() {
            anyhow::bail!(
                "authorizer {:?}: tokenKeyName is empty; it names the header that carries the token",
                a.name
            );
        }
    }
    if config.ledger_capacity == 0 {
        anyhow::bail!(
            "ledger_capacity is 0; the ledger must keep at least 1 entry (default 100000)"
        );
    }
    config
        .default_authorizer
        .as_ref()
        .map(|name| {
            config
                .authorizers
                .iter()
                .position(|a| &a.name == name)
                .with_context(|| {
                    let known: Vec<_> =
                        config.authorizers.iter().map(|a| a.name.as_str()).collect();
                    format!("default authorizer {name:?} is not configured (configured: {known:?})")
                })
        })
        .transpose()
}

async fn bind(
    addr: Option<SocketAddr>,
    what: &str,
) -> anyhow::Result<Option<(TcpListener, SocketAddr)>> {
    let Some(addr) = addr else { return Ok(None) };
    let listener = TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen on {addr} ({what}); choose another address or port 0")
    })?;
    let local = listener
        .local_addr()
        .with_context(|| format!("{what} {addr}: no local address"))?;
    Ok(Some((listener, local)))
}

/// Binds every configured listener, writes the CA, and serves until `shutdown` fires.
pub async fn start(config: EmulatorConfig, shutdown: Shutdown) -> anyhow::Result<RunningEmulator> {
    start_with_limits(config, server::Limits::default(), shutdown).await
}

/// One bound listener and its real address (`None`: that listener is off).
type Bound = Option<(TcpListener, SocketAddr)>;

/// The five listeners, bound in the order their flags are checked.
struct Listeners {
    https: Bound,
    http: Bound,
    admin: Bound,
    mqtt_tls: Bound,
    mqtt: Bound,
}

impl Listeners {
    /// Binds every configured listener; the first that fails names its flag.
    async fn bind(config: &EmulatorConfig) -> anyhow::Result<Self> {
        Ok(Self {
            https: bind(config.bind_https, "--bind-https").await?,
            http: bind(config.bind_http, "--bind-http").await?,
            admin: bind(config.bind_admin, "--bind-admin").await?,
            mqtt_tls: bind(config.bind_mqtt_tls, "--bind-mqtt-tls").await?,
            mqtt: bind(config.bind_mqtt, "--bind-mqtt").await?,
        })
    }

    /// The real addresses, for the ready line.
    fn addrs(&self) -> ListenAddrs {
        let addr = |b: &Bound| b.as_ref().map(|(_, a)| *a);
        ListenAddrs {
            https: addr(&self.https),
            http: addr(&self.http),
            admin: addr(&self.admin),
            mqtt_tls: addr(&self.mqtt_tls),
            mqtt: addr(&self.mqtt),
        }
    }

    /// Serves each bound listener in its role, every one a task in `tasks`.
    fn spawn(
        self,
        setup: &tls::TlsSetup,
        shared: &Arc<Shared>,
        shutdown: &Shutdown,
        limits: server::Limits,
        tasks: &mut JoinSet<()>,
    ) {
        // AWS serves HTTPS and MQTT (ALPN `mqtt`) on the same port 443; so does the HTTPS listener.
        let https_acceptor = tls::with_alpn(
            &setup.server_config,
            &[b"http/1.1", crate::wire::mqtt::ALPN_MQTT],
        );
        let mqtt_acceptor = tls::with_alpn(&setup.server_config, &[crate::wire::mqtt::ALPN_MQTT]);
        let listeners = [
            (self.https, Role::Https(https_acceptor)),
            (self.http, Role::Http),
            (self.admin, Role::Admin),
            (self.mqtt_tls, Role::MqttTls(mqtt_acceptor)),
            (self.mqtt, Role::Mqtt),
        ];
        for (bound, role) in listeners {
            if let Some((listener, _)) = bound {
                tasks.spawn(server::serve(
                    listener,
                    role,
                    shared.clone(),
                    shutdown.clone(),
                    limits,
                ));
            }
        }
    }
}

/// Starts every authorizer's function in configuration order; their tasks join `tasks`.
async fn start_functions(
    config: &EmulatorConfig,
    function_metrics: &Arc<lambda::metrics::FunctionMetrics>,
    cloudwatch: Option<&cloudwatch::Publisher>,
    shutdown: &Shutdown,
    tasks: &mut JoinSet<()>,
) -> anyhow::Result<Vec<lambda::LiveFunction>> {
    let mut functions = Vec::with_capacity(config.authorizers.len());
    for (index, a) in config.authorizers.iter().enumerate() {
        let cx = lambda::backend::StartContext {
            authorizer: &a.name,
            authorizer_index: index,
            region: &config.region,
            account_id: &config.account_id,
            state_dir: &config.state_dir,
            function_log: config.function_log.as_deref(),
            metrics: function_metrics.clone(),
            cloudwatch: cloudwatch.cloned(),
            shutdown: shutdown.clone(),
        };
        functions.push(lambda::LiveFunction::start(&a.function, cx, tasks).await?);
    }
    Ok(functions)
}

/// [`start`] with per-connection bounds other than the defaults (connection caps, handshake and header
/// timeouts).
pub async fn start_with_limits(
    config: EmulatorConfig,
    limits: server::Limits,
    shutdown: Shutdown,
) -> anyhow::Result<RunningEmulator> {
    let default_authorizer = validate(&config)?;
    let host = host::HostRule::new(&config.endpoint_names, config.check_host);
    let tls = match &config.tls {
        Some(files) => tls::load(files, host.clone())?,
        None => tls::generate(&config.state_dir, &config.endpoint_names, host.clone())?,
    };
    let listeners = Listeners::bind(&config).await?;
    let addrs = listeners.addrs();

    let metrics = Arc::new(EmulatorMetrics::new(
        config.authorizers.iter().map(|a| a.name.clone()).collect(),
    ));
    let ledger = Ledger::with_capacity(config.ledger_capacity);
    let refusals = Arc::new(refusals::RefusalLog::new(
        config.authorizers.clone(),
        default_authorizer,
        config.gate,
    ));
    let function_metrics = Arc::new(lambda::metrics::FunctionMetrics::new(
        config.authorizers.iter().map(|a| a.name.clone()).collect(),
    ));
    let mut tasks = JoinSet::new();
    let cloudwatch = match &config.cloudwatch_url {
        Some(url) => Some(
            cloudwatch::Publisher::start(
                url,
                &config.region,
                &config.authorizers,
                shutdown.clone(),
                &mut tasks,
            )
            .await?,
        ),
        None => None,
    };
    let functions = start_functions(
        &config,
        &function_metrics,
        cloudwatch.as_ref(),
        &shutdown,
        &mut tasks,
    )
    .await?;
    let (alive_tx, alive_rx) = tokio::sync::mpsc::channel(1);
    let broker = Arc::new(mqtt::broker::Broker::default());
    let peers = Arc::new(peers::Peers::default());
    let shared = Arc::new(Shared {
        authorizers: config.authorizers,
        functions,
        function_metrics: function_metrics.clone(),
        default_authorizer,
        region: config.region,
        account_id: config.account_id,
        metrics: metrics.clone(),
        ledger: ledger.clone(),
        peers: peers.clone(),
        refusals: refusals.clone(),
        broker: broker.clone(),
        host,
        gate: config.gate,
        mqtt_tls_alpn: config.mqtt_tls_alpn,
        cloudwatch,
        _alive: alive_tx,
    });
    listeners.spawn(&tls, &shared, &shutdown, limits, &mut tasks);
    tracing::info!(?addrs, ca = %tls.ca_cert_path.display(), "emulator listening");
    Ok(RunningEmulator {
        addrs,
        ca_cert_path: tls.ca_cert_path,
        ledger,
        peers,
        refusals,
        metrics,
        function_metrics,
        broker,
        tasks,
        alive: alive_rx,
    })
}
