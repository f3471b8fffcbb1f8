//! The validated, resolved [`Plan`]: what a run does, with keys loaded or generated and every number checked.
//! Built once from a [`Scenario`]; nothing downstream re-reads the file or the flags.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::ScenarioError;
use super::file::{CredentialsIn, LoadModel, Scenario, Status, TargetKind, TokenScheme};
use crate::attempt::{Class, Mix, MixError};
use crate::emulator::config::{AuthorizerStatus, DEFAULT_ENDPOINT, FunctionSpec};
use crate::token::{PrivateKey, PublicKey};

/// How attempts are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Model {
    /// Attempts per second over all devices.
    Open { rate_per_s: f64 },
    /// Attempts in flight.
    Closed { concurrency: u32 },
}

/// Where a signing key came from (for the report; never the key itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Generated,
    File(PathBuf),
}

#[derive(Debug)]
pub struct SigningKey {
    /// The name in `tokenSigningPublicKeys`.
    pub name: String,
    pub key: PrivateKey,
    pub public: PublicKey,
    pub source: KeySource,
}

#[derive(Debug, Clone)]
pub enum Target {
    Embedded {
        endpoint_name: String,
    },
    External {
        /// `host:port` to connect to.
        authority: String,
        host: String,
        port: u16,
        endpoint_name: String,
        admin_url: Option<String>,
        ca_file: Option<PathBuf>,
        verify_tls: bool,
    },
}

