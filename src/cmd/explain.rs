//! `tokenstorm explain`: what the signature gate does with one request, step by step, before anything is sent.
//! The request comes from flags (`--url`, `--header`, `--mqtt-username`...), a file (`--request`: a captured
//! HTTP request or a JSON object), and the authorizers from `--authorizer-json` / `--config` with the gate
//! settings (`--gate-file`, `--gate-*`); or `--attempt RUN_DIR:ATTEMPT_ID` reads a refused valid attempt's
//! explanation from a finished run's report.json. Exit 0 when the credential passes the gate, 1 when it is refused, 2 on
//! bad input (naming the flag or file). `--json` prints the explanation as one JSON object.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::error::Exit;
use crate::explain::input::{DeviceSpec, read_file};
use crate::explain::{explain, render};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// An authorizer as `aws iot describe-authorizer` prints it (repeatable).
    #[arg(long = "authorizer-json", value_name = "FILE")]
    pub authorizer_json: Vec<PathBuf>,
    /// An emulator configuration file (TOML) whose authorizers to use.
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// The account's default authorizer (used when the request names none).
    #[arg(long, value_name = "NAME")]
    pub default_authorizer: Option<String>,
    #[command(flatten)]
    pub gate: super::gate_args::GateArgs,
    /// A file holding the request: a captured HTTP request (request line, header lines) or a JSON object with
    /// the fields of the flags below (`url`, `headers`, `websocket`, `username`, `client_id`, `host`, `port`,
    /// `sni`, `alpn`, `transport`). Flags given as well override it.
    #[arg(long, value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// The HTTPS (or WebSocket) URL, e.g. `https://HOST/topics/t?qos=1`, `wss://HOST/mqtt?...`, or `/path?query`.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// A request header, `'Name: value'` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "'K: V'")]
    pub headers: Vec<String>,
    /// The URL is a WebSocket upgrade (MQTT over WebSocket).
    #[arg(long)]
    pub websocket: bool,
    /// The MQTT CONNECT username, exactly as sent.
    #[arg(long, value_name = "USERNAME", allow_hyphen_values = true)]
    pub mqtt_username: Option<String>,
    /// The MQTT CONNECT password (the gate does not read it; a credential there is not seen).
    #[arg(long, value_name = "PASSWORD", allow_hyphen_values = true)]
    pub mqtt_password: Option<String>,
    /// The MQTT client id.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// The endpoint host the device connects to (for MQTT; a URL gives its own).
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,
    /// The port the device connects to.
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// The TLS server name (SNI) the device sends, when not the host.
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,
    /// An ALPN protocol the device offers (repeatable), e.g. `--alpn mqtt`.
    #[arg(long, value_name = "PROTOCOL")]
    pub alpn: Vec<String>,
    /// `https`, `mqtt_tls`, `mqtt` or `wss` (default: inferred: a WebSocket URL or --websocket is `wss`, another
    /// URL `https`, a username alone `mqtt_tls`).
    #[arg(long, value_name = "TRANSPORT")]
    pub transport: Option<String>,
    /// A refused valid attempt of a finished run, `RUN_DIR:ATTEMPT_ID`: its explanation as the run's report.json
    /// kept it (a report keeps the first 5 valid attempts the gate refused).
    #[arg(long, value_name = "RUN_DIR:ATTEMPT_ID", conflicts_with_all = ["request", "url", "mqtt_username"])]
    pub attempt: Option<String>,
    /// Print the explanation as JSON.
    #[arg(long)]
    pub json: bool,
}

