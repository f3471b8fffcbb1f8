//! The signature gate (spec §1–§2): which authorizer a request names, where its credentials are, and whether
//! its token signature verifies. Everything here is pure; a rejection means the authorizer is never invoked.

use hyper::HeaderMap;

use super::config::{AuthorizerSpec, AuthorizerStatus};
use crate::token::{SignatureError, verify_token};
use crate::wire::http::{AUTHORIZER_NAME, SIGNATURE};
use crate::wire::settings::{Duplicates, GateSettings};

/// Longest token the gate accepts (AWS IoT quotas; issue 5): longer ones are refused before the authorizer.
pub const MAX_TOKEN_CHARS: usize = 6144;

/// Why the gate refused a request. A bounded set: it labels metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GateRejection {
    MissingToken,
    MissingSignature,
    NotBase64,
    TooLong,
    WrongLength,
    SignatureMismatch,
    UnknownAuthorizer,
    NoDefaultAuthorizer,
    InactiveAuthorizer,
    TokenTooLong,
    MalformedUsername,
    /// A credential parameter given more than once, under `gate.duplicates = "reject"`.
    DuplicatedParameter,
}

impl GateRejection {
    pub const ALL: [GateRejection; 12] = [
        Self::MissingToken,
        Self::MissingSignature,
        Self::NotBase64,
        Self::TooLong,
        Self::WrongLength,
        Self::SignatureMismatch,
        Self::UnknownAuthorizer,
        Self::NoDefaultAuthorizer,
        Self::InactiveAuthorizer,
        Self::TokenTooLong,
        Self::MalformedUsername,
        Self::DuplicatedParameter,
    ];
    pub const COUNT: usize = Self::ALL.len();

    /// Stable snake_case label.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingToken => "missing_token",
            Self::MissingSignature => "missing_signature",
            Self::NotBase64 => "not_base64",
            Self::TooLong => "too_long",
            Self::WrongLength => "wrong_length",
            Self::SignatureMismatch => "signature_mismatch",
            Self::UnknownAuthorizer => "unknown_authorizer",
            Self::NoDefaultAuthorizer => "no_default_authorizer",
            Self::InactiveAuthorizer => "inactive_authorizer",
            Self::TokenTooLong => "token_too_long",
            Self::MalformedUsername => "malformed_username",
            Self::DuplicatedParameter => "duplicated_parameter",
        }
    }

    /// Position in [`Self::ALL`], for enum-indexed counters.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl From<SignatureError> for GateRejection {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::TooLong => Self::TooLong,
            SignatureError::NotBase64 => Self::NotBase64,
            SignatureError::WrongLength => Self::WrongLength,
            SignatureError::Mismatch => Self::SignatureMismatch,
        }
    }
}

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
    use crate::emulator::config::{FunctionBehaviour, FunctionSpec};

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
            Err(r) => GateVerdict::Refused(r.as_str()),
        }
    }

    /// Every combination of the unconfirmed settings.
    pub(crate) fn all_settings() -> Vec<GateSettings> {
        use crate::wire::settings::{QueryNames, QueryPlus};
        let mut out = Vec::new();
        for query_plus in [QueryPlus::Literal, QueryPlus::Space] {
            for duplicates in [Duplicates::First, Duplicates::Last, Duplicates::Reject] {
                for query_names in [QueryNames::Exact, QueryNames::CaseInsensitive] {
                    out.push(GateSettings {
                        query_plus,
                        duplicates,
                        query_names,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::{FunctionBehaviour, FunctionSpec};
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

    #[test]
    fn signing_disabled_skips_the_check() {
        let s = spec("A", AuthorizerStatus::Active, true);
        let pass = verify(&s, Some("tok".into()), Some("forged".into())).unwrap();
        assert!(!pass.signature_verified);
        assert_eq!(pass.key_index, None);
    }

    #[test]
    fn labels_are_unique_and_indexed() {
        for (i, r) in GateRejection::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
        let mut names: Vec<_> = GateRejection::ALL.iter().map(|r| r.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), GateRejection::COUNT);
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
}
