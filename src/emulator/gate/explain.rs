//! The gate's decision as a checklist: runs the gate's own functions ([`read_username`], the query parser,
//! [`check_traced`]) with a step recorder, then turns each recorded step into a line saying what was found,
//! how it was decoded, which authorizer and key judged it, and the first rule that failed with what to change.
//! `tokenstorm explain` prints it; the emulator keeps one per refusal (`GET /refusals`). Because the steps are
//! recorded by the functions that decide, the checklist's verdict is the gate's verdict.

use hyper::HeaderMap;
use serde::Serialize;

use super::advice;
use super::{Found, GateStep, RequestCredentials, check_traced, read_username};
use crate::contract::GateRejection;
use crate::contract::authorizer::{AuthorizerSpec, AuthorizerStatus};
use crate::contract::limits::MAX_TOKEN_CHARS;
use crate::report::redact::shorten;
use crate::token::KeyStep;
use crate::token::verify::MAX_SIGNATURE_CHARS;
use crate::wire::http::{AUTHORIZER_NAME, SIGNATURE};
use crate::wire::query::parse_pairs_with;
use crate::wire::settings::{Duplicates, GateSettings};

/// What a device presents to the gate, as raw as it travels: HTTP headers (HTTPS, WebSocket upgrade), the URL's
/// query string without `?`, the MQTT CONNECT username.
#[derive(Debug, Clone, Copy)]
pub struct Presented<'a> {
    pub headers: &'a HeaderMap,
    pub query: Option<&'a str>,
    pub username: Option<&'a str>,
}

/// How a checklist line went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// A fact that decides nothing (e.g. no authorizer named: the default is used).
    Info,
    /// Not checked (e.g. a key after the one that accepted).
    Skip,
}

impl Status {
    pub const fn mark(self) -> &'static str {
        match self {
            Self::Pass => "ok",
            Self::Fail => "FAIL",
            Self::Info => "--",
            Self::Skip => "skip",
        }
    }
}

/// One checklist line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub status: Status,
    /// What was checked: `username`, `authorizer_name`, `authorizer`, `token`, `signature`, `token_length`,
    /// `signature_decoding`, `key`.
    pub check: &'static str,
    pub text: String,
}

/// The gate's checklist and verdict for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateExplanation {
    pub items: Vec<Item>,
    /// The first rule that failed (`tokenstorm_gate_rejections_total`'s `reason`); `None`: the gate passes it.
    #[serde(serialize_with = "rule_name")]
    pub rule: Option<GateRejection>,
    /// What to change, when refused.
    pub fix: Option<String>,
    /// The authorizer that judged it, when one was chosen.
    pub authorizer: Option<String>,
}

fn rule_name<S: serde::Serializer>(r: &Option<GateRejection>, s: S) -> Result<S::Ok, S::Error> {
    match r {
        Some(r) => s.serialize_str(r.as_str()),
        None => s.serialize_none(),
    }
}

/// Runs the gate on what a device presents, recording every step, and explains it.
pub fn explain_gate(
    authorizers: &[AuthorizerSpec],
    default: Option<usize>,
    settings: &GateSettings,
    p: &Presented<'_>,
) -> GateExplanation {
    let mut steps = Vec::new();
    let result = gate(authorizers, default, settings, p, &mut steps);
    let cx = Context {
        authorizers,
        settings,
        p,
    };
    cx.explain(&steps, result)
}

/// The gate as the emulator's front ends run it: the username first (a second `?` refuses before anything
/// else), then the query string's pairs, then [`check_traced`].
fn gate(
    authorizers: &[AuthorizerSpec],
    default: Option<usize>,
    settings: &GateSettings,
    p: &Presented<'_>,
    steps: &mut Vec<GateStep>,
) -> Result<Option<usize>, GateRejection> {
    let username = match p.username {
        Some(u) => Some(read_username(u, settings, steps)?),
        None => None,
    };
    let query = p
        .query
        .map(|q| parse_pairs_with(q, settings))
        .unwrap_or_default();
    let creds = RequestCredentials {
        headers: p.headers,
        query: &query,
        username: username.as_ref().map_or(&[], |u| u.pairs.as_slice()),
        settings: *settings,
    };
    check_traced(authorizers, default, &creds, steps).map(|(_, pass)| pass.key_index)
}

