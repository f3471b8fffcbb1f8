//! The signature gate (spec §1–§2): which authorizer a request names, where its credentials are, and whether
//! its token signature verifies. Everything here is pure; a rejection means the authorizer is never invoked.
//! Each function has a `_traced` form that records its steps ([`trace`]) for `tokenstorm explain`.

use hyper::HeaderMap;

use crate::contract::GateRejection;
use crate::contract::authorizer::{AuthorizerSpec, AuthorizerStatus};
use crate::token::verify_token_each;
use crate::wire::http::{AUTHORIZER_NAME, SIGNATURE};
use crate::wire::mqtt::{ParsedUsername, parse_username_with};
use crate::wire::settings::{Duplicates, GateSettings};

pub mod advice;
pub mod explain;
mod trace;
pub use explain::{GateExplanation, Presented, explain_gate};
pub use trace::{Found, GateStep, GateTrace, Place};

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

impl<'a> RequestCredentials<'a> {
    /// Every value of parameter `name`: header lines (names are case-insensitive, RFC 9110), then query
    /// parameters, then username parameters (names compared as `settings.query_names` says); then the one that
    /// counts under `settings.duplicates`. Header bytes that are not UTF-8 are replaced, never a panic.
    pub fn get(&self, name: &str) -> Result<Option<String>, GateRejection> {
        self.get_traced(name, &mut ())
    }

    /// [`Self::get`], recording every value found and the one that counts.
    pub fn get_traced<T: GateTrace + ?Sized>(
        &self,
        name: &str,
        trace: &mut T,
    ) -> Result<Option<String>, GateRejection> {
        let duplicates = self.settings.duplicates;
        if !trace.enabled() {
            return choose(self.candidates(name), duplicates).map(|c| c.map(|(_, _, v)| v));
        }
        let found: Vec<Found> = self
            .candidates(name)
            .map(|(place, key, value)| Found {
                place,
                // Header names are case-insensitive; the server reads them in lower case.
                key: match place {
                    Place::Header => key.to_ascii_lowercase(),
                    _ => key.to_string(),
                },
                value,
            })
            .collect();
        let chosen = choose(0..found.len(), duplicates);
        trace.record(GateStep::Lookup {
            name: name.to_string(),
            chosen: chosen.ok().flatten(),
            refused: chosen.is_err(),
            found: found.clone(),
            duplicates,
        });
        chosen.map(|c| c.map(|i| found[i].value.clone()))
    }

    /// Every value of `name` with where it was found and the name it was written under, in the gate's order.
    fn candidates<'n>(
        &'n self,
        name: &'n str,
    ) -> impl Iterator<Item = (Place, &'n str, String)> + 'n {
        let headers = self.headers.get_all(name).iter().map(move |v| {
            (
                Place::Header,
                name,
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        });
        let pairs = |place: Place, pairs: &'a [(String, String)]| {
            pairs
                .iter()
                .filter(|(k, _)| self.settings.names_match(k, name))
                .map(move |(k, v)| (place, k.as_str(), v.clone()))
        };
        headers
            .chain(pairs(Place::Query, self.query))
            .chain(pairs(Place::Username, self.username))
    }
}

/// The value that counts among `values` under `duplicates`.
fn choose<T>(
    mut values: impl Iterator<Item = T>,
    duplicates: Duplicates,
) -> Result<Option<T>, GateRejection> {
    let first = values.next();
    match duplicates {
        Duplicates::First => Ok(first),
        Duplicates::Last => Ok(values.last().or(first)),
        Duplicates::Reject if values.next().is_some() => Err(GateRejection::DuplicatedParameter),
        Duplicates::Reject => Ok(first),
    }
}

/// Reads a CONNECT username as `settings.username_query` says; a second `?` (under `first_question_mark`) is
/// refused before the gate proper (spec §1), as `malformed_username`.
pub fn read_username<T: GateTrace + ?Sized>(
    username: &str,
    settings: &GateSettings,
    trace: &mut T,
) -> Result<ParsedUsername, GateRejection> {
    let parsed = parse_username_with(username, settings);
    if trace.enabled() {
        trace.record(GateStep::Username {
            free_text: parsed
                .as_ref()
                .map_or_else(|_| username.to_string(), |p| p.free_text.clone()),
            query: parsed.as_ref().ok().and_then(|p| p.query.clone()),
            refused: parsed.is_err(),
        });
    }
    parsed.map_err(|_| GateRejection::MalformedUsername)
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
    check_traced(authorizers, default, creds, &mut ())
}

/// [`check`], recording each step in `trace`.
pub fn check_traced<T: GateTrace + ?Sized>(
    authorizers: &[AuthorizerSpec],
    default: Option<usize>,
    creds: &RequestCredentials<'_>,
    trace: &mut T,
) -> Result<(usize, GatePass), GateRejection> {
    let named = creds.get_traced(AUTHORIZER_NAME, trace)?;
    let selected = select_authorizer(authorizers, default, named.as_deref());
    if trace.enabled() {
        let index = match (&named, selected) {
            (_, Ok(i)) => Some(i),
            (Some(n), Err(_)) => authorizers.iter().position(|a| &a.name == n),
            (None, Err(_)) => default,
        };
        trace.record(GateStep::Authorizer { named, index });
    }
    let index = selected?;
    let spec = &authorizers[index];
    let token = if spec.token_key_name.is_empty() {
        None
    } else {
        creds.get_traced(&spec.token_key_name, trace)?
    };
    let signature = creds.get_traced(SIGNATURE, trace)?;
    let pass = verify_traced(spec, token, signature, trace)?;
    Ok((index, pass))
}

/// The signature check proper, for one authorizer.
pub fn verify(
    spec: &AuthorizerSpec,
    token: Option<String>,
    signature: Option<String>,
) -> Result<GatePass, GateRejection> {
    verify_traced(spec, token, signature, &mut ())
}

/// [`verify`], recording the limits checked and each key's verdict in `trace`.
pub fn verify_traced<T: GateTrace + ?Sized>(
    spec: &AuthorizerSpec,
    token: Option<String>,
    signature: Option<String>,
    trace: &mut T,
) -> Result<GatePass, GateRejection> {
    if spec.signing_disabled {
        trace.record(GateStep::SigningDisabled);
        return Ok(GatePass {
            token,
            signature,
            signature_verified: false,
            key_index: None,
        });
    }
    let token = token.ok_or(GateRejection::MissingToken)?;
    let chars = token.chars().count();
    trace.record(GateStep::TokenLength { chars });
    if chars > MAX_TOKEN_CHARS {
        return Err(GateRejection::TokenTooLong);
    }
    let signature = signature
        .filter(|s| !s.is_empty())
        .ok_or(GateRejection::MissingSignature)?;
    let key_index = verify_token_each(
        spec.signing_keys.iter().map(|(_, k)| k),
        token.as_bytes(),
        &signature,
        |step| trace.record(GateStep::Key(step)),
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

#[cfg(test)]
mod explain_tests;
