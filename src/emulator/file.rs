//! The `tokenstorm emulate --config FILE.toml` format, and [`FunctionFile`], the in-process authorizer function
//! as a file describes it (scenarios embed it as their `[authorizer.function]` table). Unknown fields are
//! rejected; errors name the file, the field and the value.
//!
//! ```toml
//! default_authorizer = "MyCustomAuthorizer"   # used when a request names none
//! endpoint_names = ["example-ats.iot.eu-west-1.amazonaws.com"]
//! region = "eu-west-1"
//! account_id = "123456789012"
//! state_dir = ".tokenstorm/emulator"          # ca.pem goes here
//! bind_https = "127.0.0.1:8443"               # ":0" = 127.0.0.1, any free port; "off" = no listener
//! bind_http = "127.0.0.1:8080"
//! bind_admin = "127.0.0.1:9100"
//! bind_mqtt_tls = "off"                      # MQTT over TLS (ALPN mqtt); the HTTPS listener takes ALPN mqtt too
//! bind_mqtt = "off"                          # plain MQTT over TCP, for tools
//! check_host = true                          # refuse SNI/Host names other than endpoint_names, localhost, IPs
//! mqtt_tls_alpn = "required"                 # MQTT/TLS listener: refuse clients offering no ALPN ("optional": serve them)
//! # tls_cert = "server.pem"                   # instead of the generated CA (both or neither)
//! # tls_key = "server.key"
//! ledger_capacity = 100000                    # invocation-ledger entries kept (the most recent; at least 1)
//! # cloudwatch_url = "http://127.0.0.1:5000"  # publish Lambda's metrics and logs there (region = `region`)
//!
//! [gate]                                      # unconfirmed behaviours (spec §1); these are the defaults
//! query_plus = "literal"                      # a raw `+` in a query string: "literal" | "space"
//! duplicates = "first"                        # a credential parameter given twice: "first" | "last" | "reject"
//! query_names = "exact"                       # query/username parameter names: "exact" | "case_insensitive"
//! # gate_file = "gate.toml" (top level, before any table): `tokenstorm calibrate`'s file, relative to this one;
//! # its settings go over [gate] (a setting written in both is an error)
//!
//! [[authorizer]]
//! name = "MyCustomAuthorizer"
//! token_key_name = "X-My-App-custom-key"
//! status = "ACTIVE"                           # or "INACTIVE"
//! signing_disabled = false
//! enable_caching_for_http = false
//! signing_keys = { FIRST_KEY = "public_key.pem" }   # a PEM file (relative to this file) or an inline PEM
//! # describe_json = "authorizer.json"         # instead of the fields above: `aws iot describe-authorizer` output
//!
//! [authorizer.function]                       # absent: allow everything as tokenstormDevice
//! mode = "allow"                              # "allow" | "deny" | "table"
//! principal_id = "myPrincipalDevice123"
//! policy_documents = ['{"Version":"2012-10-17","Statement":[{"Action":"iot:Publish","Effect":"Allow","Resource":"arn:aws:iot:*:*:topic/customAuhtTestTopic"}]}']
//! disconnect_after_s = 86400
//! refresh_after_s = 300
//! latency_ms = 0
//! # memory_mb = 128 / billed_duration_ms = 1  # cost accounting (ledger memory_mb, billed_ms)
//! # A real function instead of the in-process one (see `contract::lambda_file`):
//! # [authorizer.function.runtime]             # runtime processes on the emulator's Lambda Runtime API
//! # command = ["python3", "-m", "awslambdaric", "lambda_function.lambda_handler"]
//! # dir = "my_function"                       # relative to this file
//! # concurrency = 4
//! # [authorizer.function.invoke_api]          # or a Lambda Invoke API endpoint (sam local start-lambda, ...)
//! # url = "http://127.0.0.1:3001"
//! # function_name = "MyAuthorizerFunction"
//! ```

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use super::authorizer_json::parse_describe_authorizer;
use super::config::{DEFAULT_ACCOUNT, DEFAULT_REGION, EmulatorConfig, TlsFiles};
use crate::contract::authorizer::{
    AuthorizerSpec, AuthorizerStatus, FunctionBehaviour, FunctionSpec,
};
pub use crate::contract::function_file::{FunctionFile, FunctionMode, TableEntryFile};
use crate::contract::ledger::DEFAULT_LEDGER_CAPACITY;
use crate::contract::transport::DEFAULT_ENDPOINT;
use crate::token::PublicKey;

