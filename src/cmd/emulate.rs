//! `tokenstorm emulate`: serve the emulated data plane until SIGINT/SIGTERM.
//!
//! Flags override the `--config` file, which overrides the defaults. Once every listener is bound it prints
//! exactly one JSON line on stdout (`{"https":"127.0.0.1:8443","http":...,"admin":...,"mqtt_tls":...,"mqtt":...,
//! "ca_cert":"/abs/ca.pem"}`, `null` for a listener that is off) so scripts can wait for it; logs go to stderr.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use crate::emulator::config::{EmulatorConfig, TlsFiles};
use crate::emulator::file::parse_bind;
use crate::emulator::{self, ListenAddrs};
use crate::error::Exit;
use crate::shutdown::Shutdown;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Emulator configuration file (TOML): authorizers, their functions, listeners.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// An authorizer as `aws iot describe-authorizer` prints it (repeatable). Its function is the --lambda-cmd
    /// one, else it allows every valid-signature request as `tokenstormDevice`.
    #[arg(long = "authorizer-json", value_name = "FILE")]
    pub authorizer_json: Vec<PathBuf>,
    /// Authorizer used when a request names none.
    #[arg(long, value_name = "NAME")]
    pub default_authorizer: Option<String>,
    /// HTTPS listener (default 127.0.0.1:8443; `:0` = 127.0.0.1 on a free port; `off`).
    #[arg(long, value_name = "ADDR")]
    pub bind_https: Option<String>,
    /// Plain HTTP listener for tools (default 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR")]
    pub bind_http: Option<String>,
    /// Admin listener: /metrics, /ledger, /refusals, /healthz, POST /storm (default 127.0.0.1:9100).
    #[arg(long, value_name = "ADDR")]
    pub bind_admin: Option<String>,
    /// MQTT over TLS listener, ALPN `mqtt` (default off; the HTTPS listener takes ALPN `mqtt` too).
    #[arg(long, value_name = "ADDR")]
    pub bind_mqtt_tls: Option<String>,
    /// Plain MQTT over TCP listener, for tools (default off).
    #[arg(long, value_name = "ADDR")]
    pub bind_mqtt: Option<String>,
    /// Answer any Host / SNI name (default: only the endpoint names, localhost and IP literals).
    #[arg(long)]
    pub any_host: bool,
    /// The MQTT/TLS listener: `required` refuses a client that offers no ALPN `mqtt` (as AWS does on 443),
    /// `optional` serves it as MQTT (tools that cannot set ALPN). Default: the config file's, else required.
    #[arg(long, value_enum, value_name = "MODE")]
    pub mqtt_tls_alpn: Option<crate::emulator::alpn::MqttTlsAlpn>,
    /// An extra name for the server certificate (repeatable), e.g. your data endpoint.
    #[arg(long = "endpoint-name", value_name = "HOST")]
    pub endpoint_name: Vec<String>,
    /// Where ca.pem is written (default .tokenstorm/emulator).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Serve this certificate chain (PEM) instead of a generated one.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) for --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Invocation-ledger entries kept, the most recent ones (default 100000). Readers of `GET /ledger` must
    /// page faster than this many invocations, or they miss entries.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub ledger_capacity: Option<u64>,
    /// Publish what the Lambda service publishes (AWS/Lambda metrics, /aws/lambda/<function> logs) to the
    /// CloudWatch and CloudWatch Logs APIs at this URL (e.g. a local moto); region: the emulator's. Needs a
    /// build with `--features aws`; credentials from the standard AWS chain.
    #[arg(long, value_name = "URL")]
    pub cloudwatch_url: Option<String>,
    #[command(flatten)]
    pub gate: super::gate_args::GateArgs,
    #[command(flatten)]
    pub lambda: super::lambda_args::LambdaArgs,
}

/// The ready line.
#[derive(Serialize)]
struct Ready<'a> {
    #[serde(flatten)]
    addrs: &'a ListenAddrs,
    ca_cert: &'a Path,
    /// The gate's unconfirmed behaviours in force.
    gate: crate::wire::settings::GateSettings,
    /// Whether the MQTT/TLS listener requires ALPN `mqtt`.
    mqtt_tls_alpn: crate::emulator::alpn::MqttTlsAlpn,
}

