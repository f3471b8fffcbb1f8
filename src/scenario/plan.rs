//! The validated, resolved [`Plan`]: what a run does, with keys loaded or generated and every number checked.
//! Built once from a [`Scenario`]; nothing downstream re-reads the file or the flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checks::{header_name_ok, header_safe, name_ok, positive};
use super::error::ScenarioError;
use super::file::{
    AuthorizerSection, CredentialsIn, HttpSection, LoadModel, Scenario, Status, TokenScheme,
};
use super::groups::{Groups, MqttPlan};
use crate::attempt::Mix;
use crate::attempt::template::TokenTemplate;
use crate::contract::Class;
use crate::contract::authorizer::{AuthorizerStatus, FunctionSpec};
use crate::token::PrivateKey;

/// How attempts are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Attempts per second over all devices.
    Open { rate_per_s: f64 },
    /// Attempts in flight.
    Closed { concurrency: u32 },
}

pub use super::keys::{KeySource, SigningKey};

#[derive(Debug, Clone)]
pub enum Target {
    Embedded {
        endpoint_name: String,
        /// Invocation-ledger entries the embedded emulator keeps.
        ledger_capacity: usize,
    },
    External {
        /// HTTPS `host:port` to connect to; `None` when no device uses HTTPS and `target.url` is empty.
        authority: Option<String>,
        endpoint_name: String,
        /// MQTT over TLS `host:port`.
        mqtt_tls: Option<String>,
        /// Plain MQTT `host:port`.
        mqtt: Option<String>,
        /// MQTT over WebSocket: (`host:port`, path).
        wss: Option<(String, String)>,
        admin_url: Option<String>,
        /// `None`: trust the system's roots.
        ca_file: Option<PathBuf>,
        verify_tls: bool,
        /// With `ca_file`: trust the system's roots as well.
        system_roots: bool,
        /// `[target.aws]`: the account's CloudWatch is the witness (boxed: it is most of the variant's size).
        aws: Option<Box<super::AwsTarget>>,
    },
}

impl Target {
    /// A witness sees invocations while the load runs: the embedded emulator's ledger, or an external
    /// emulator's `admin_url` (not `[target.aws]`: CloudWatch settles only after the load).
    pub fn live_witness(&self) -> bool {
        match self {
            Self::Embedded { .. } => true,
            Self::External { admin_url, aws, .. } => admin_url.is_some() && aws.is_none(),
        }
    }

    /// `[target.aws]`, when set (external targets only).
    pub fn aws(&self) -> Option<&super::AwsTarget> {
        match self {
            Self::External { aws, .. } => aws.as_deref(),
            Self::Embedded { .. } => None,
        }
    }

