//! The gate's decision as a checklist: runs the gate's own functions ([`read_username`], the query parser,
//! [`check_traced`]) with a step recorder, then turns each recorded step into a line saying what was found,
//! how it was decoded, which authorizer and key judged it, and the first rule that failed with what to change.
//! `tokenstorm explain` prints it; the emulator keeps one per refusal (`GET /refusals`). Because the steps are
//! recorded by the functions that decide, the checklist's verdict is the gate's verdict.

use hyper::HeaderMap;
use serde::Serialize;

use super::advice;
use super::{GateStep, RequestCredentials, check_traced, read_username};
use crate::contract::GateRejection;
use crate::contract::authorizer::AuthorizerSpec;
use crate::wire::http::SIGNATURE;
use crate::wire::query::parse_pairs_with;
use crate::wire::settings::GateSettings;

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

/// What the lines are written against ([`lines`] writes one per step).
struct Context<'a> {
    authorizers: &'a [AuthorizerSpec],
    settings: &'a GateSettings,
    p: &'a Presented<'a>,
}

mod lines;

impl Context<'_> {
    /// The registered keys the gate did not try once the signature was decoded (or failed to decode): after the
    /// one that accepted it, or all of them for an undecodable signature. Every key gets its line.
    fn untried(steps: &[GateStep], spec: Option<&AuthorizerSpec>) -> Vec<Item> {
        use crate::token::KeyStep;
        let mut decoded = None;
        let mut tried = Vec::new();
        for step in steps {
            match step {
                GateStep::Key(KeyStep::Decoded(d)) => decoded = Some(d.is_ok()),
                GateStep::Key(
                    KeyStep::Accepted { index }
                    | KeyStep::Mismatch { index }
                    | KeyStep::WrongLength { index, .. },
                ) => tried.push(*index),
                _ => {}
            }
        }
        let (Some(decoded), Some(spec)) = (decoded, spec) else {
            return Vec::new();
        };
        let why = if decoded {
            "an earlier key accepted the signature"
        } else {
            "the signature does not decode"
        };
        spec.signing_keys
            .iter()
            .enumerate()
            .filter(|(i, _)| !tried.contains(i))
            .map(|(_, (name, key))| Item {
                status: Status::Skip,
                check: "key",
                text: format!("key {name:?} (rsa-{}): not tried ({why})", key.bits()),
            })
            .collect()
    }
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
        items.extend(Self::untried(steps, chosen));
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
}

/// The one-line summary of a refusal (`rule: first failing line`), for logs and run reports.
pub fn summary(e: &GateExplanation) -> Option<String> {
    let rule = e.rule?;
    let first = e.items.iter().find(|i| i.status == Status::Fail)?;
    Some(format!("{}: {}", rule.as_str(), first.text))
}