impl Args {
    /// The request: the `--request` file, with the flags over it.
    fn spec(&self) -> anyhow::Result<(DeviceSpec, Option<String>)> {
        let (mut spec, file) = match &self.request {
            Some(path) => {
                let what = format!("--request {}", path.display());
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("cannot read {what}"))?;
                (read_file(&text, &what)?, Some(what))
            }
            None => (DeviceSpec::default(), None),
        };
        let set = |slot: &mut Option<String>, v: &Option<String>| {
            if v.is_some() {
                slot.clone_from(v);
            }
        };
        set(&mut spec.url, &self.url);
        set(&mut spec.username, &self.mqtt_username);
        set(&mut spec.password, &self.mqtt_password);
        set(&mut spec.client_id, &self.client_id);
        set(&mut spec.host, &self.host);
        set(&mut spec.sni, &self.sni);
        set(&mut spec.transport, &self.transport);
        spec.headers.extend(self.headers.iter().cloned());
        spec.alpn.extend(self.alpn.iter().cloned());
        spec.port = self.port.or(spec.port);
        spec.websocket |= self.websocket;
        Ok((spec, file))
    }
}

pub fn run(args: Args) -> anyhow::Result<Exit> {
    if let Some(spec) = &args.attempt {
        return from_run(spec, args.json);
    }
    let lambda = super::lambda_args::LambdaArgs {
        lambda_cmd: None,
        lambda_dir: None,
        lambda_concurrency: 1,
        lambda_memory_mb: 128,
    };
    let mut config =
        super::lambda_args::base_config(args.config.as_deref(), &args.authorizer_json, &lambda)?;
    if config.authorizers.is_empty() {
        anyhow::bail!(
            "no authorizer to explain against: give --authorizer-json FILE (as `aws iot describe-authorizer` prints it) or --config FILE"
        );
    }
    if let Some(name) = &args.default_authorizer {
        config.default_authorizer = Some(name.clone());
    }
    let default = crate::emulator::validate(&config).context("--default-authorizer")?;
    let settings = args.gate.resolve(config.gate)?;
    let (spec, file) = args.spec()?;
    let device = spec.device(file.as_deref())?;
    let e = explain(&device, &config.authorizers, default, &settings);
    let text = if args.json {
        serde_json::to_string_pretty(&e)? + "\n"
    } else {
        render(&e)
    };
    // Not `print!`, which panics on a closed stdout.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(if e.passes() { Exit::Ok } else { Exit::Failed })
}

/// `--attempt RUN_DIR:ATTEMPT_ID`: the explanation a run's report kept for one of its refused valid attempts.
fn from_run(spec: &str, json: bool) -> anyhow::Result<Exit> {
    let Some((dir, id)) = spec
        .rsplit_once(':')
        .filter(|(d, i)| !d.is_empty() && !i.is_empty())
    else {
        anyhow::bail!("--attempt {spec:?}: must be RUN_DIR:ATTEMPT_ID");
    };
    let path = std::path::Path::new(dir).join("report.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("--attempt: cannot read {}", path.display()))?;
    let report: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("--attempt: {} is not a report", path.display()))?;
    let kept: Vec<crate::join::refusals::RefusedAttempt> =
        serde_json::from_value(report["refused_valid"].clone()).unwrap_or_default();
    let Some(a) = kept.iter().find(|a| a.attempt_id == id) else {
        let ids: Vec<&str> = kept.iter().map(|a| a.attempt_id.as_str()).collect();
        anyhow::bail!(
            "--attempt: {id} is not among the refused valid attempts {} keeps ({ids:?}); a report keeps the first \
             {} valid attempts the gate refused, nothing of allowed, forged or replayed ones: explain the request \
             itself with --url / --mqtt-username",
            path.display(),
            crate::join::refusals::REPORTED
        );
    };
    let text = if json {
        serde_json::to_string_pretty(a)? + "\n"
    } else {
        let mut out = format!(
            "explain: attempt {} ({}), as {} kept it\n",
            a.attempt_id,
            a.transport,
            path.display()
        );
        for c in &a.checks {
            out += &format!("  {c}\n");
        }
        out += &format!("refused: {}\n", a.rule);
        if let Some(fix) = &a.fix {
            out += &format!("fix: {fix}\n");
        }
        out
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(Exit::Failed)
}