pub const DEFAULT_BIND_HTTPS: &str = "127.0.0.1:8443";
pub const DEFAULT_BIND_HTTP: &str = "127.0.0.1:8080";
pub const DEFAULT_BIND_ADMIN: &str = "127.0.0.1:9100";
pub const DEFAULT_BIND_MQTT_TLS: &str = "off";
pub const DEFAULT_BIND_MQTT: &str = "off";
pub const DEFAULT_STATE_DIR: &str = ".tokenstorm/emulator";

/// The emulator configuration file. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorFile {
    pub default_authorizer: Option<String>,
    pub endpoint_names: Option<Vec<String>>,
    pub region: Option<String>,
    pub account_id: Option<String>,
    pub state_dir: Option<PathBuf>,
    pub bind_https: Option<String>,
    pub bind_http: Option<String>,
    pub bind_admin: Option<String>,
    pub bind_mqtt_tls: Option<String>,
    pub bind_mqtt: Option<String>,
    pub check_host: Option<bool>,
    /// Whether the MQTT/TLS listener requires ALPN `mqtt` (default required).
    pub mqtt_tls_alpn: Option<super::alpn::MqttTlsAlpn>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Invocation-ledger entries kept (the most recent ones).
    pub ledger_capacity: Option<usize>,
    /// The gate's unconfirmed behaviours.
    #[serde(default)]
    pub gate: crate::wire::settings::GateSettings,
    /// A gate file (what `tokenstorm calibrate` writes), relative to this file; its settings go over `gate`.
    pub gate_file: Option<PathBuf>,
    /// The keys `[gate]` wrote (a setting in both `[gate]` and the gate file is an error).
    #[serde(skip)]
    pub gate_written: Vec<String>,
    /// Publish to the CloudWatch APIs at this URL, as the Lambda service does (`emulator::cloudwatch`).
    pub cloudwatch_url: Option<String>,
    #[serde(default)]
    pub authorizer: Vec<AuthorizerFile>,
}

/// One `[[authorizer]]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorizerFile {
    /// `aws iot describe-authorizer` output to take the authorizer from (exclusive with the fields below but
    /// `function`).
    pub describe_json: Option<PathBuf>,
    pub name: Option<String>,
    pub token_key_name: Option<String>,
    pub status: Option<String>,
    pub signing_disabled: Option<bool>,
    pub enable_caching_for_http: Option<bool>,
    /// Key name → a PEM file path (relative to the config file) or an inline PEM.
    pub signing_keys: Option<BTreeMap<String, String>>,
    pub function: Option<FunctionFile>,
}

/// Parses a listen address: `HOST:PORT`, `:PORT` (127.0.0.1), or `off` (no listener).
pub fn parse_bind(value: &str, what: &str) -> anyhow::Result<Option<SocketAddr>> {
    let value = value.trim();
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let full = if value.starts_with(':') {
        format!("127.0.0.1{value}")
    } else {
        value.to_string()
    };
    full.parse::<SocketAddr>().map(Some).map_err(|_| {
        anyhow::anyhow!(
            "{what}: {value:?} is not a listen address (use HOST:PORT, :PORT for 127.0.0.1, or off)"
        )
    })
}

fn key_from(value: &str, base: &Path, what: &str) -> anyhow::Result<PublicKey> {
    if value.trim_start().starts_with("-----BEGIN") {
        return Ok(PublicKey::from_pem(value, what)?);
    }
    let path = base.join(value);
    let pem = std::fs::read_to_string(&path)
        .with_context(|| format!("{what}: cannot read the key file {}", path.display()))?;
    Ok(PublicKey::from_pem(
        &pem,
        &format!("{what} ({})", path.display()),
    )?)
}