/// Builds the resolved configuration from the file, the describe-authorizer files and the flags.
pub fn resolve(args: &Args) -> anyhow::Result<EmulatorConfig> {
    let mut config = super::lambda_args::base_config(
        args.config.as_deref(),
        &args.authorizer_json,
        &args.lambda,
    )?;
    if let Some(name) = &args.default_authorizer {
        config.default_authorizer = Some(name.clone());
    }
    if let Some(v) = &args.bind_https {
        config.bind_https = parse_bind(v, "--bind-https")?;
    }
    if let Some(v) = &args.bind_http {
        config.bind_http = parse_bind(v, "--bind-http")?;
    }
    if let Some(v) = &args.bind_admin {
        config.bind_admin = parse_bind(v, "--bind-admin")?;
    }
    if let Some(v) = &args.bind_mqtt_tls {
        config.bind_mqtt_tls = parse_bind(v, "--bind-mqtt-tls")?;
    }
    if let Some(v) = &args.bind_mqtt {
        config.bind_mqtt = parse_bind(v, "--bind-mqtt")?;
    }
    if args.any_host {
        config.check_host = false;
    }
    if let Some(mode) = args.mqtt_tls_alpn {
        config.mqtt_tls_alpn = mode;
    }
    for name in &args.endpoint_name {
        if !config.endpoint_names.contains(name) {
            config.endpoint_names.push(name.clone());
        }
    }
    if let Some(dir) = &args.state_dir {
        config.state_dir = dir.clone();
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config.tls = Some(TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        });
    }
    if let Some(n) = args.ledger_capacity {
        config.ledger_capacity = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(url) = &args.cloudwatch_url {
        config.cloudwatch_url = Some(url.clone());
    }
    config.gate = args.gate.resolve(config.gate)?;
    Ok(config)
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    let config = resolve(&args)?;
    if config.authorizers.is_empty() {
        tracing::warn!(
            "no authorizer configured (--config or --authorizer-json): every publish will be refused"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: EmulatorConfig) -> anyhow::Result<Exit> {
    let shutdown = Shutdown::new().on_signals();
    let (gate, mqtt_tls_alpn) = (config.gate, config.mqtt_tls_alpn);
    let running = emulator::start(config, shutdown.clone()).await?;
    let line = serde_json::to_string(&Ready {
        addrs: running.addrs(),
        ca_cert: running.ca_cert_path(),
        gate,
        mqtt_tls_alpn,
    })?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}").context("cannot write the ready line to stdout")?;
        out.flush().context("cannot flush stdout")?;
    }
    shutdown.wait().await;
    tracing::info!("shutting down");
    running.join().await;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::authorizer::FunctionBehaviour;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn args(list: &[&str]) -> Args {
        Cli::try_parse_from(std::iter::once("emulate").chain(list.iter().copied()))
            .unwrap()
            .args
    }

    #[test]
    fn flags_override_the_file_and_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::token::PrivateKey::generate(2048).unwrap();
        let describe = serde_json::json!({"authorizerDescription": {"authorizerName": "J", "tokenKeyName": "k",
            "tokenSigningPublicKeys": {"K": key.public_key().to_spki_pem()}}});
        std::fs::write(dir.path().join("a.json"), describe.to_string()).unwrap();
        let toml = "bind_http = \"off\"\nledger_capacity = 7\nendpoint_names = [\"e1\"]\ncloudwatch_url = \"http://127.0.0.1:5000\"\n[[authorizer]]\nname = \"F\"\nsigning_disabled = true\n";
        std::fs::write(dir.path().join("e.toml"), toml).unwrap();
        let p = |f: &str| dir.path().join(f).display().to_string();
        let (config_path, json_path) = (p("e.toml"), p("a.json"));

        let c = resolve(&args(&[])).unwrap();
        assert_eq!(c.bind_https, Some("127.0.0.1:8443".parse().unwrap()));
        assert_eq!(c.bind_http, Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(c.bind_admin, Some("127.0.0.1:9100".parse().unwrap()));
        assert_eq!(c.state_dir, PathBuf::from(".tokenstorm/emulator"));
        assert!(c.authorizers.is_empty() && c.default_authorizer.is_none());
        assert_eq!(c.ledger_capacity, 100_000);
        assert_eq!(c.cloudwatch_url, None);
        let c = resolve(&args(&["--config", &config_path])).unwrap();
        assert_eq!(c.cloudwatch_url.as_deref(), Some("http://127.0.0.1:5000"));

        let c = resolve(&args(&[
            "--config",
            &config_path,
            "--authorizer-json",
            &json_path,
            "--default-authorizer",
            "J",
            "--bind-https",
            ":0",
            "--bind-admin",
            "off",
            "--endpoint-name",
            "e2",
            "--state-dir",
            "sd",
            "--bind-mqtt-tls",
            ":0",
            "--any-host",
            "--ledger-capacity",
            "50",
            "--cloudwatch-url",
            "http://127.0.0.1:5001",
        ]))
        .unwrap();
        assert_eq!(
            c.authorizers
                .iter()
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>(),
            ["F", "J"]
        );
        assert_eq!(c.default_authorizer.as_deref(), Some("J"));
        assert_eq!(
            (c.bind_https, c.bind_http, c.bind_admin),
            (Some("127.0.0.1:0".parse().unwrap()), None, None)
        );
        assert_eq!(c.endpoint_names, ["e1", "e2"]);
        assert_eq!(
            (c.bind_mqtt_tls, c.bind_mqtt, c.check_host),
            (Some("127.0.0.1:0".parse().unwrap()), None, false)
        );
        assert_eq!(c.state_dir, PathBuf::from("sd"));
        assert_eq!(c.ledger_capacity, 50);
        assert_eq!(c.cloudwatch_url.as_deref(), Some("http://127.0.0.1:5001"));
        assert!(matches!(
            c.authorizers[1].function.behaviour,
            FunctionBehaviour::Allow { .. }
        ));
    }

    #[test]
    fn mqtt_tls_alpn_is_required_unless_the_file_or_the_flag_says_optional() {
        use crate::emulator::alpn::MqttTlsAlpn;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.toml");
        std::fs::write(&path, "mqtt_tls_alpn = \"optional\"\n").unwrap();
        let path = path.display().to_string();
        assert_eq!(
            resolve(&args(&[])).unwrap().mqtt_tls_alpn,
            MqttTlsAlpn::Required
        );
        let c = resolve(&args(&["--config", &path])).unwrap();
        assert_eq!(c.mqtt_tls_alpn, MqttTlsAlpn::Optional);
        let c = resolve(&args(&["--config", &path, "--mqtt-tls-alpn", "required"])).unwrap();
        assert_eq!(c.mqtt_tls_alpn, MqttTlsAlpn::Required);
        std::fs::write(
            dir.path().join("bad.toml"),
            "mqtt_tls_alpn = \"sometimes\"\n",
        )
        .unwrap();
        let bad = dir.path().join("bad.toml").display().to_string();
        let err = format!("{:#}", resolve(&args(&["--config", &bad])).unwrap_err());
        assert!(
            err.contains("bad.toml") && err.contains("sometimes"),
            "{err}"
        );
    }

    #[test]
    fn gate_settings_come_from_the_file_and_flags_override_them() {
        use crate::wire::settings::{Duplicates, GateSettings, QueryNames, QueryPlus};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("e.toml");
        std::fs::write(
            &path,
            "[gate]\nquery_plus = \"space\"\nduplicates = \"last\"\n",
        )
        .unwrap();
        let path = path.display().to_string();
        assert_eq!(resolve(&args(&[])).unwrap().gate, GateSettings::default());
        let c = resolve(&args(&["--config", &path])).unwrap();
        assert_eq!(
            c.gate,
            GateSettings {
                query_plus: QueryPlus::Space,
                duplicates: Duplicates::Last,
                query_names: QueryNames::Exact,
                ..GateSettings::default()
            }
        );
        let c = resolve(&args(&[
            "--config",
            &path,
            "--gate-duplicates",
            "reject",
            "--gate-query-names",
            "case_insensitive",
        ]))
        .unwrap();
        assert_eq!(
            (c.gate.query_plus, c.gate.duplicates, c.gate.query_names),
            (
                QueryPlus::Space,
                Duplicates::Reject,
                QueryNames::CaseInsensitive
            )
        );
        // A gate file named by the config (relative to it), then --gate-file, then the flags.
        std::fs::write(
            dir.path().join("gate.toml"),
            "[gate]\nquery_names = \"case_insensitive\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("g2.toml"),
            "[gate]\nquery_plus = \"literal\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("with.toml"),
            "gate_file = \"gate.toml\"\n[gate]\nduplicates = \"last\"\n",
        )
        .unwrap();
        let with = dir.path().join("with.toml").display().to_string();
        let g2 = dir.path().join("g2.toml").display().to_string();
        let c = resolve(&args(&["--config", &with])).unwrap();
        assert_eq!(
            (c.gate.duplicates, c.gate.query_names),
            (Duplicates::Last, QueryNames::CaseInsensitive)
        );
        let c = resolve(&args(&["--gate-file", &g2, "--gate-duplicates", "reject"])).unwrap();
        assert_eq!(
            (c.gate.query_plus, c.gate.duplicates),
            (QueryPlus::Literal, Duplicates::Reject)
        );
        std::fs::write(dir.path().join("x.toml"), "[gate]\nbogus = 1\n").unwrap();
        let x = dir.path().join("x.toml").display().to_string();
        let e = format!("{:#}", resolve(&args(&["--gate-file", &x])).unwrap_err());
        assert!(
            e.contains("--gate-file") && e.contains("x.toml: gate.bogus"),
            "{e}"
        );
        // A bad value names the flag and the accepted values.
        let e = Cli::try_parse_from(["emulate", "--gate-query-plus", "plus"])
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("--gate-query-plus") && e.contains("literal"),
            "{e}"
        );
        // ... and in the file, the file and the value.
        std::fs::write(
            dir.path().join("bad.toml"),
            "[gate]\nduplicates = \"middle\"\n",
        )
        .unwrap();
        let bad = dir.path().join("bad.toml").display().to_string();
        let e = format!("{:#}", resolve(&args(&["--config", &bad])).unwrap_err());
        assert!(
            e.contains("bad.toml") && e.contains("middle") && e.contains("reject"),
            "{e}"
        );
    }
}
