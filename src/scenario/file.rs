//! The scenario file format (TOML). Unknown fields are rejected and every field has a default, documented in
//! `scenarios/reference.toml` (a test holds that file to [`Scenario::default`]). Nothing here is validated:
//! [`super::Plan::resolve`] turns a `Scenario` into the checked, resolved plan.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::contract::MqttVersion;

mod abort;
mod jwt;
mod load;
mod mix;
mod reconnect;
mod safety;
mod stages;
mod thresholds;
mod tls;

pub use super::pricing::{Architecture, PricingSection};
pub use abort::AbortSection;
pub use jwt::JwtSection;
pub use load::{LoadSection, SourceAddrs};
pub use mix::{ForgedVariants, MixSection, ReplayedVariants};
pub use reconnect::{BackoffKind, ReconnectSection, StormSection};
pub use safety::SafetySection;
pub use stages::StageSection;
pub use thresholds::{Check, ThresholdsSection};
pub use tls::TlsSection;

/// A whole scenario file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Names the report folder; empty: the file's stem.
    pub name: String,
    /// A gate file (`tokenstorm calibrate` writes one) holding `[gate]`, relative to the scenario; after
    /// [`super::parse`], the path it was read from, its settings already in `gate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate_file: Option<PathBuf>,
    pub run: RunSection,
    pub devices: DevicesSection,
    pub keys: KeysSection,
    pub authorizer: AuthorizerSection,
    pub target: TargetSection,
    pub http: HttpSection,
    pub transports: TransportsSection,
    pub mqtt: MqttSection,
    /// How the generator opens connections (`source_addrs`); left out of the resolved scenario when unset.
    #[serde(skip_serializing_if = "LoadSection::is_empty")]
    pub load: LoadSection,
    /// The generator's TLS clients (`resumption`); left out of the resolved scenario when unset.
    #[serde(skip_serializing_if = "TlsSection::is_empty")]
    pub tls: TlsSection,
    pub mix: MixSection,
    pub pricing: PricingSection,
    /// The signature gate's unconfirmed behaviours: the embedded emulator's settings, or what an external
    /// target does (the oracle judges forged variants by them).
    pub gate: crate::wire::settings::GateSettings,
    /// Remote targets: who authorized the run, and the caps its plan must stay within.
    pub safety: SafetySection,
    /// Guards that stop the run while it runs (any target).
    pub abort: AbortSection,
    /// Pass/fail expressions over the report (`crate::thresholds`); left out of the resolved scenario when empty.
    #[serde(skip_serializing_if = "ThresholdsSection::is_empty")]
    pub thresholds: ThresholdsSection,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadModel {
    /// A fixed arrival rate; latency counts from each attempt's intended start.
    Open,
    /// A fixed number of attempts in flight.
    Closed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunSection {
    pub seed: u64,
    pub duration_s: f64,
    /// 0: bounded by the duration only.
    pub max_attempts: u64,
    pub model: LoadModel,
    pub rate_per_s: f64,
    pub concurrency: u32,
    pub warmup_s: f64,
    pub request_timeout_ms: u64,
    /// `[[run.stages]]`: linear ramps; the run lasts their sum. Empty: a constant rate for `duration_s`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageSection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenScheme {
    /// Every device sends `static_token` (the seed article's setup).
    Static,
    /// Device d sends `token_prefix` + d (zero-padded to 6 digits).
    PerDevice,
    /// `v1.device<d, 6 digits>.<issue time>.<nonce>` (scenarios/lambdas/README.md): a fresh pre-signed token per
    /// valid attempt (HTTPS publish or MQTT CONNECT), for the replay-resistant function.
    ReplayResistant,
    /// `token_template` rendered per valid attempt (`crate::attempt::template`), from the same pre-signed pool.
    Template,
    /// A JWT per valid attempt (`[devices.jwt]`, `crate::attempt::jwt`), from the same pre-signed pool.
    Jwt,
    /// The user's own pre-signed `(device, token, signature)` rows (`token_file`, `crate::attempt::token_file`),
    /// one per valid attempt.
    File,
}

impl TokenScheme {
    /// Whether valid attempts take a fresh token from the token pool (`crate::attempt::pool`).
    pub fn pooled(self) -> bool {
        !matches!(self, Self::Static | Self::PerDevice)
    }

    /// Whether tokenstorm renders the pool's tokens at setup with an issue time (not `file`: the user's rows).
    pub fn rendered(self) -> bool {
        matches!(self, Self::ReplayResistant | Self::Template | Self::Jwt)
    }

    /// The scheme as the scenario writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Static => "static",
            Self::PerDevice => "per_device",
            Self::ReplayResistant => "replay_resistant",
            Self::Template => "template",
            Self::Jwt => "jwt",
            Self::File => "file",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DevicesSection {
    pub count: u32,
    pub token: TokenScheme,
    pub static_token: String,
    pub token_prefix: String,
    /// `token = "template"`: the token format, e.g. `dev-{device}.{unix_s}.{nonce}` (`crate::attempt::template`).
    /// Left out of the resolved scenario when empty (the other schemes), so their reports are unchanged.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_template: String,
    /// `token = "file"`: the rows file (`.jsonl`, `.ndjson` or `.csv`), relative to the scenario file.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// Replay-resistant tokens signed per device at setup; 0: sized from the plan (bounded).
    pub token_pool: u32,
    /// The function's maximum token age, s (its TOKENSTORM_MAX_TOKEN_AGE_S): expired tokens are older. For
    /// `jwt`, the tokens' lifetime (`exp - iat`).
    pub token_max_age_s: u64,
    /// `token = "jwt"`: the JWT's algorithm, key, header and claims.
    #[serde(skip_serializing_if = "JwtSection::is_default")]
    pub jwt: JwtSection,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeysSection {
    /// How many signing keys to generate when `private_key_files` is empty.
    pub generate: u32,
    /// Size of generated keys (signing and attacker).
    pub bits: u32,
    /// PEM private keys (PKCS#1 or PKCS#8); device d signs with key d mod n. Relative to the scenario file.
    pub private_key_files: Vec<PathBuf>,
    /// With `signer.command`: the PEM public keys of the command's key (registered with the emulator).
    /// Left out of the resolved scenario when empty, so reports of PEM runs are unchanged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub public_key_files: Vec<PathBuf>,
    /// Who signs the tokens; absent: the PEM keys above (`crate::signer`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<super::signer::SignerSection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Active,
    Inactive,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthorizerSection {
    pub name: String,
    pub token_key_name: String,
    pub signing_disabled: bool,
    pub enable_caching_for_http: bool,
    pub status: Status,
    /// Send `x-amz-customauthorizer-name`; false relies on the default authorizer.
    pub send_name: bool,
    /// The embedded emulator's authorizer function (the emulator's function file format).
    pub function: toml::Table,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// Start the emulator inside this process on 127.0.0.1, port 0.
    Embedded,
    /// An emulator or endpoint already running elsewhere.
    External,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TargetSection {
    pub kind: TargetKind,
    /// Host and SNI name; empty: the emulator's default endpoint (embedded) or the URL's host (external).
    pub endpoint_name: String,
    /// External only: `https://host:port`.
    pub url: String,
    /// External emulator's admin listener (`http://host:port`) for the ledger join; empty: not checked.
    pub admin_url: String,
    /// External only: PEM file of the CA to trust (instead of the system's roots); empty: the system's roots.
    pub ca_file: PathBuf,
    pub verify_tls: bool,
    /// External only, with `ca_file`: trust the system's roots too.
    pub system_roots: bool,
    /// External MQTT over TLS (ALPN `mqtt`): `host:port`.
    pub mqtt_tls_addr: String,
    /// External plain MQTT over TCP: `host:port`.
    pub mqtt_addr: String,
    /// External MQTT over WebSocket: `wss://host:port/path`; empty: `url` + `/mqtt`.
    pub wss_url: String,
    /// Embedded only: invocation-ledger entries the emulator keeps (the run joins them as it goes).
    pub ledger_capacity: u64,
    /// An authorizer of the target whose status is INACTIVE, named by `forged.inactive_authorizer` attempts.
    /// The embedded emulator adds it (same keys and function as `[authorizer]`).
    pub inactive_authorizer: String,
    /// External only: judge through the account's CloudWatch; absent: no AWS witness.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws: Option<super::aws::AwsSection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialsIn {
    Headers,
    Query,
    /// Each attempt picks headers or query string at random (seeded).
    Mixed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSection {
    pub topic: String,
    pub qos: u8,
    pub payload_bytes: u32,
    pub credentials_in: CredentialsIn,
}

/// Device groups by transport: relative weights; devices are split in contiguous id ranges in this order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransportsSection {
    pub https: f64,
    pub mqtt_tls: f64,
    pub mqtt: f64,
    pub wss: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UsernameMode {
    /// `<attempt id>?x-amz-customauthorizer-name=N&<tokenKeyName>=T&x-amz-customauthorizer-signature=S`.
    CustomAuthorizer,
    /// `username` and `password` as given (plain brokers); forged attempts send a wrong password.
    Plain,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttSection {
    pub protocol: MqttVersion,
    pub username_mode: UsernameMode,
    /// Custom-authorizer mode: which AWS IoT Device SDK's username shape to send (`wire::username_style`).
    pub username_style: crate::wire::username_style::UsernameStyle,
    /// Plain mode: the username.
    pub username: String,
    /// Plain mode: the password. Custom-authorizer mode: sent when not empty (reaches the authorizer base64).
    pub password: String,
    /// Client id of device d: this prefix + d (6 digits).
    pub client_id_prefix: String,
    /// `{client_id}` and `{device}` are replaced.
    pub topic: String,
    pub qos: u8,
    /// Each device publishes every this many ms while connected; 0: connect only.
    pub publish_interval_ms: u64,
    pub payload_bytes: u32,
    /// Subscribe to the device's own topic and time publish → receive.
    pub subscribe: bool,
    pub keep_alive_s: u16,
    /// CONNECTs per second over all MQTT devices (first connects and reconnects).
    pub connects_per_s: f64,
    /// A device that got in disconnects after this many seconds and reconnects with a fresh attempt; 0: it keeps
    /// its session to the end of the run.
    pub session_s: f64,
    /// Devices sharing one client id (device d uses id d / N): each one's CONNECT kicks the other's session.
    #[serde(skip_serializing_if = "is_one")]
    pub devices_per_client_id: u32,
    /// How a device waits before reconnecting after a drop, a kick or a storm.
    #[serde(skip_serializing_if = "ReconnectSection::is_default")]
    pub reconnect: ReconnectSection,
    /// Every MQTT session dropped at once at these times (emulator targets).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub storms: Vec<StormSection>,
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl Default for RunSection {
    fn default() -> Self {
        Self {
            seed: 1,
            duration_s: 10.0,
            max_attempts: 0,
            model: LoadModel::Open,
            rate_per_s: 200.0,
            concurrency: 16,
            warmup_s: 0.0,
            request_timeout_ms: 10_000,
            stages: Vec::new(),
        }
    }
}

impl Default for DevicesSection {
    fn default() -> Self {
        Self {
            count: 50,
            token: TokenScheme::Static,
            static_token: "MyStringThatNeedsToBeSigned".into(),
            token_prefix: "tokenstorm-device-".into(),
            token_template: String::new(),
            token_file: String::new(),
            token_pool: 0,
            token_max_age_s: 300,
            jwt: JwtSection::default(),
        }
    }
}

impl Default for KeysSection {
    fn default() -> Self {
        Self {
            generate: 1,
            bits: 2048,
            private_key_files: Vec::new(),
            public_key_files: Vec::new(),
            signer: None,
        }
    }
}

impl Default for AuthorizerSection {
    fn default() -> Self {
        Self {
            name: "MyCustomAuthorizer".into(),
            token_key_name: "X-My-App-custom-key".into(),
            signing_disabled: false,
            enable_caching_for_http: false,
            status: Status::Active,
            send_name: true,
            function: toml::Table::new(),
        }
    }
}

impl Default for TargetSection {
    fn default() -> Self {
        Self {
            kind: TargetKind::Embedded,
            endpoint_name: String::new(),
            url: String::new(),
            admin_url: String::new(),
            ca_file: PathBuf::new(),
            verify_tls: true,
            system_roots: false,
            mqtt_tls_addr: String::new(),
            mqtt_addr: String::new(),
            wss_url: String::new(),
            ledger_capacity: crate::contract::ledger::DEFAULT_LEDGER_CAPACITY as u64,
            inactive_authorizer: crate::attempt::forge::INACTIVE_AUTHORIZER.to_string(),
            aws: None,
        }
    }
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            topic: "customAuhtTestTopic".into(),
            qos: 1,
            payload_bytes: 64,
            credentials_in: CredentialsIn::Headers,
        }
    }
}

impl Default for TransportsSection {
    fn default() -> Self {
        Self {
            https: 100.0,
            mqtt_tls: 0.0,
            mqtt: 0.0,
            wss: 0.0,
        }
    }
}

impl Default for MqttSection {
    fn default() -> Self {
        Self {
            protocol: MqttVersion::V311,
            username_mode: UsernameMode::CustomAuthorizer,
            username_style: crate::wire::username_style::UsernameStyle::Tokenstorm,
            username: String::new(),
            password: String::new(),
            client_id_prefix: "tokenstorm-".into(),
            topic: "tokenstorm/{client_id}".into(),
            qos: 1,
            publish_interval_ms: 1000,
            payload_bytes: 64,
            subscribe: false,
            keep_alive_s: 60,
            connects_per_s: 200.0,
            session_s: 0.0,
            devices_per_client_id: 1,
            reconnect: ReconnectSection::default(),
            storms: Vec::new(),
        }
    }
}
