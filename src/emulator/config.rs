//! The emulator's resolved configuration: what `tokenstorm emulate` builds from flags and files, and what a
//! scenario builds for the embedded emulator. Everything here is validated; nothing downstream re-reads files.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::contract::authorizer::AuthorizerSpec;

/// The whole emulator.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    pub authorizers: Vec<AuthorizerSpec>,
    /// Used when a request names no authorizer.
    pub default_authorizer: Option<String>,
    /// Host / SNI names the emulator answers for, besides `localhost` and IP literals.
    pub endpoint_names: Vec<String>,
    pub region: String,
    pub account_id: String,
    /// `None`: that listener is off. Port 0 picks a free port.
    pub bind_https: Option<SocketAddr>,
    pub bind_http: Option<SocketAddr>,
    pub bind_admin: Option<SocketAddr>,
    /// MQTT over TLS (ALPN `mqtt`, SNI), like AWS on 8883/443. The HTTPS listener also takes ALPN `mqtt`.
    pub bind_mqtt_tls: Option<SocketAddr>,
    /// Plain MQTT over TCP, for tools.
    pub bind_mqtt: Option<SocketAddr>,
    /// Refuse SNI / Host names other than `endpoint_names`, `localhost` and IP literals (see `emulator::host`).
    pub check_host: bool,
    /// Where the generated CA (`ca.pem`) and other state are written.
    pub state_dir: PathBuf,
    /// `--tls-cert/--tls-key` instead of a generated CA.
    pub tls: Option<TlsFiles>,
    /// How many invocation-ledger entries are kept (the most recent ones; at least 1).
    pub ledger_capacity: usize,
    /// The signature gate's unconfirmed behaviours (`[gate]`, `--gate-*`).
    pub gate: crate::wire::settings::GateSettings,
    /// Whether the MQTT/TLS listener refuses a client that offers no ALPN (`required`, as AWS on 443) or serves
    /// it (`optional`, for tools that cannot set ALPN).
    pub mqtt_tls_alpn: super::alpn::MqttTlsAlpn,
    /// Publish what the Lambda service publishes to the CloudWatch and CloudWatch Logs APIs at this URL
    /// (`--cloudwatch-url`; `emulator::cloudwatch`); `None`: publish nothing.
    pub cloudwatch_url: Option<String>,
    /// Runtime API functions' stdout and stderr are appended to this file instead of the emulator's stderr
    /// (`tokenstorm run` puts them in the run folder, so a function's log lines do not drown its progress);
    /// `None`: the emulator's stderr, as `tokenstorm emulate` shows them.
    pub function_log: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

pub const DEFAULT_REGION: &str = "eu-west-1";
pub const DEFAULT_ACCOUNT: &str = "123456789012";
