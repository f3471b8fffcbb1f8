//! `[devices.jwt]`: how `devices.token = "jwt"` tokens are made (`crate::attempt::jwt`). Checked and the key
//! loaded when the plan is resolved (`crate::scenario::token_sources`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JwtSection {
    /// The JWS algorithm: "RS256" or "ES256".
    pub alg: String,
    /// The JWT signing key (PEM; RSA for RS256, EC P-256 for ES256), relative to the scenario file. Not the
    /// custom-auth signing key, which signs the whole JWT afterwards.
    pub key_file: String,
    /// The header's `kid`; empty: no `kid`.
    pub kid: String,
    /// The `sub` claim, a token template (`{device}`, `{client_id}`, ...).
    pub sub: String,
    /// Fixed claims; strings may use the template placeholders.
    pub claims: toml::Table,
}

impl Default for JwtSection {
    fn default() -> Self {
        Self {
            alg: "RS256".into(),
            key_file: String::new(),
            kid: String::new(),
            sub: "{client_id}".into(),
            claims: toml::Table::new(),
        }
    }
}

impl JwtSection {
    /// Left out of the resolved scenario when untouched (the other schemes), so their reports are unchanged.
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}