    pub fn endpoint_name(&self) -> &str {
        match self {
            Self::Embedded { endpoint_name, .. } | Self::External { endpoint_name, .. } => {
                endpoint_name
            }
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthorizerPlan {
    pub name: String,
    pub token_key_name: String,
    pub signing_disabled: bool,
    pub enable_caching_for_http: bool,
    pub status: AuthorizerStatus,
    pub send_name: bool,
    pub function: FunctionSpec,
}

#[derive(Debug, Clone)]
pub struct HttpPlan {
    pub topic: String,
    pub qos: u8,
    pub payload_bytes: usize,
    pub credentials_in: CredentialsIn,
}

/// The resolved run.
#[derive(Debug)]
pub struct Plan {
    pub name: String,
    pub source: PathBuf,
    pub seed: u64,
    pub devices: u32,
    pub model: Model,
    /// `[[run.stages]]` as ramps (and a remote run's implicit one, added by the safety check).
    pub ramps: super::stages::Ramps,
    pub duration: Duration,
    pub max_attempts: Option<u64>,
    pub warmup: Duration,
    pub request_timeout: Duration,
    pub tokens: TokenScheme,
    pub static_token: String,
    pub token_prefix: String,
    /// `devices.token = "template"`: the parsed `devices.token_template`.
    pub token_template: Option<crate::attempt::template::TokenTemplate>,
    /// `devices.token = "jwt"`: the JWT issuer (its signing key loaded).
    pub jwt: Option<std::sync::Arc<crate::attempt::jwt::JwtIssuer>>,
    /// `devices.token = "file"`: the user's rows per device.
    pub token_rows: Option<super::token_sources::TokenRows>,
    /// Replay-resistant tokens: pool size per device (the file's value, or sized from the plan).
    pub token_pool: u32,
    /// Replay-resistant tokens: the function's maximum age, s.
    pub token_max_age_s: u64,
    /// The registered keys (a KMS signer's is added when it connects, `crate::signer::connect`).
    pub keys: Vec<SigningKey>,
    /// Who signs the tokens: the PEM keys of `keys`, or an external signer.
    pub signer: super::signer::SignerPlan,
    /// The attacker's key for wrong-key forgeries; never listed by the authorizer. `None`: a plan resolved
    /// [`Plan::resolve_offline`] (it signs nothing).
    pub attacker: Option<PrivateKey>,
    pub authorizer: AuthorizerPlan,
    pub target: Target,
    pub http: HttpPlan,
    /// Device id ranges per transport.
    pub groups: Groups,
    pub mqtt: MqttPlan,
    pub mix: Mix,
    /// Prices for the cost section of the report.
    pub pricing: super::Pricing,
    /// The gate's unconfirmed behaviours (the embedded emulator's; an external target's as declared).
    pub gate: crate::wire::settings::GateSettings,
    /// The gate file `gate` was read from (`None`: the scenario's `[gate]` table and the defaults).
    pub gate_file: Option<PathBuf>,
    /// The target's INACTIVE authorizer (`target.inactive_authorizer`).
    pub inactive_authorizer: String,
    /// `[abort]`: the guards that stop the run while it runs.
    pub abort: crate::safety::abort::Guards,
    /// `load.source_addrs` expanded: connections bind to these in turn (empty: the kernel picks).
    pub source_addrs: Vec<std::net::IpAddr>,
    /// `[thresholds]`, checked against the metric namespace and the transports and classes in use.
    pub thresholds: Vec<crate::thresholds::Threshold>,
    /// The effective scenario (after overrides), for the report.
    pub scenario: Scenario,
    /// [`super::plan_hash`] of `scenario`: the same for every shard of this plan.
    pub plan_hash: String,
    /// `run --shard I/N`: the part of the plan this process runs; `None`: all of it.
    pub shard: Option<crate::load::shard::Shard>,
}

impl Plan {
    /// The part of the plan this process runs ([`crate::load::shard::Shard::WHOLE`] unsharded).
    pub fn shard(&self) -> crate::load::shard::Shard {
        self.shard.unwrap_or(crate::load::shard::Shard::WHOLE)
    }

    /// Device d's token (replay-resistant: the name its tokens carry, `device<6 digits>`).
    pub fn token_of(&self, device: u32) -> String {
        match self.tokens {
            TokenScheme::Static => self.static_token.clone(),
            TokenScheme::PerDevice => format!("{}{device:06}", self.token_prefix),
            TokenScheme::ReplayResistant => crate::attempt::pool::device_name(device),
            TokenScheme::Template | TokenScheme::Jwt | TokenScheme::File => format!("{device:06}"),
        }
    }

    /// How pooled tokens are rendered: the JWT issuer, the template, else the `v1` replay-resistant format.
    pub fn token_format(&self) -> crate::attempt::pool::TokenFormat {
        use crate::attempt::pool::{TokenFormat, replay_resistant_template};
        match (&self.jwt, &self.token_template) {
            (Some(j), _) => TokenFormat::Jwt(j.clone()),
            (None, Some(t)) => TokenFormat::Template(t.clone()),
            (None, None) => TokenFormat::Template(replay_resistant_template()),
        }
    }

    /// Validates and resolves `s`, loading or generating keys. `file` is how errors name the scenario.
    /// Checks run in file order so the first problem reported stays the same.
    pub fn resolve(s: Scenario, file: &Path) -> Result<Self, ScenarioError> {
        Self::resolve_with(s, file, false)
    }

    /// The plan of an effective scenario as a run's evidence keeps it (secrets shortened), for `tokenstorm
    /// merge`, which rebuilds a report and signs nothing: no key is loaded, generated or asked of a signer,
    /// no JWT key or token file is read, and the shortened tokens are not checked again (the run checked
    /// them). `keys`, `attacker`, `jwt` and `token_rows` stay empty: the report's keys and tokens come from
    /// the evidence.
    pub fn resolve_offline(s: Scenario, file: &Path) -> Result<Self, ScenarioError> {
        Self::resolve_with(s, file, true)
    }

    fn resolve_with(s: Scenario, file: &Path, offline: bool) -> Result<Self, ScenarioError> {
        let f = file.display().to_string();
        let err = |field: &str, problem: String| ScenarioError::new(f.clone(), field, problem);
        let mut s = s;
        let ramps = super::stages::resolve(&mut s, &err)?;
        let model = resolve_model(&s, &err)?;
        let token_template = if offline && s.devices.token != TokenScheme::Template {
            None
        } else {
            check_tokens(&s, &err)?
        };
        let function = resolve_authorizer(&s, file, &f, &err)?;
        check_http(&s.http, &err)?;
        let mix = super::mix::resolve_mix(&s, &err)?;
        super::tokens::validate(&s, &err)?;
        if mix.share(Class::Replayed) > 0.0 && s.devices.count < 2 {
            return Err(err(
                "mix.replayed",
                "replays reuse another device's pair: needs devices.count ≥ 2".into(),
            ));
        }
        let pricing = super::pricing::resolve(&s.pricing).map_err(|(field, p)| err(&field, p))?;
        let groups = super::groups::resolve_groups(&s, &err)?;
        check_mix_per_transport(&mix, &groups, &err)?;
        let mut mqtt = super::groups::resolve_mqtt(&s, &err)?;
        let target = super::target::resolve_target(&s, file, &groups, &err)?;
        mqtt.storms = super::reconnect::resolve_storms(
            &s.mqtt,
            Duration::from_secs_f64(s.run.duration_s),
            target.live_witness(),
            &err,
        )?;
        let abort = crate::safety::abort::Guards::resolve(&s.abort, target.live_witness())
            .map_err(|(field, p)| err(&field, p))?;
        let scope = crate::thresholds::metrics::Scope::of(groups.in_use(), |c| mix.share(c) > 0.0);
        let thresholds =
            crate::thresholds::resolve(&s.thresholds.checks, &scope, target.live_witness())
                .map_err(|(field, p)| err(&field, p))?;
        let (keys, attacker, signer, jwt, token_rows) = if offline {
            (Vec::new(), None, super::signer::SignerPlan::Pem, None, None)
        } else {
            let (keys, attacker, signer) = super::keys::resolve_keys(&s, file, &err)?;
            let jwt = super::token_sources::jwt(&s, file, &err)?;
            let checks = super::token_sources::RowChecks {
                mix: &mix,
                target: &target,
                keys: &keys,
            };
            let token_rows = super::token_sources::rows(&s, file, &checks, &err)?;
            (keys, Some(attacker), signer, jwt, token_rows)
        };
        let source_addrs = super::source_addrs::expand(s.load.source_addrs.items())
            .map_err(|p| err("load.source_addrs", p))?;
        let r = &s.run;
        Ok(Self {
            name: plan_name(&s, file),
            source: file.to_path_buf(),
            seed: r.seed,
            devices: s.devices.count,
            model,
            ramps,
            duration: Duration::from_secs_f64(r.duration_s),
            max_attempts: (r.max_attempts > 0).then_some(r.max_attempts),
            warmup: Duration::from_secs_f64(r.warmup_s),
            request_timeout: Duration::from_millis(r.request_timeout_ms),
            tokens: s.devices.token,
            static_token: s.devices.static_token.clone(),
            token_prefix: s.devices.token_prefix.clone(),
            token_template,
            jwt,
            token_rows,
            token_pool: super::tokens::pool_size(&s, &model, &mix, &groups),
            token_max_age_s: s.devices.token_max_age_s,
            keys,
            signer,
            attacker,
            authorizer: AuthorizerPlan::new(&s.authorizer, function),
            target,
            http: HttpPlan::new(&s.http),
            groups,
            mqtt,
            mix,
            pricing,
            gate: s.gate,
            gate_file: s.gate_file.clone(),
            inactive_authorizer: s.target.inactive_authorizer.clone(),
            abort,
            source_addrs,
            thresholds,
            plan_hash: super::plan_hash::of(&s),
            scenario: s,
            shard: None,
        })
    }
}

impl AuthorizerPlan {
    /// The authorizer as the plan carries it, with its resolved function.
    fn new(a: &AuthorizerSection, function: FunctionSpec) -> Self {
        Self {
            name: a.name.clone(),
            token_key_name: a.token_key_name.clone(),
            signing_disabled: a.signing_disabled,
            enable_caching_for_http: a.enable_caching_for_http,
            status: match a.status {
                Status::Active => AuthorizerStatus::Active,
                Status::Inactive => AuthorizerStatus::Inactive,
            },
            send_name: a.send_name,
            function,
        }
    }
}

impl HttpPlan {
    /// The `[http]` section as the plan carries it (already checked by [`check_http`]).
    fn new(h: &HttpSection) -> Self {
        Self {
            topic: h.topic.clone(),
            qos: h.qos,
            payload_bytes: h.payload_bytes as usize,
            credentials_in: h.credentials_in,
        }
    }
}

/// The run's name: the file's `name`, else the file's stem.
fn plan_name(s: &Scenario, file: &Path) -> String {
    if s.name.is_empty() {
        file.file_stem()
            .map_or("scenario".into(), |n| n.to_string_lossy().into_owned())
    } else {
        s.name.clone()
    }
}

/// Checks `[run]` and `devices.count` and returns the pacing model.
fn resolve_model(
    s: &Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Model, ScenarioError> {
    let r = &s.run;
    positive(r.duration_s).map_err(|p| err("run.duration_s", p))?;
    if !(r.warmup_s.is_finite() && r.warmup_s >= 0.0 && r.warmup_s < r.duration_s) {
        return Err(err(
            "run.warmup_s",
            format!(
                "must be ≥ 0 and shorter than run.duration_s (got {})",
                r.warmup_s
            ),
        ));
    }
    if r.request_timeout_ms == 0 {
        return Err(err("run.request_timeout_ms", "must be > 0".into()));
    }
    let devices = s.devices.count;
    if devices == 0 || devices > 1_000_000 {
        return Err(err(
            "devices.count",
            format!("must be between 1 and 1000000 (got {devices})"),
        ));
    }
    Ok(match r.model {
        LoadModel::Open => {
            positive(r.rate_per_s).map_err(|p| err("run.rate_per_s", p))?;
            Model::Open {
                rate_per_s: r.rate_per_s,
            }
        }
        LoadModel::Closed => {
            if r.concurrency == 0 || r.concurrency > devices {
                return Err(err(
                    "run.concurrency",
                    format!(
                        "must be between 1 and devices.count = {devices} (got {})",
                        r.concurrency
                    ),
                ));
            }
            Model::Closed {
                concurrency: r.concurrency,
            }
        }
    })
}

/// Checks that the static token, the per-device prefix or the template's text can go in a header; parses the
/// template (no rendered token may exceed the custom-auth token limit).
fn check_tokens(
    s: &Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Option<TokenTemplate>, ScenarioError> {
    match s.devices.token {
        TokenScheme::Static => {
            header_safe(&s.devices.static_token).map_err(|p| err("devices.static_token", p))?
        }
        TokenScheme::PerDevice => {
            if !s.devices.token_prefix.is_empty() {
                header_safe(&s.devices.token_prefix).map_err(|p| err("devices.token_prefix", p))?;
            }
        }
        TokenScheme::ReplayResistant | TokenScheme::Jwt | TokenScheme::File => {}
        TokenScheme::Template => {
            let field = crate::attempt::template::FIELD;
            let d = &s.devices;
            let client_id_chars = s.mqtt.client_id_prefix.len() + d.count.to_string().len().max(6);
            let t = TokenTemplate::parse_checked(&d.token_template, d.count, client_id_chars)
                .map_err(|e| err(field, format!("{e} (got {:?})", d.token_template)))?;
            header_safe(&d.token_template).map_err(|p| err(field, p))?;
            return Ok(Some(t));
        }
    }
    Ok(None)
}

/// Checks the authorizer's names and resolves its function (`f` names the file in the function's errors).
fn resolve_authorizer(
    s: &Scenario,
    file: &Path,
    f: &str,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<FunctionSpec, ScenarioError> {
    let a = &s.authorizer;
    name_ok(&a.name).map_err(|p| err("authorizer.name", p))?;
    header_name_ok(&a.token_key_name).map_err(|p| err("authorizer.token_key_name", p))?;
    let function =
        super::function::resolve(&a.function, file.parent().unwrap_or(Path::new(".")), f)
            .map_err(|p| err("authorizer.function", p))?;
    super::tokens::same_max_age(s, &function.behaviour, err)?;
    Ok(function)
}

/// Checks `[http]`: the publish topic, QoS and payload size.
fn check_http(
    h: &HttpSection,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    if h.topic.is_empty() || h.topic.len() > 256 || h.topic.contains(['#', '+']) {
        return Err(err(
            "http.topic",
            format!("must be 1–256 bytes without + or # (got {:?})", h.topic),
        ));
    }
    if h.qos > 1 {
        return Err(err("http.qos", format!("must be 0 or 1 (got {})", h.qos)));
    }
    if h.payload_bytes as usize > crate::contract::limits::MAX_PAYLOAD_BYTES {
        return Err(err(
            "http.payload_bytes",
            format!("must be ≤ 131072, the AWS limit (got {})", h.payload_bytes),
        ));
    }
    Ok(())
}

/// Checks that every transport with devices has some class in the mix it can send.
fn check_mix_per_transport(
    mix: &Mix,
    groups: &Groups,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(), ScenarioError> {
    for t in crate::contract::Transport::ALL {
        if groups.count(t) > 0 && mix.for_transport(t).is_err() {
            return Err(err(
                "mix.forged_variants",
                format!(
                    "every weighted class is a variant the catalogue cannot send over {} (see the oracle's skips): weight another class or drop that transport",
                    t.as_str()
                ),
            ));
        }
    }
    Ok(())
}
