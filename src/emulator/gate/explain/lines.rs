//! One checklist line per gate step: what was found where and how it was decoded, which authorizer, the limits,
//! the signature's decoding and each key's verdict. Reads only what the gate recorded (and, for how a query
//! value was decoded, the raw text the device sent).

use super::super::advice;
use super::super::{Found, GateStep, Place};
use super::{Context, Item, Status};
use crate::contract::authorizer::{AuthorizerSpec, AuthorizerStatus};
use crate::contract::limits::MAX_TOKEN_CHARS;
use crate::report::redact::shorten;
use crate::token::KeyStep;
use crate::token::verify::MAX_SIGNATURE_CHARS;
use crate::wire::http::{AUTHORIZER_NAME, SIGNATURE};
use crate::wire::settings::Duplicates;

impl Context<'_> {
    pub(super) fn item(
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
            Place::Query => self.p.query,
            Place::Username => self
                .p
                .username
                .and_then(|u| u.split_once('?').map(|(_, q)| q)),
            Place::Header => None,
        };
        let decoded = raw.is_some_and(|r| r.contains(&format!("{}={}", f.key, f.value)));
        let note = match f.place {
            Place::Header => "",
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
