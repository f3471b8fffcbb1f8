//! The library entry points of the cargo-fuzz targets in `fuzz/fuzz_targets/` (each target is one line calling
//! one of these), also run over the committed corpus by `cargo test` so no nightly toolchain is needed there.
//! Each takes arbitrary bytes, builds the fuzz mode's `arbitrary` types from them, drives one of our parsers,
//! and panics only when a property breaks (that is how libFuzzer learns of a finding).

use std::sync::OnceLock;
use std::time::Duration;

use arbitrary::{Arbitrary, Unstructured};
use bytes::BytesMut;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};

use super::case::{Credentials, HttpCase, Level, Username};
use super::render::connect_packet;
use super::target::Target;
use crate::contract::authorizer::{
    AuthorizerSpec, AuthorizerStatus, FunctionBehaviour, FunctionSpec,
};
use crate::emulator::gate::{self, RequestCredentials};
use crate::emulator::mqtt::codec::{self, Inbound};
use crate::token::verify::{verify_raw, verify_reference};
use crate::token::{PrivateKey, PublicKey, sign_token, verify_token};
use crate::wire::mqtt::{parse_username, parse_username_with};
use crate::wire::query::parse_pairs_with;
use crate::wire::settings::{GateSettings, UsernameQuery};

/// The names and keys every target uses.
pub struct Fixture {
    pub target: Target,
    pub authorizers: Vec<AuthorizerSpec>,
    pub key: &'static PrivateKey,
    pub public: PublicKey,
}

/// The fixed fixture (the committed throwaway fuzz key, authorizer `FuzzAuthorizer`, token key `x-token`).
pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        static KEY: OnceLock<PrivateKey> = OnceLock::new();
        // A throwaway key (never a real device's): the fuzz emulator trusts it and valid prefixes use it.
        let key = KEY.get_or_init(|| {
            PrivateKey::from_pem(include_str!("testdata/fuzz_key.pem"), "fuzz key")
                .expect("the committed fuzz key parses")
        });
        let public = key.public_key();
        let target = Target {
            authorizer: "FuzzAuthorizer".into(),
            token_key_name: "x-token".into(),
            host: crate::contract::transport::DEFAULT_ENDPOINT.into(),
        };
        let authorizers = vec![AuthorizerSpec {
            name: target.authorizer.clone(),
            token_key_name: target.token_key_name.clone(),
            signing_keys: vec![("fuzz".into(), public.clone())],
            status: AuthorizerStatus::Active,
            signing_disabled: false,
            enable_caching_for_http: false,
            function: FunctionSpec::in_process(FunctionBehaviour::default_allow(), Duration::ZERO),
        }];
        Fixture {
            target,
            authorizers,
            key,
            public,
        }
    })
}

/// The gate settings an input is judged under: one of the 48 combinations of [`GateSettings::all`], picked by
/// the input's byte sum (so the corpus keeps its meaning and every combination gets inputs).
pub fn settings_of(data: &[u8]) -> GateSettings {
    let all = GateSettings::all();
    let pick = data
        .iter()
        .fold(0usize, |a, &b| a.wrapping_add(usize::from(b)));
    all[pick % all.len()]
}

/// Credential extraction from an HTTP request (headers, query) and the gate, under any of the gate settings:
/// whatever the request, a pass means the signature verifies for the configured key.
pub fn credentials(data: &[u8]) {
    let f = fixture();
    let settings = settings_of(data);
    let mut u = Unstructured::new(data);
    let Ok(case) = HttpCase::arbitrary(&mut u) else {
        return;
    };
    let mut headers = HeaderMap::new();
    let mut query_text = String::new();
    for (k, v) in &case.query {
        query_text.push_str(&format!("{k}={v}&"));
    }
    let pairs = credential_pairs(&case.credentials);
    for (k, v) in &pairs {
        match case.credentials.placement {
            super::case::Placement::Query => query_text.push_str(&format!("{k}={v}&")),
            _ => insert(&mut headers, k.as_bytes(), v.as_bytes()),
        }
    }
    for (k, v) in &case.headers {
        insert(&mut headers, k.as_bytes(), v);
    }
    let query = parse_pairs_with(&query_text, &settings);
    let creds = RequestCredentials {
        headers: &headers,
        query: &query,
        username: &[],
        settings,
    };
    if let Ok((_, pass)) = gate::check(&f.authorizers, Some(0), &creds) {
        let token = pass.token.unwrap_or_default();
        let sig = pass.signature.unwrap_or_default();
        assert!(
            verify_token([&f.public], token.as_bytes(), &sig).is_ok(),
            "the gate passed a signature that does not verify"
        );
    }
}