impl AuthorizerFile {
    fn resolve(&self, base: &Path, file: &str, index: usize) -> anyhow::Result<AuthorizerSpec> {
        let at = format!("{file}: authorizer[{index}]");
        let function = match &self.function {
            Some(f) => f.to_spec_in(base, &format!("{file}: authorizer[{index}]"))?,
            None => FunctionSpec::in_process(FunctionBehaviour::default_allow(), Duration::ZERO),
        };
        if let Some(json) = &self.describe_json {
            let others = self.name.is_some()
                || self.token_key_name.is_some()
                || self.status.is_some()
                || self.signing_disabled.is_some()
                || self.enable_caching_for_http.is_some()
                || self.signing_keys.is_some();
            if others {
                anyhow::bail!(
                    "{at}: describe_json already describes the authorizer; drop the other fields but function"
                );
            }
            let path = base.join(json);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("{at}.describe_json: cannot read {}", path.display()))?;
            return Ok(
                parse_describe_authorizer(&text, &path.display().to_string())?
                    .with_function(function),
            );
        }
        let name = self
            .name
            .clone()
            .filter(|n| !n.is_empty())
            .with_context(|| format!("{at}: name is required"))?;
        let status = match self.status.as_deref() {
            None | Some("ACTIVE") => AuthorizerStatus::Active,
            Some("INACTIVE") => AuthorizerStatus::Inactive,
            Some(other) => {
                anyhow::bail!("{at}.status: {other:?} is neither \"ACTIVE\" nor \"INACTIVE\"")
            }
        };
        let signing_keys = self
            .signing_keys
            .iter()
            .flatten()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    key_from(v, base, &format!("{at}.signing_keys.{k}"))?,
                ))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(AuthorizerSpec {
            name,
            token_key_name: self.token_key_name.clone().unwrap_or_default(),
            signing_keys,
            status,
            signing_disabled: self.signing_disabled.unwrap_or(false),
            enable_caching_for_http: self.enable_caching_for_http.unwrap_or(false),
            function,
        })
    }
}