impl Target {
    pub fn endpoint_name(&self) -> &str {
        match self {
            Self::Embedded { endpoint_name } | Self::External { endpoint_name, .. } => {
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
    pub duration: Duration,
    pub max_attempts: Option<u64>,
    pub warmup: Duration,
    pub request_timeout: Duration,
    pub tokens: TokenScheme,
    pub static_token: String,
    pub token_prefix: String,
    pub keys: Vec<SigningKey>,
    /// The attacker's key for wrong-key forgeries; never listed by the authorizer.
    pub attacker: PrivateKey,
    pub authorizer: AuthorizerPlan,
    pub target: Target,
    pub http: HttpPlan,
    pub mix: Mix,
    /// The effective scenario (after overrides), for the report.
    pub scenario: Scenario,
}

impl Plan {
    /// Device d's token.
    pub fn token_of(&self, device: u32) -> String {
        match self.tokens {
            TokenScheme::Static => self.static_token.clone(),
            TokenScheme::PerDevice => format!("{}{device:06}", self.token_prefix),
        }
    }

    /// Validates and resolves `s`, loading or generating keys. `file` is how errors name the scenario.
    pub fn resolve(s: Scenario, file: &Path) -> Result<Self, ScenarioError> {
        let f = file.display().to_string();
        let err = |field: &str, problem: String| ScenarioError::new(f.clone(), field, problem);
        let r = &s.run;
        positive(r.duration_s, "run.duration_s").map_err(|p| err("run.duration_s", p))?;
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
        let model = match r.model {
            LoadModel::Open => {
                positive(r.rate_per_s, "").map_err(|p| err("run.rate_per_s", p))?;
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
        };
        match s.devices.token {
            TokenScheme::Static => {
                header_safe(&s.devices.static_token).map_err(|p| err("devices.static_token", p))?
            }
            TokenScheme::PerDevice => {
                if !s.devices.token_prefix.is_empty() {
                    header_safe(&s.devices.token_prefix)
                        .map_err(|p| err("devices.token_prefix", p))?;
                }
            }
        }
        let a = &s.authorizer;
        name_ok(&a.name).map_err(|p| err("authorizer.name", p))?;
        header_name_ok(&a.token_key_name).map_err(|p| err("authorizer.token_key_name", p))?;
        let function =
            super::function::resolve(&a.function, &f).map_err(|p| err("authorizer.function", p))?;
        let h = &s.http;
        if h.topic.is_empty() || h.topic.len() > 256 || h.topic.contains(['#', '+']) {
            return Err(err(
                "http.topic",
                format!("must be 1–256 bytes without + or # (got {:?})", h.topic),
            ));
        }
        if h.qos > 1 {
            return Err(err("http.qos", format!("must be 0 or 1 (got {})", h.qos)));
        }
        if h.payload_bytes > 128 * 1024 {
            return Err(err(
                "http.payload_bytes",
                format!("must be ≤ 131072, the AWS limit (got {})", h.payload_bytes),
            ));
        }
        let mix = resolve_mix(&s, &err)?;
        if mix.share(Class::Replayed) > 0.0 && devices < 2 {
            return Err(err(
                "mix.replayed",
                "replays reuse another device's pair: needs devices.count ≥ 2".into(),
            ));
        }
        let target = resolve_target(&s, file, &err)?;
        let (keys, attacker) = resolve_keys(&s, file, &err)?;
        Ok(Self {
            name: if s.name.is_empty() {
                file.file_stem()
                    .map_or("scenario".into(), |n| n.to_string_lossy().into_owned())
            } else {
                s.name.clone()
            },
            source: file.to_path_buf(),
            seed: r.seed,
            devices,
            model,
            duration: Duration::from_secs_f64(r.duration_s),
            max_attempts: (r.max_attempts > 0).then_some(r.max_attempts),
            warmup: Duration::from_secs_f64(r.warmup_s),
            request_timeout: Duration::from_millis(r.request_timeout_ms),
            tokens: s.devices.token,
            static_token: s.devices.static_token.clone(),
            token_prefix: s.devices.token_prefix.clone(),
            keys,
            attacker,
            authorizer: AuthorizerPlan {
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
            },
            target,
            http: HttpPlan {
                topic: h.topic.clone(),
                qos: h.qos,
                payload_bytes: h.payload_bytes as usize,
                credentials_in: h.credentials_in,
            },
            mix,
            scenario: s,
        })
    }
}

fn positive(v: f64, _field: &str) -> Result<(), String> {
    if v.is_finite() && v > 0.0 && v < 1e9 {
        Ok(())
    } else {
        Err(format!("must be a number > 0 (got {v})"))
    }
}

fn header_safe(v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > 4096 || !v.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(format!(
            "must be 1–4096 printable ASCII characters without spaces (got {} bytes)",
            v.len()
        ));
    }
    Ok(())
}

fn name_ok(v: &str) -> Result<(), String> {
    if v.is_empty()
        || v.len() > 128
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-+=,.@".contains(&b))
    {
        return Err(format!(
            "must be 1–128 characters [A-Za-z0-9_-+=,.@] (got {v:?})"
        ));
    }
    Ok(())
}

fn header_name_ok(v: &str) -> Result<(), String> {
    if v.is_empty() || v.len() > 128 || hyper::header::HeaderName::from_bytes(v.as_bytes()).is_err()
    {
        return Err(format!(
            "must be a valid HTTP header name of 1–128 characters (got {v:?})"
        ));
    }
    Ok(())
}

fn resolve_mix(
    s: &Scenario,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Mix, ScenarioError> {
    let m = &s.mix;
    let check = |field: &str, w: f64| {
        if w.is_finite() && w >= 0.0 {
            Ok(w)
        } else {
            Err(err(
                field,
                format!("weight must be ≥ 0 and finite (got {w})"),
            ))
        }
    };
    let valid = check("mix.valid", m.valid)?;
    let forged = check("mix.forged", m.forged)?;
    let replayed = check("mix.replayed", m.replayed)?;
    let variants = m.forged_variants.weights();
    let mut variant_sum = 0.0;
    for (f, w) in variants {
        variant_sum += check(&format!("mix.forged_variants.{}", f.as_str()), w)?;
    }
    if forged > 0.0 && variant_sum <= 0.0 {
        return Err(err(
            "mix.forged_variants",
            "mix.forged > 0 needs at least one variant weight > 0".into(),
        ));
    }
    let mut w = [0.0; Class::COUNT];
    w[Class::Valid.index()] = valid;
    w[Class::Replayed.index()] = replayed;
    for (f, vw) in variants {
        if forged > 0.0 {
            w[Class::Forged(f).index()] = forged * vw / variant_sum;
        }
    }
    Mix::new(w).map_err(|e| match e {
        MixError::AllZero => err(
            "mix",
            "mix.valid, mix.forged and mix.replayed are all 0: nothing to send".into(),
        ),
        MixError::Negative => err("mix", e.to_string()),
    })
}

fn resolve_target(
    s: &Scenario,
    file: &Path,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<Target, ScenarioError> {
    let t = &s.target;
    match t.kind {
        TargetKind::Embedded => {
            for (field, set) in [
                ("target.url", !t.url.is_empty()),
                ("target.admin_url", !t.admin_url.is_empty()),
            ] {
                if set {
                    return Err(err(
                        field,
                        "only for target.kind = \"external\"; remove it or set the kind".into(),
                    ));
                }
            }
            let endpoint_name = if t.endpoint_name.is_empty() {
                DEFAULT_ENDPOINT.into()
            } else {
                t.endpoint_name.clone()
            };
            Ok(Target::Embedded { endpoint_name })
        }
        TargetKind::External => {
            let (host, port) = parse_https_url(&t.url).map_err(|p| err("target.url", p))?;
            let admin_url = if t.admin_url.is_empty() {
                None
            } else {
                let rest = t.admin_url.strip_prefix("http://").ok_or_else(|| {
                    err(
                        "target.admin_url",
                        format!("must look like http://host:port (got {:?})", t.admin_url),
                    )
                })?;
                if rest.trim_end_matches('/').is_empty() {
                    return Err(err("target.admin_url", "has no host".into()));
                }
                Some(t.admin_url.trim_end_matches('/').to_string())
            };
            let ca_file = if t.ca_file.as_os_str().is_empty() {
                if t.verify_tls {
                    return Err(err("target.ca_file", "needed when target.verify_tls = true (the CA that signed the endpoint's certificate)".into()));
                }
                None
            } else {
                let p = relative_to(file, &t.ca_file);
                if !p.is_file() {
                    return Err(err(
                        "target.ca_file",
                        format!("{} is not a readable file", p.display()),
                    ));
                }
                Some(p)
            };
            let endpoint_name = if t.endpoint_name.is_empty() {
                host.clone()
            } else {
                t.endpoint_name.clone()
            };
            Ok(Target::External {
                authority: format!("{host}:{port}"),
                host,
                port,
                endpoint_name,
                admin_url,
                ca_file,
                verify_tls: t.verify_tls,
            })
        }
    }
}

/// `https://host[:port][/]` → (host, port). IPv6 literals in brackets are kept with their brackets.
fn parse_https_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("must look like https://host:port (got {url:?})"))?
        .trim_end_matches('/');
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return Err(format!(
            "must be https://host[:port] with no path (got {url:?})"
        ));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || rest.starts_with('[') => (
            h.to_string(),
            p.parse::<u16>()
                .map_err(|_| format!("bad port {p:?} in {url:?}"))?,
        ),
        _ => (rest.to_string(), 443),
    };
    Ok((host, port))
}

fn relative_to(file: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    }
}

fn resolve_keys(
    s: &Scenario,
    file: &Path,
    err: &impl Fn(&str, String) -> ScenarioError,
) -> Result<(Vec<SigningKey>, PrivateKey), ScenarioError> {
    let k = &s.keys;
    if ![2048, 3072, 4096].contains(&k.bits) {
        return Err(err(
            "keys.bits",
            format!("must be 2048, 3072 or 4096 (got {})", k.bits),
        ));
    }
    let mut keys = Vec::new();
    if k.private_key_files.is_empty() {
        if k.generate == 0 || k.generate > 16 {
            return Err(err(
                "keys.generate",
                format!(
                    "must be 1–16 when keys.private_key_files is empty (got {})",
                    k.generate
                ),
            ));
        }
        for i in 0..k.generate {
            let key = PrivateKey::generate(k.bits as usize)
                .map_err(|e| err("keys.generate", e.to_string()))?;
            keys.push(SigningKey {
                name: format!("key{}", i + 1),
                public: key.public_key(),
                key,
                source: KeySource::Generated,
            });
        }
    } else {
        for (i, p) in k.private_key_files.iter().enumerate() {
            let path = relative_to(file, p);
            let field = format!("keys.private_key_files[{i}]");
            let key = PrivateKey::from_pem_file(&path).map_err(|e| err(&field, e.to_string()))?;
            let stem = path.file_stem().map_or(format!("key{}", i + 1), |s| {
                s.to_string_lossy().into_owned()
            });
            keys.push(SigningKey {
                name: stem,
                public: key.public_key(),
                key,
                source: KeySource::File(path),
            });
        }
    }
    let attacker =
        PrivateKey::generate(k.bits as usize).map_err(|e| err("keys.bits", e.to_string()))?;
    Ok((keys, attacker))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            parse_https_url("https://localhost:8443").unwrap(),
            ("localhost".into(), 8443)
        );
        assert_eq!(
            parse_https_url("https://a.example/").unwrap(),
            ("a.example".into(), 443)
        );
        assert_eq!(
            parse_https_url("https://[::1]:9").unwrap(),
            ("[::1]".into(), 9)
        );
        assert!(parse_https_url("http://x").is_err());
        assert!(parse_https_url("https://x/path").is_err());
        assert!(parse_https_url("https://x:notaport").is_err());
    }
}