fn insert(headers: &mut HeaderMap, name: &[u8], value: &[u8]) {
    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name), HeaderValue::from_bytes(value)) {
        headers.append(n, v);
    }
}

fn credential_pairs(c: &Credentials) -> Vec<(String, String)> {
    let f = fixture();
    let mut out = Vec::new();
    if let Some(name) = &c.authorizer {
        out.push((
            crate::wire::http::AUTHORIZER_NAME.to_string(),
            name.clone().unwrap_or_else(|| f.target.authorizer.clone()),
        ));
    }
    if let Some(t) = &c.token {
        out.push((f.target.token_key_name.clone(), t.clone()));
    }
    if let Some(s) = &c.signature {
        let text = match s {
            super::case::Signature::Text(t) => t.clone(),
            super::case::Signature::Bytes(b) | super::case::Signature::KeySized(b) => {
                crate::token::encode_signature(b)
            }
        };
        out.push((crate::wire::http::SIGNATURE.to_string(), text));
    }
    out
}

/// The MQTT username query: never panics, and what `build_username` writes reads back the same.
pub fn username(data: &[u8]) {
    let f = fixture();
    let _ = parse_username(&String::from_utf8_lossy(data));
    let mut u = Unstructured::new(data);
    let Ok(Username::Query {
        attempt,
        credentials,
        ..
    }) = Username::arbitrary(&mut u)
    else {
        return;
    };
    let rendered = super::render::render_username(
        &Username::Query {
            attempt: attempt.clone(),
            credentials: credentials.clone(),
            extra: Vec::new(),
        },
        &f.target,
    );
    // Values are percent-encoded, so a '?' can only come from the attempt text: two or more are refused.
    let question_marks = rendered.matches('?').count();
    let attempt_has_q = attempt.as_deref().is_some_and(|a| a.contains('?'));
    match parse_username(&rendered) {
        Ok(p) => {
            assert!(
                question_marks < 2,
                "a second '?' was accepted: {rendered:?}"
            );
            if !attempt_has_q {
                assert_eq!(
                    p.get(&f.target.token_key_name),
                    credentials.token.as_deref(),
                    "token did not round-trip through {rendered:?}"
                );
            }
        }
        Err(_) => assert!(
            question_marks >= 2,
            "a built username was refused: {rendered:?}"
        ),
    }
    // Under `last_question_mark` nothing is refused, and when the builder writes a query its `?` is the last one
    // (values are encoded): the token and the attempt id (up to its first `?`) read back whatever the attempt.
    let last = GateSettings {
        username_query: UsernameQuery::LastQuestionMark,
        ..GateSettings::default()
    };
    let p = parse_username_with(&rendered, &last).expect("last_question_mark refuses nothing");
    if credentials.token.is_some() {
        assert_eq!(
            p.get(&f.target.token_key_name),
            credentials.token.as_deref(),
            "token did not round-trip through {rendered:?} under last_question_mark"
        );
        let want = attempt
            .as_deref()
            .and_then(|a| a.split('?').next())
            .filter(|a| !a.is_empty());
        assert_eq!(p.attempt_id(), want, "attempt id of {rendered:?}");
    }
}