struct Context<'a> {
    authorizers: &'a [AuthorizerSpec],
    settings: &'a GateSettings,
    p: &'a Presented<'a>,
}

impl Context<'_> {
    fn explain(
        &self,
        steps: &[GateStep],
        result: Result<Option<usize>, GateRejection>,
    ) -> GateExplanation {
        let mut items = Vec::new();
        let mut chosen: Option<&AuthorizerSpec> = None;
        let mut signature = String::new();
        for step in steps {
            match step {
                GateStep::Authorizer { index, .. } => {
                    chosen = index.and_then(|i| self.authorizers.get(i));
                }
                GateStep::Lookup {
                    name,
                    found,
                    chosen: Some(i),
                    ..
                } if name == SIGNATURE => {
                    signature.clone_from(&found[*i].value);
                }
                _ => {}
            }
            items.push(self.item(step, chosen, &signature, result.is_ok()));
        }
        let rule = result.err();
        if let Some(rule) = rule {
            items.push(Item {
                status: Status::Fail,
                check: "verdict",
                text: format!(
                    "refused at the gate: {} (the authorizer is not invoked)",
                    rule.as_str()
                ),
            });
        }
        let names: Vec<&str> = self.authorizers.iter().map(|a| a.name.as_str()).collect();
        GateExplanation {
            items,
            rule,
            fix: rule.map(|r| advice::fix(r, chosen.map(|a| a.token_key_name.as_str()), &names)),
            authorizer: chosen.map(|a| a.name.clone()),
        }
    }

    fn item(
        &self,
        step: &GateStep,
        spec: Option<&AuthorizerSpec>,
        sig: &str,
        passed: bool,
    ) -> Item {
        let line = |status, check, text: String| Item {
            status,
            check,
            text,
        };
        match step {
            GateStep::Username { free_text, query, refused } => match (refused, query) {
                (true, _) => line(
                    Status::Fail,
                    "username",
                    format!(
                        "the MQTT username holds a second '?' ({} in all; gate.username_query = {}): AWS refuses it \
                         before the authorizer",
                        self.p.username.map_or(0, |u| u.matches('?').count()),
                        self.settings.username_query.as_str()
                    ),
                ),
                (false, None) => line(
                    Status::Info,
                    "username",
                    format!("the MQTT username {free_text:?} has no '?': it carries no parameters"),
                ),
                (false, Some(q)) => line(
                    Status::Pass,
                    "username",
                    format!(
                        "the MQTT username's free text is {free_text:?}; its query ({} characters) starts at the {} '?' \
                         and is split on '&', each value percent-decoded",
                        q.len(),
                        match self.settings.username_query {
                            crate::wire::settings::UsernameQuery::FirstQuestionMark => "first",
                            crate::wire::settings::UsernameQuery::LastQuestionMark => "last",
                        }
                    ),
                ),
            },
            GateStep::Lookup { name, found, chosen, duplicates, refused } => {
                self.lookup(name, found, *chosen, *duplicates, *refused, spec)
            }
            GateStep::Authorizer { named, index } => self.authorizer(named.as_deref(), *index),
            GateStep::SigningDisabled => line(
                Status::Info,
                "signature",
                "signingDisabled is true: no signature check; the function gets signatureVerified=false".into(),
            ),
            GateStep::TokenLength { chars } => line(
                if *chars > MAX_TOKEN_CHARS { Status::Fail } else { Status::Pass },
                "token_length",
                format!("the token is {chars} characters (at most {MAX_TOKEN_CHARS})"),
            ),
            GateStep::Key(k) => self.key(k, spec, sig, passed),
        }
    }

    fn what(name: &str, spec: Option<&AuthorizerSpec>) -> (&'static str, String) {
        match name {
            AUTHORIZER_NAME => (
                "authorizer_name",
                format!("the authorizer name ({AUTHORIZER_NAME})"),
            ),
            SIGNATURE => ("signature", format!("the signature ({SIGNATURE})")),
            _ if spec.is_some_and(|s| s.token_key_name == name) => (
                "token",
                format!("the token ({name:?}, the authorizer's tokenKeyName)"),
            ),
            _ => ("parameter", format!("parameter {name:?}")),
        }
    }

    fn lookup(
        &self,
        name: &str,
        found: &[Found],
        chosen: Option<usize>,
        duplicates: Duplicates,
        refused: bool,
        spec: Option<&AuthorizerSpec>,
    ) -> Item {
        let (check, what) = Self::what(name, spec);
        let needed = check != "authorizer_name" && spec.is_some_and(|s| !s.signing_disabled);
        let (status, text) = if found.is_empty() {
            let why = self.near_misses(name);
            match (check, needed) {
                ("authorizer_name", _) => (
                    Status::Info,
                    format!("{what}: not given; the default authorizer is used"),
                ),
                (_, true) => (
                    Status::Fail,
                    format!(
                        "{what}: not found in any header, query parameter or username parameter{why}"
                    ),
                ),
                _ => (Status::Info, format!("{what}: not given")),
            }
        } else {
            let places: Vec<String> = found
                .iter()
                .map(|f| format!("{} {:?} = {}", f.place.as_str(), f.key, self.show(check, f)))
                .collect();
            let mut text = format!("{what}: found as {}", places.join(", then "));
            if found.len() > 1 {
                text += &match (refused, chosen) {
                    (true, _) => {
                        format!("; given {} times and gate.duplicates = reject", found.len())
                    }
                    (false, Some(i)) => format!(
                        "; gate.duplicates = {}: the {} one counts",
                        duplicates.as_str(),
                        ordinal(i)
                    ),
                    (false, None) => String::new(),
                };
            }
            let empty =
                chosen.is_some_and(|i| found[i].value.is_empty()) && check == "signature" && needed;
            if empty {
                text += "; it is empty";
            }
            (
                if refused || empty {
                    Status::Fail
                } else {
                    Status::Pass
                },
                text,
            )
        };
        Item {
            status,
            check,
            text,
        }
    }

    /// A value as shown: names in full, tokens and signatures shortened (as everywhere tokenstorm writes them),
    /// with how a query value was decoded when that changed it.
    fn show(&self, check: &str, f: &Found) -> String {
        let value = if check == "authorizer_name" || check == "parameter" {
            format!("{:?}", f.value)
        } else {
            shorten(&f.value)
        };
        let raw = match f.place {
            super::Place::Query => self.p.query,
            super::Place::Username => self
                .p
                .username
                .and_then(|u| u.split_once('?').map(|(_, q)| q)),
            super::Place::Header => None,
        };
        let decoded = raw.is_some_and(|r| r.contains(&format!("{}={}", f.key, f.value)));
        let note = match f.place {
            super::Place::Header => "",
            _ if decoded => " (sent as is)",
            _ => " (percent-decoded)",
        };
        format!("{value}{note}")
    }

    /// Parameters whose names come close to `name`: another case, or empty.
    fn near_misses(&self, name: &str) -> String {
        let mut keys: Vec<String> = Vec::new();
        let pairs = self
            .p
            .query
            .into_iter()
            .chain(
                self.p
                    .username
                    .and_then(|u| u.split_once('?').map(|(_, q)| q)),
            )
            .flat_map(|q| q.split('&'))
            .filter_map(|kv| kv.split('=').next());
        for k in pairs {
            if k != name && k.eq_ignore_ascii_case(name) && !keys.iter().any(|x| x == k) {
                keys.push(k.to_string());
            }
        }
        if keys.is_empty() {
            String::new()
        } else {
            format!(
                " (a parameter {:?} differs only in case; gate.query_names = {} compares names exactly)",
                keys[0],
                self.settings.query_names.as_str()
            )
        }
    }

    fn authorizer(&self, named: Option<&str>, index: Option<usize>) -> Item {
        let spec = index.and_then(|i| self.authorizers.get(i));
        let (status, text) = match (named, spec) {
            (Some(n), None) => (
                Status::Fail,
                format!("the request names authorizer {n:?}, which is not configured"),
            ),
            (None, None) => (
                Status::Fail,
                "the request names no authorizer, and there is no default authorizer".into(),
            ),
            (_, Some(a)) => {
                let how = if named.is_some() {
                    "named by the request"
                } else {
                    "the default, as the request names none"
                };
                let keys: Vec<String> = a
                    .signing_keys
                    .iter()
                    .map(|(n, k)| format!("{n:?} (rsa-{})", k.bits()))
                    .collect();
                if a.status == AuthorizerStatus::Inactive {
                    (
                        Status::Fail,
                        format!("authorizer {:?} ({how}) is INACTIVE", a.name),
                    )
                } else {
                    (
                        Status::Pass,
                        format!(
                            "authorizer {:?} ({how}): ACTIVE, tokenKeyName {:?}, signing keys {}",
                            a.name,
                            a.token_key_name,
                            keys.join(", ")
                        ),
                    )
                }
            }
        };
        Item {
            status,
            check: "authorizer",
            text,
        }
    }

    fn key(&self, k: &KeyStep, spec: Option<&AuthorizerSpec>, sig: &str, passed: bool) -> Item {
        let key_name = |i: usize| {
            spec.and_then(|s| s.signing_keys.get(i)).map_or_else(
                || format!("#{i}"),
                |(n, k)| format!("{n:?} (rsa-{})", k.bits()),
            )
        };
        // A key that does not accept is a failure only when no other key did.
        let miss = if passed { Status::Skip } else { Status::Fail };
        let (status, check, text) = match *k {
            KeyStep::Decoded(Ok(bytes)) => (
                Status::Pass,
                "signature_decoding",
                format!(
                    "the signature is base64 ({} characters, at most {MAX_SIGNATURE_CHARS}) of {bytes} bytes",
                    sig.len()
                ),
            ),
            KeyStep::Decoded(Err(crate::token::SignatureError::TooLong)) => (
                Status::Fail,
                "signature_decoding",
                format!(
                    "the signature is {} characters, over AWS's {MAX_SIGNATURE_CHARS}",
                    sig.len()
                ),
            ),
            KeyStep::Decoded(Err(_)) => (
                Status::Fail,
                "signature_decoding",
                format!(
                    "the signature is not base64: {}",
                    advice::not_base64(sig, self.settings)
                ),
            ),
            KeyStep::WrongLength { index, got, want } => (
                miss,
                "key",
                format!(
                    "key {}: wrong length: {}",
                    key_name(index),
                    advice::wrong_length(got, want)
                ),
            ),
            KeyStep::Mismatch { index } => (
                miss,
                "key",
                format!(
                    "key {}: the signature does not match the token (another key, other bytes signed, or another \
                     hash or padding)",
                    key_name(index)
                ),
            ),
            KeyStep::Accepted { index } => (
                Status::Pass,
                "key",
                format!("key {}: the signature matches the token", key_name(index)),
            ),
        };
        Item {
            status,
            check,
            text,
        }
    }
}

fn ordinal(i: usize) -> String {
    match i {
        0 => "first".into(),
        1 => "second".into(),
        2 => "third".into(),
        n => format!("{}th", n + 1),
    }
}

/// The one-line summary of a refusal (`rule: first failing line`), for logs and run reports.
pub fn summary(e: &GateExplanation) -> Option<String> {
    let rule = e.rule?;
    let first = e.items.iter().find(|i| i.status == Status::Fail)?;
    Some(format!("{}: {}", rule.as_str(), first.text))
}
