//! JWT tokens (`devices.token = "jwt"`, `[devices.jwt]`): a JWT per valid attempt, made at setup into the
//! token pool ([`super::pool`]) like template tokens, never on the request path. The whole compact JWT is the
//! custom-auth token; the custom-auth signature over it is made afterwards by the scenario's signing key, as for
//! every scheme.
//!
//! Claims: `iat` (the pool's issue time, s), `exp` (`iat` + the lifetime, `devices.token_max_age_s`), `jti`
//! (a fresh v4 uuid per token), `sub` (a template, by default `{client_id}`), then the fixed claims of
//! `[devices.jwt.claims]`, whose strings may use the template placeholders; a string that is exactly one of
//! `{unix_s}`, `{unix_ms}` or `{seq}` becomes a JSON number (so `nbf = "{unix_s}"` works). An expired token
//! (`replayed.expired`) is issued `lifetime + 60 s` ago, so its `exp` is a minute in the past.

use serde_json::{Map, Value};

use super::template::{Placeholder, TokenTemplate, Values, uuid_v4};
use crate::contract::limits::MAX_TOKEN_CHARS;
use crate::token::jws::{JwsKey, b64url};

/// The scenario table JWT settings come from, named in errors.
pub const FIELD: &str = "devices.jwt";

/// Claims tokenstorm sets itself; a fixed claim may not name them.
const RESERVED: [&str; 4] = ["iat", "exp", "jti", "sub"];

/// A fixed claim's value: JSON, with templates for strings.
#[derive(Debug, Clone)]
enum Claim {
    Text(TokenTemplate),
    /// A string that was exactly one numeric placeholder.
    Number(Placeholder),
    Fixed(Value),
    Array(Vec<Claim>),
    Object(Vec<(String, Claim)>),
}

/// Makes the JWTs of a run.
#[derive(Debug)]
pub struct JwtIssuer {
    key: JwsKey,
    /// The encoded header (the same for every token).
    header: String,
    sub: TokenTemplate,
    claims: Vec<(String, Claim)>,
    lifetime_s: u64,
}

/// A refused setting: the field (under [`FIELD`]) and the problem.
pub type JwtError = (String, String);

fn claim(at: &str, v: &toml::Value) -> Result<Claim, JwtError> {
    Ok(match v {
        toml::Value::String(s) => {
            let t = TokenTemplate::parse(s)
                .map_err(|e| (at.to_string(), format!("{e} (got {s:?})")))?;
            match t.only_placeholder() {
                Some(p @ (Placeholder::UnixS | Placeholder::UnixMs | Placeholder::Seq)) => {
                    Claim::Number(p)
                }
                _ => Claim::Text(t),
            }
        }
        toml::Value::Integer(i) => Claim::Fixed(Value::from(*i)),
        toml::Value::Float(f) => Claim::Fixed(
            serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .ok_or_else(|| (at.to_string(), format!("{f} is not a JSON number")))?,
        ),
        toml::Value::Boolean(b) => Claim::Fixed(Value::Bool(*b)),
        toml::Value::Datetime(d) => Claim::Fixed(Value::String(d.to_string())),
        toml::Value::Array(a) => Claim::Array(
            a.iter()
                .enumerate()
                .map(|(i, v)| claim(&format!("{at}[{i}]"), v))
                .collect::<Result<_, _>>()?,
        ),
        toml::Value::Table(t) => Claim::Object(object(at, t)?),
    })
}

fn object(at: &str, t: &toml::Table) -> Result<Vec<(String, Claim)>, JwtError> {
    t.iter()
        .map(|(k, v)| Ok((k.clone(), claim(&format!("{at}.{k}"), v)?)))
        .collect()
}