/// CONNECT handling: the emulator's MQTT decoder over raw bytes, and over a CONNECT built from fields, never
/// panics and always makes progress or asks for more.
pub fn connect(data: &[u8]) {
    let f = fixture();
    decode_all(data);
    let mut u = Unstructured::new(data);
    if let Ok(fields) = super::case::ConnectFields::arbitrary(&mut u) {
        let bytes = connect_packet(&fields, &f.target);
        let well_formed = fields.remaining_length.is_none()
            && fields.flags.is_none()
            && fields.protocol_name.is_none()
            && matches!(fields.level, Level::V311)
            // 3.1.1 forbids a password without a username (MQTT-3.1.2-22); the emulator refuses it.
            && (fields.password.is_none() || fields.username.is_some())
            && bytes.len() < 4096;
        let mut buf = BytesMut::from(&bytes[..]);
        let decoded = codec::decode(None, &mut buf);
        if well_formed && fields.client_id.len() <= 23 && fields.client_id.is_ascii() {
            assert!(
                matches!(decoded, Ok(Some(Inbound::Connect(_)))),
                "a well-formed 3.1.1 CONNECT was refused: {decoded:?}"
            );
        }
        decode_all(&bytes);
    }
}

fn decode_all(data: &[u8]) {
    let mut buf = BytesMut::from(data);
    let mut version = None;
    for _ in 0..64 {
        let before = buf.len();
        match codec::decode(version, &mut buf) {
            Ok(Some(Inbound::Connect(c))) => version = Some(c.version),
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => return,
        }
        assert!(
            buf.len() < before,
            "the decoder returned a packet without consuming bytes"
        );
    }
}

/// The differential check on signatures: `aws-lc-rs` and `rsa` agree on arbitrary and mutated signatures.
#[derive(Debug, Arbitrary)]
pub struct SignatureInput {
    pub token: Vec<u8>,
    pub mode: SigMode,
}

#[derive(Debug, Arbitrary)]
pub enum SigMode {
    Raw(Vec<u8>),
    /// The valid signature of `token` with some bytes replaced (index, xor mask).
    Mutated(Vec<(u16, u8)>),
    /// The valid signature of `token`, unchanged (both must accept).
    Valid,
    /// The valid signature, then base64 text changed at some places.
    Text(Vec<(u16, u8)>),
}

pub fn signature(data: &[u8]) {
    let f = fixture();
    let mut u = Unstructured::new(data);
    let Ok(input) = SignatureInput::arbitrary(&mut u) else {
        return;
    };
    let valid = sign_token(f.key, &input.token);
    let sig = match &input.mode {
        SigMode::Raw(b) => b.clone(),
        SigMode::Valid => valid.clone(),
        SigMode::Mutated(edits) => {
            let mut s = valid.clone();
            for (i, x) in edits {
                let n = s.len();
                s[usize::from(*i) % n] ^= x;
            }
            s
        }
        SigMode::Text(edits) => {
            let mut text = crate::token::encode_signature(&valid).into_bytes();
            for (i, x) in edits {
                let n = text.len();
                text[usize::from(*i) % n] = *x;
            }
            let text = String::from_utf8_lossy(&text).into_owned();
            let via_gate = verify_token([&f.public], &input.token, &text).is_ok();
            let decoded = crate::token::decode_signature(&text).ok();
            let direct = decoded.as_deref().is_some_and(|d| {
                d.len() == f.public.signature_len() && verify_raw(&f.public, &input.token, d)
            });
            assert_eq!(
                via_gate, direct,
                "verify_token and verify_raw disagree on {text:?}"
            );
            decoded.unwrap_or_default()
        }
    };
    let fast = verify_raw(&f.public, &input.token, &sig);
    let reference = verify_reference(&f.public, &input.token, &sig);
    assert_eq!(
        fast,
        reference,
        "aws-lc-rs says {fast}, rsa says {reference} for a {}-byte signature",
        sig.len()
    );
    if matches!(input.mode, SigMode::Valid) {
        assert!(fast, "a valid signature was refused");
    }
    if sig != valid && fast {
        // PKCS#1 v1.5 is deterministic: only the one signature verifies.
        panic!("a signature other than the valid one verified");
    }
}

/// Every target by name (the cargo-fuzz target names; the corpus test iterates this).
/// A target's entry point.
pub type EntryPoint = fn(&[u8]);

pub const TARGETS: [(&str, EntryPoint); 4] = [
    ("credentials", credentials),
    ("username", username),
    ("connect", connect),
    ("signature", signature),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_gate_setting_combination_gets_inputs() {
        let seen: std::collections::HashSet<String> =
            (0..=255u8).map(|b| settings_of(&[b]).describe()).collect();
        assert_eq!(seen.len(), 48, "{seen:?}");
    }
}