impl EmulatorFile {
    /// Reads, parses and resolves a configuration file (relative paths inside it are relative to it).
    pub fn resolve(path: &Path) -> anyhow::Result<EmulatorConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read --config {}", path.display()))?;
        let mut file: EmulatorFile = toml::from_str(&text)
            .with_context(|| format!("{}: invalid configuration", path.display()))?;
        file.gate_written = crate::wire::gate_file::written_in(&text);
        let base = path.parent().unwrap_or(Path::new("."));
        file.resolve_in(base, &path.display().to_string())
    }

    /// Resolves with defaults; `base` anchors relative paths, `file` names the source in errors.
    pub fn resolve_in(&self, base: &Path, file: &str) -> anyhow::Result<EmulatorConfig> {
        let bind = |v: &Option<String>, default: &str, field: &str| {
            parse_bind(v.as_deref().unwrap_or(default), &format!("{file}: {field}"))
        };
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: base.join(cert),
                key: base.join(key),
            }),
            (None, None) => None,
            _ => anyhow::bail!("{file}: give both tls_cert and tls_key, or neither"),
        };
        let ledger_capacity = self.ledger_capacity.unwrap_or(DEFAULT_LEDGER_CAPACITY);
        if ledger_capacity == 0 {
            anyhow::bail!(
                "{file}: ledger_capacity = 0; the ledger must keep at least 1 entry (default {DEFAULT_LEDGER_CAPACITY})"
            );
        }
        let authorizers = self
            .authorizer
            .iter()
            .enumerate()
            .map(|(i, a)| a.resolve(base, file, i))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(EmulatorConfig {
            authorizers,
            default_authorizer: self.default_authorizer.clone(),
            endpoint_names: self
                .endpoint_names
                .clone()
                .unwrap_or_else(|| vec![DEFAULT_ENDPOINT.to_string()]),
            region: self
                .region
                .clone()
                .unwrap_or_else(|| DEFAULT_REGION.to_string()),
            account_id: self
                .account_id
                .clone()
                .unwrap_or_else(|| DEFAULT_ACCOUNT.to_string()),
            bind_https: bind(&self.bind_https, DEFAULT_BIND_HTTPS, "bind_https")?,
            bind_http: bind(&self.bind_http, DEFAULT_BIND_HTTP, "bind_http")?,
            bind_admin: bind(&self.bind_admin, DEFAULT_BIND_ADMIN, "bind_admin")?,
            bind_mqtt_tls: bind(&self.bind_mqtt_tls, DEFAULT_BIND_MQTT_TLS, "bind_mqtt_tls")?,
            bind_mqtt: bind(&self.bind_mqtt, DEFAULT_BIND_MQTT, "bind_mqtt")?,
            check_host: self.check_host.unwrap_or(true),
            mqtt_tls_alpn: self.mqtt_tls_alpn.unwrap_or_default(),
            state_dir: self
                .state_dir
                .as_ref()
                .map_or_else(|| PathBuf::from(DEFAULT_STATE_DIR), |d| base.join(d)),
            tls,
            ledger_capacity,
            gate: match &self.gate_file {
                Some(g) => {
                    crate::wire::gate_file::combine(self.gate, &self.gate_written, g, base, file)
                        .map_err(|e| match e.file == file {
                            true => anyhow::anyhow!("{e}"),
                            false => anyhow::anyhow!("{file}: gate_file: {e}"),
                        })?
                        .0
                }
                None => self.gate,
            },
            cloudwatch_url: self.cloudwatch_url.clone().filter(|u| !u.is_empty()),
            function_log: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_addresses() {
        assert_eq!(
            parse_bind(":0", "x").unwrap(),
            Some("127.0.0.1:0".parse().unwrap())
        );
        assert_eq!(
            parse_bind("[::1]:8443", "x").unwrap(),
            Some("[::1]:8443".parse().unwrap())
        );
        assert_eq!(parse_bind("off", "x").unwrap(), None);
        let err = parse_bind("localhost:80", "--bind-http")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--bind-http") && err.contains("localhost:80"),
            "{err}"
        );
    }

    #[test]
    fn ledger_capacity_defaults_and_refuses_zero() {
        let parse = |t: &str| toml::from_str::<EmulatorFile>(t).unwrap();
        let c = parse("").resolve_in(Path::new("."), "e.toml").unwrap();
        assert_eq!(c.ledger_capacity, DEFAULT_LEDGER_CAPACITY);
        let c = parse("ledger_capacity = 50")
            .resolve_in(Path::new("."), "e.toml")
            .unwrap();
        assert_eq!(c.ledger_capacity, 50);
        let err = parse("ledger_capacity = 0")
            .resolve_in(Path::new("."), "e.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("e.toml: ledger_capacity"), "{err}");
    }

    #[test]
    fn a_whole_file_resolves_relative_to_itself() {
        let dir = tempfile::tempdir().unwrap();
        let key = crate::token::PrivateKey::generate(2048).unwrap();
        std::fs::create_dir(dir.path().join("keys")).unwrap();
        std::fs::write(
            dir.path().join("keys/pub.pem"),
            key.public_key().to_spki_pem(),
        )
        .unwrap();
        let inline = key.public_key().to_spki_pem();
        let text = format!(
            r#"
            default_authorizer = "A"
            bind_https = ":0"
            bind_http = "off"
            state_dir = "st"
            [[authorizer]]
            name = "A"
            token_key_name = "tk"
            status = "INACTIVE"
            enable_caching_for_http = true
            signing_keys = {{ K1 = "keys/pub.pem", K2 = '''{inline}''' }}
            [authorizer.function]
            mode = "deny"
            latency_ms = 3
            "#
        );
        let path = dir.path().join("emulator.toml");
        std::fs::write(&path, text).unwrap();
        let c = EmulatorFile::resolve(&path).unwrap();
        assert_eq!(c.bind_https, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(
            (c.bind_http, c.bind_admin),
            (None, Some(DEFAULT_BIND_ADMIN.parse().unwrap()))
        );
        assert_eq!(c.state_dir, dir.path().join("st"));
        assert_eq!(
            (c.region.as_str(), c.account_id.as_str()),
            (DEFAULT_REGION, DEFAULT_ACCOUNT)
        );
        let a = &c.authorizers[0];
        assert_eq!(
            (a.name.as_str(), a.token_key_name.as_str(), a.status),
            ("A", "tk", AuthorizerStatus::Inactive)
        );
        assert!(a.enable_caching_for_http && !a.signing_disabled);
        assert_eq!(
            a.signing_keys
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>(),
            ["K1", "K2"]
        );
        assert!(matches!(a.function.behaviour, FunctionBehaviour::Deny));

        std::fs::write(
            &path,
            "[[authorizer]]\nname = \"A\"\nsigning_keys = { K = \"nope.pem\" }\n",
        )
        .unwrap();
        let err = format!("{:#}", EmulatorFile::resolve(&path).unwrap_err());
        assert!(
            err.contains("authorizer[0].signing_keys.K") && err.contains("nope.pem"),
            "{err}"
        );
        std::fs::write(
            &path,
            "[[authorizer]]\ndescribe_json = \"a.json\"\nname = \"A\"\n",
        )
        .unwrap();
        assert!(
            format!("{:#}", EmulatorFile::resolve(&path).unwrap_err()).contains("describe_json")
        );
        std::fs::write(&path, "tls_cert = \"c.pem\"\n").unwrap();
        assert!(format!("{:#}", EmulatorFile::resolve(&path).unwrap_err()).contains("tls_key"));
    }
}
