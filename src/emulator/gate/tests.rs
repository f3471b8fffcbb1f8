use super::*;
use crate::contract::authorizer::{FunctionBehaviour, FunctionSpec};
use crate::token::{PrivateKey, encode_signature, sign_token};
use std::sync::OnceLock;
use std::time::Duration;

fn keys() -> &'static (PrivateKey, PrivateKey) {
    static KEYS: OnceLock<(PrivateKey, PrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        (
            PrivateKey::generate(2048).unwrap(),
            PrivateKey::generate(2048).unwrap(),
        )
    })
}

fn spec(name: &str, status: AuthorizerStatus, signing_disabled: bool) -> AuthorizerSpec {
    let (a, b) = keys();
    AuthorizerSpec {
        name: name.into(),
        token_key_name: "X-My-App-custom-key".into(),
        signing_keys: vec![
            ("old".into(), a.public_key()),
            ("new".into(), b.public_key()),
        ],
        status,
        signing_disabled,
        enable_caching_for_http: false,
        function: FunctionSpec::in_process(FunctionBehaviour::Deny, Duration::ZERO),
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.insert(
            hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    map
}

#[test]
fn both_rotation_keys_pass_and_report_their_index() {
    let auths = [spec("A", AuthorizerStatus::Active, false)];
    let (a, b) = keys();
    for (i, key) in [a, b].into_iter().enumerate() {
        let sig = encode_signature(&sign_token(key, b"tok"));
        let h = headers(&[
            ("x-amz-customauthorizer-name", "A"),
            ("x-my-app-custom-key", "tok"),
        ]);
        let q = vec![(SIGNATURE.to_string(), sig)];
        let (idx, pass) = check(
            &auths,
            None,
            &RequestCredentials {
                headers: &h,
                query: &q,
                username: &[],
                settings: GateSettings::default(),
            },
        )
        .unwrap();
        assert_eq!(
            (idx, pass.key_index, pass.signature_verified),
            (0, Some(i), true)
        );
    }
}

#[test]
fn each_refusal_has_its_reason() {
    let auths = [
        spec("A", AuthorizerStatus::Active, false),
        spec("Off", AuthorizerStatus::Inactive, false),
    ];
    let (a, _) = keys();
    let good = encode_signature(&sign_token(a, b"tok"));
    let mut flipped = sign_token(a, b"tok");
    flipped[10] ^= 1;
    type Case<'a> = (Vec<(&'a str, &'a str)>, Option<usize>, GateRejection);
    let cases: Vec<Case> = vec![
        (
            vec![("x-amz-customauthorizer-name", "B")],
            Some(0),
            GateRejection::UnknownAuthorizer,
        ),
        (vec![], None, GateRejection::NoDefaultAuthorizer),
        (
            vec![("x-amz-customauthorizer-name", "Off")],
            Some(0),
            GateRejection::InactiveAuthorizer,
        ),
        (
            vec![("x-amz-customauthorizer-signature", &good)],
            Some(0),
            GateRejection::MissingToken,
        ),
        (
            vec![("x-my-app-custom-key", "tok")],
            Some(0),
            GateRejection::MissingSignature,
        ),
    ];
    for (h, default, want) in cases {
        let h = headers(&h);
        let got = check(
            &auths,
            default,
            &RequestCredentials {
                headers: &h,
                query: &[],
                username: &[],
                settings: GateSettings::default(),
            },
        )
        .unwrap_err();
        assert_eq!(got, want);
    }
    let sig_cases = [
        ("!!!!".to_string(), GateRejection::NotBase64),
        ("QUJD".to_string(), GateRejection::WrongLength),
        ("A".repeat(2564), GateRejection::TooLong),
        (encode_signature(&flipped), GateRejection::SignatureMismatch),
    ];
    for (sig, want) in sig_cases {
        let got = verify(&auths[0], Some("tok".into()), Some(sig)).unwrap_err();
        assert_eq!(got, want);
    }
}

#[test]
fn duplicates_and_name_case_follow_the_settings() {
    use crate::wire::settings::QueryNames;
    let h = headers(&[("x-my-app-custom-key", "t1")]);
    let q = vec![
        ("x-my-app-custom-key".to_string(), "t2".to_string()),
        (
            "X-Amz-CustomAuthorizer-Signature".to_string(),
            "s".to_string(),
        ),
    ];
    let u = vec![("x-my-app-custom-key".to_string(), "t3".to_string())];
    let creds = |settings| RequestCredentials {
        headers: &h,
        query: &q,
        username: &u,
        settings,
    };
    let mut s = GateSettings::default();
    assert_eq!(creds(s).get("x-my-app-custom-key"), Ok(Some("t1".into())));
    assert_eq!(creds(s).get(SIGNATURE), Ok(None));
    s.duplicates = Duplicates::Last;
    assert_eq!(creds(s).get("x-my-app-custom-key"), Ok(Some("t3".into())));
    s.duplicates = Duplicates::Reject;
    assert_eq!(
        creds(s).get("x-my-app-custom-key"),
        Err(GateRejection::DuplicatedParameter)
    );
    assert_eq!(creds(s).get(AUTHORIZER_NAME), Ok(None));
    s.query_names = QueryNames::CaseInsensitive;
    assert_eq!(creds(s).get(SIGNATURE), Ok(Some("s".into())));
    // Repeated header lines are duplicates too.
    let mut twice = HeaderMap::new();
    twice.append("x-my-app-custom-key", "a".parse().unwrap());
    twice.append("x-my-app-custom-key", "b".parse().unwrap());
    let c = RequestCredentials {
        headers: &twice,
        query: &[],
        username: &[],
        settings: GateSettings {
            duplicates: Duplicates::Last,
            ..GateSettings::default()
        },
    };
    assert_eq!(c.get("X-My-App-Custom-Key"), Ok(Some("b".into())));
}

/// A username under every combination of the settings: `username_query` decides which parameters the gate sees,
/// `bare_params` whether `=x-amz-customauthorizer-signature` is an (empty) signature, which `duplicates` then
/// weighs against the real one.
#[test]
fn the_username_query_and_bare_parameters_reach_the_gate_as_the_settings_say() {
    use crate::wire::mqtt::parse_username_with;
    use crate::wire::query::encode_component;
    use crate::wire::settings::{BareParams, UsernameQuery};
    let (a, _) = keys();
    let sig = encode_component(&encode_signature(&sign_token(a, b"tok")));
    let creds = format!("X-My-App-custom-key=tok&{SIGNATURE}={sig}");
    let authorizers = [spec("A", AuthorizerStatus::Active, false)];
    for s in GateSettings::all() {
        let verdict = |username: &str| {
            let Ok(p) = parse_username_with(username, &s) else {
                return Err(GateRejection::MalformedUsername);
            };
            let c = RequestCredentials {
                headers: &HeaderMap::new(),
                query: &[],
                username: &p.pairs,
                settings: s,
            };
            check(&authorizers, Some(0), &c).map(|_| ())
        };
        let last = s.username_query == UsernameQuery::LastQuestionMark;
        let free_text = verdict(&format!("ts-id?SDK=x?{creds}"));
        assert_eq!(free_text.is_ok(), last, "{}", s.describe());
        let after_second = verdict(&format!("ts-id?{creds}?SDK=x"));
        let want = if last {
            GateRejection::MissingToken
        } else {
            GateRejection::MalformedUsername
        };
        assert_eq!(after_second, Err(want), "{}", s.describe());
        let before = verdict(&format!("?={SIGNATURE}&{creds}"));
        let after = verdict(&format!("?{creds}&={SIGNATURE}"));
        let empty_first = match (s.bare_params, s.duplicates) {
            (BareParams::Split, _) => (Ok(()), Ok(())),
            (_, Duplicates::First) => (Err(GateRejection::MissingSignature), Ok(())),
            (_, Duplicates::Last) => (Ok(()), Err(GateRejection::MissingSignature)),
            (_, Duplicates::Reject) => (
                Err(GateRejection::DuplicatedParameter),
                Err(GateRejection::DuplicatedParameter),
            ),
        };
        assert_eq!((before, after), empty_first, "{}", s.describe());
    }
}

#[test]
fn signing_disabled_skips_the_check() {
    let s = spec("A", AuthorizerStatus::Active, true);
    let pass = verify(&s, Some("tok".into()), Some("forged".into())).unwrap();
    assert!(!pass.signature_verified);
    assert_eq!(pass.key_index, None);
}

#[test]
fn regression_a_token_over_6144_characters_is_refused_even_when_validly_signed() {
    let auths = [spec("A", AuthorizerStatus::Active, false)];
    let (a, _) = keys();
    for (len, want) in [(6144, None), (6145, Some(GateRejection::TokenTooLong))] {
        let token = "t".repeat(len);
        let sig = encode_signature(&sign_token(a, token.as_bytes()));
        let got = verify(&auths[0], Some(token), Some(sig)).err();
        assert_eq!(got, want, "{len}");
    }
}