impl Claim {
    fn render(&self, v: &Values<'_>) -> Value {
        match self {
            Self::Text(t) => Value::String(t.render(v)),
            Self::Number(Placeholder::UnixS) => Value::from(v.issued_unix_ms / 1000),
            Self::Number(Placeholder::UnixMs) => Value::from(v.issued_unix_ms),
            Self::Number(_) => Value::from(v.seq),
            Self::Fixed(x) => x.clone(),
            Self::Array(a) => Value::Array(a.iter().map(|c| c.render(v)).collect()),
            Self::Object(o) => Value::Object(render_all(o, v)),
        }
    }
}

fn render_all(o: &[(String, Claim)], v: &Values<'_>) -> Map<String, Value> {
    o.iter().map(|(k, c)| (k.clone(), c.render(v))).collect()
}

impl JwtIssuer {
    /// `sub` and `claims` as the scenario writes them; `lifetime_s` is `exp - iat`.
    pub fn new(
        key: JwsKey,
        kid: &str,
        sub: &str,
        claims: &toml::Table,
        lifetime_s: u64,
    ) -> Result<Self, JwtError> {
        let at = |f: &str| format!("{FIELD}.{f}");
        if let Some(k) = claims.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err((
                at(&format!("claims.{k}")),
                "is set by tokenstorm: iat is the issue time, exp = iat + devices.token_max_age_s, jti is fresh per token, sub comes from devices.jwt.sub".into(),
            ));
        }
        let sub =
            TokenTemplate::parse(sub).map_err(|e| (at("sub"), format!("{e} (got {sub:?})")))?;
        let claims = object(&at("claims"), claims)?;
        let mut header = Map::new();
        header.insert("alg".into(), key.alg().as_str().into());
        header.insert("typ".into(), "JWT".into());
        if !kid.is_empty() {
            header.insert("kid".into(), kid.into());
        }
        let header = b64url(Value::Object(header).to_string().as_bytes());
        Ok(Self {
            key,
            header,
            sub,
            claims,
            lifetime_s,
        })
    }

    /// The claims of the token for `v`, as JSON text.
    fn claims_json(&self, v: &Values<'_>) -> String {
        let iat = v.issued_unix_ms / 1000;
        let mut m = render_all(&self.claims, v);
        m.insert("iat".into(), iat.into());
        m.insert("exp".into(), (iat + self.lifetime_s).into());
        m.insert("jti".into(), uuid_v4(v.uuid).into());
        m.insert("sub".into(), self.sub.render(v).into());
        Value::Object(m).to_string()
    }

    /// The signed compact JWT for `v` (`v.uuid` is its `jti`).
    pub fn render(&self, v: &Values<'_>) -> String {
        let input = format!("{}.{}", self.header, b64url(self.claims_json(v).as_bytes()));
        let sig = self.key.sign(input.as_bytes());
        format!("{input}.{sig}")
    }

    /// Checks that the longest token (the last device, the longest client id, 13-digit times) fits the
    /// custom-auth token limit.
    pub fn check_length(&self, devices: u32, longest_client_id: &str) -> Result<(), JwtError> {
        let v = Values {
            device: devices.saturating_sub(1),
            client_id: longest_client_id,
            issued_unix_ms: 9_999_999_999_999,
            nonce: u64::MAX,
            uuid: u128::MAX,
            seq: u32::MAX,
        };
        let chars = self.header.len()
            + 1
            + self.claims_json(&v).len().div_ceil(3) * 4
            + 1
            + self.key.signature_chars();
        if chars > MAX_TOKEN_CHARS {
            return Err((
                format!("{FIELD}.claims"),
                format!(
                    "a JWT can be {chars} chars, over the custom-auth token limit of {MAX_TOKEN_CHARS}"
                ),
            ));
        }
        Ok(())
    }

    /// How the report shows the scheme (no token, no key): `JWT RS256 sub={client_id} claims=[aud, iss]`.
    pub fn describe(&self) -> String {
        let names: Vec<&str> = self.claims.iter().map(|(k, _)| k.as_str()).collect();
        format!(
            "JWT {} sub={} claims=[{}]",
            self.key.alg().as_str(),
            self.sub,
            names.join(", ")
        )
    }
}

#[cfg(test)]
mod tests;
