//! The signature gate (spec §1–§2): which authorizer a request names, where its credentials are, and whether
//! its token signature verifies. Everything here is pure; a rejection means the authorizer is never invoked.

use hyper::HeaderMap;

use crate::contract::GateRejection;
use crate::contract::authorizer::{AuthorizerSpec, AuthorizerStatus};
use crate::token::verify_token;
use crate::wire::http::{AUTHORIZER_NAME, SIGNATURE};
use crate::wire::settings::{Duplicates, GateSettings};

use crate::contract::limits::MAX_TOKEN_CHARS;

/// Where a request's credentials come from: HTTP headers, decoded query pairs, and the decoded pairs of an MQTT
/// CONNECT username (spec §1). HTTPS has no username; plain MQTT has no headers or query; WebSocket has all three.
pub struct RequestCredentials<'a> {
    pub headers: &'a HeaderMap,
    /// Percent-decoded query pairs (`+` as `settings.query_plus` says), in order.
    pub query: &'a [(String, String)],
    /// Percent-decoded pairs of the CONNECT username's query (see `wire::mqtt::parse_username`).
    pub username: &'a [(String, String)],
    /// The unconfirmed behaviours: how names match and which of several values counts.
    pub settings: GateSettings,
}

impl RequestCredentials<'_> {
    /// Every value of parameter `name`: header lines (names are case-insensitive, RFC 9110), then query
    /// parameters, then username parameters (names compared as `settings.query_names` says); then the one that
    /// counts under `settings.duplicates`. Header bytes that are not UTF-8 are replaced, never a panic.
    pub fn get(&self, name: &str) -> Result<Option<String>, GateRejection> {
        let mut values = self
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .chain(
                self.query
                    .iter()
                    .chain(self.username)
                    .filter(|(k, _)| self.settings.names_match(k, name))
                    .map(|(_, v)| v.clone()),
            );
        let first = values.next();
        match self.settings.duplicates {
            Duplicates::First => Ok(first),
            Duplicates::Last => Ok(values.last().or(first)),
            Duplicates::Reject if values.next().is_some() => {
                Err(GateRejection::DuplicatedParameter)
            }
            Duplicates::Reject => Ok(first),
        }
    }
}

/// Picks the authorizer a request names (`x-amz-customauthorizer-name`) or the default one. Returns its index.
pub fn select_authorizer(
    authorizers: &[AuthorizerSpec],
    default: Option<usize>,
    named: Option<&str>,
) -> Result<usize, GateRejection> {
    let index = match named {
        Some(name) => authorizers
            .iter()
            .position(|a| a.name == name)
            .ok_or(GateRejection::UnknownAuthorizer)?,
        None => default.ok_or(GateRejection::NoDefaultAuthorizer)?,
    };
    match authorizers.get(index) {
        Some(a) if a.status == AuthorizerStatus::Active => Ok(index),
        Some(_) => Err(GateRejection::InactiveAuthorizer),
        None => Err(GateRejection::UnknownAuthorizer),
    }
}

/// What passed the gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatePass {
    /// The token, when present (with `signingDisabled` it may be absent).
    pub token: Option<String>,
    pub signature: Option<String>,
    /// `signatureVerified` for the event: false only when signing is disabled.
    pub signature_verified: bool,
    /// Which `tokenSigningPublicKeys` entry accepted the signature.
    pub key_index: Option<usize>,
}

/// Reads the authorizer name, token and signature and applies the gate.
pub fn check(
    authorizers: &[AuthorizerSpec],
    default: Option<usize>,
    creds: &RequestCredentials<'_>,
) -> Result<(usize, GatePass), GateRejection> {
    let named = creds.get(AUTHORIZER_NAME)?;
    let index = select_authorizer(authorizers, default, named.as_deref())?;
    let spec = &authorizers[index];
    let token = if spec.token_key_name.is_empty() {
        None
    } else {
        creds.get(&spec.token_key_name)?
    };
    let signature = creds.get(SIGNATURE)?;
    let pass = verify(spec, token, signature)?;
    Ok((index, pass))
}

/// The signature check proper, for one authorizer.
pub fn verify(
    spec: &AuthorizerSpec,
    token: Option<String>,
    signature: Option<String>,
) -> Result<GatePass, GateRejection> {
    if spec.signing_disabled {
        return Ok(GatePass {
            token,
            signature,
            signature_verified: false,
            key_index: None,
        });
    }
    let token = token.ok_or(GateRejection::MissingToken)?;
    if token.chars().count() > MAX_TOKEN_CHARS {
        return Err(GateRejection::TokenTooLong);
    }
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or(GateRejection::MissingSignature)?;
    let key_index = verify_token(
        spec.signing_keys.iter().map(|(_, k)| k),
        token.as_bytes(),
        &signature,
    )?;
    Ok(GatePass {
        token: Some(token),
        signature: Some(signature),
        signature_verified: true,
        key_index: Some(key_index),
    })
}

/// For the generator's unit tests: the gate's verdict on what a request or CONNECT carries, in the oracle's terms.
#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::attempt::oracle::GateVerdict;
    use crate::contract::authorizer::{FunctionBehaviour, FunctionSpec};

    /// `MyCustomAuthorizer` (token key `X-My-App-custom-key`, the unit-test signing key) and its INACTIVE twin
    /// `Off`; the first is the default.
    pub(crate) fn authorizers() -> Vec<AuthorizerSpec> {
        let active = AuthorizerSpec {
            name: "MyCustomAuthorizer".into(),
            token_key_name: "X-My-App-custom-key".into(),
            signing_keys: vec![(
                "k".into(),
                crate::attempt::test_keys::signing().public_key(),
            )],
            status: AuthorizerStatus::Active,
            signing_disabled: false,
            enable_caching_for_http: false,
            function: FunctionSpec::in_process(FunctionBehaviour::Deny, std::time::Duration::ZERO),
        };
        let inactive = AuthorizerSpec {
            name: "Off".into(),
            status: AuthorizerStatus::Inactive,
            ..active.clone()
        };
        vec![active, inactive]
    }

    pub(crate) fn verdict(creds: &RequestCredentials<'_>) -> GateVerdict {
        match check(&authorizers(), Some(0), creds) {
            Ok(_) => GateVerdict::Passes,
            Err(r) => GateVerdict::Refused(r),
        }
    }

    /// Every combination of the unconfirmed settings.
    pub(crate) fn all_settings() -> Vec<GateSettings> {
        GateSettings::all()
    }
}

#[cfg(test)]
mod tests;
