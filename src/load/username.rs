//! Pre-built MQTT credentials: for every credential set and class, the CONNECT username's query part
//! (`?x-amz-customauthorizer-name=N&<tokenKeyName>=T&x-amz-customauthorizer-signature=S`, values
//! percent-encoded) is encoded once at setup; an attempt prepends `ts-<attempt id>` as the free-text part
//! ([`crate::wire::mqtt`]'s convention, which the emulator's ledger reads back). `[mqtt] username_style` gives the
//! credentials in the standard place an AWS SDK's exact shape ([`crate::wire::username_style`]).
//! Plain mode (brokers with a password file): the configured username, and the configured password for valid
//! and replayed attempts or a wrong one for forged attempts.

use crate::attempt::forge::{
    BARE_SIGNATURE, FREE_TEXT_QUERY, MISNAMED_SIGNATURE, SIGNATURE_DOCS_CASE, UNKNOWN_AUTHORIZER,
    decoy_signature, second_token,
};
use crate::attempt::{Catalogue, Credential, Wire};
use crate::contract::{Class, Forgery};
use crate::scenario::file::UsernameMode;
use crate::wire::http::{AUTHORIZER_NAME, SIGNATURE};
use crate::wire::mqtt;
use crate::wire::query::{encode_component, raw_plus_value, raw_query_value};
use crate::wire::username_style::{self, StyleParts, UsernameStyle};

/// What the book needs to know.
#[derive(Debug, Clone)]
pub struct UsernameShape {
    pub mode: UsernameMode,
    /// Custom-authorizer mode: which SDK's shape the credentials of [`Wire::Standard`] take.
    pub style: UsernameStyle,
    pub authorizer_name: Option<String>,
    pub token_key_name: String,
    /// Plain mode: the username.
    pub username: String,
    pub password: Option<String>,
    /// The target's INACTIVE authorizer (`forged.inactive_authorizer`).
    pub inactive_authorizer: String,
}

/// The username and password of one CONNECT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub username: String,
    pub password: Option<String>,
}

/// Every credential query: `[set][class]`, and the password of `forged.in_password` per set.
#[derive(Debug)]
pub struct UsernameBook {
    shape: UsernameShape,
    queries: Vec<Vec<String>>,
    in_password: Vec<String>,
}

impl UsernameBook {
    pub fn build(shape: UsernameShape, catalogue: &Catalogue) -> Self {
        let queries = catalogue
            .sets()
            .iter()
            .map(|set| {
                // Only what this process holds (a shard's sets of other devices are empty or valid-only).
                set.classes()
                    .map(|c| wire_query(&shape, set.get(c)))
                    .collect()
            })
            .collect();
        let in_password = catalogue
            .sets()
            .iter()
            .map(|set| {
                let cred = set.get(Class::Forged(Forgery::InPassword));
                let q = credential_query(
                    None,
                    &shape.token_key_name,
                    &cred.token,
                    cred.signature.as_deref(),
                );
                q.trim_start_matches('?').to_string()
            })
            .collect();
        Self {
            shape,
            queries,
            in_password,
        }
    }

    /// The login for a credential not in the catalogue (a pre-signed replay-resistant token): the query is
    /// encoded here, string work only.
    pub fn login_with(&self, cred: &crate::attempt::Credential, attempt_id: &str) -> Login {
        if self.shape.mode == UsernameMode::Plain {
            return self.login(0, Class::Valid, 0, attempt_id);
        }
        let q = username_style::query(
            self.shape.style,
            &StyleParts {
                authorizer_name: self.shape.authorizer_name.as_deref(),
                token_key_name: &self.shape.token_key_name,
                token: Some(&cred.token),
                signature: cred.signature.as_deref(),
            },
        );
        let mut username =
            String::with_capacity(mqtt::ATTEMPT_PREFIX.len() + attempt_id.len() + q.len());
        username.push_str(mqtt::ATTEMPT_PREFIX);
        username.push_str(attempt_id);
        username.push_str(&q);
        Login {
            username,
            password: self.shape.password.clone(),
        }
    }

    /// The login of one attempt. For a replay, `replay_set` is the set whose valid pair is reused.
    pub fn login(&self, set: usize, class: Class, replay_set: usize, attempt_id: &str) -> Login {
        match self.shape.mode {
            UsernameMode::Plain => Login {
                username: self.shape.username.clone(),
                password: match (class, &self.shape.password) {
                    (Class::Forged(_), Some(p)) => Some(format!("{p}-forged")),
                    (Class::Forged(_), None) => Some("forged".into()),
                    (_, p) => p.clone(),
                },
            },
            UsernameMode::CustomAuthorizer => {
                let q = match class {
                    Class::Replayed => &self.queries[replay_set][Class::Valid.index()],
                    c => &self.queries[set][c.index()],
                };
                let mut username =
                    String::with_capacity(mqtt::ATTEMPT_PREFIX.len() + attempt_id.len() + q.len());
                username.push_str(mqtt::ATTEMPT_PREFIX);
                username.push_str(attempt_id);
                username.push_str(q);
                let password = match class {
                    Class::Forged(Forgery::InPassword) => Some(self.in_password[set].clone()),
                    _ => self.shape.password.clone(),
                };
                Login { username, password }
            }
        }
    }
}

/// The username query of one credential, placement forgeries included ([`Wire`]). A credential in the standard
/// place takes the scenario's SDK style; a placement forgery is a change to tokenstorm's shape.
pub fn wire_query(shape: &UsernameShape, cred: &Credential) -> String {
    if cred.wire == Wire::Standard {
        return username_style::query(
            shape.style,
            &StyleParts {
                authorizer_name: shape.authorizer_name.as_deref(),
                token_key_name: &shape.token_key_name,
                token: Some(&cred.token),
                signature: cred.signature.as_deref(),
            },
        );
    }
    let authorizer_name = match cred.wire {
        Wire::UnknownAuthorizer => Some(UNKNOWN_AUTHORIZER),
        Wire::InactiveAuthorizer => Some(shape.inactive_authorizer.as_str()),
        _ => shape.authorizer_name.as_deref(),
    };
    let in_username = !matches!(cred.wire, Wire::InPassword);
    let signature = match cred.wire {
        Wire::DuplicateSignature => cred.signature.as_deref().map(decoy_signature),
        _ => cred.signature.clone(),
    };
    let q = mqtt::build_username(&mqtt::UsernameParts {
        attempt_id: None,
        authorizer_name,
        token_key_name: &shape.token_key_name,
        token: (in_username && cred.wire != Wire::NoToken).then_some(cred.token.as_str()),
        signature: signature.as_deref().filter(|_| in_username),
        ..Default::default()
    });
    let encoded_token = format!("={}", encode_component(&cred.token));
    let signature_param = |sig: &str| format!("{SIGNATURE}={}", encode_component(sig));
    match (cred.wire, cred.signature.as_deref()) {
        (Wire::SignatureMisnamed, _) => {
            q.replace(&format!("{SIGNATURE}="), &format!("{MISNAMED_SIGNATURE}="))
        }
        (Wire::SignatureNameCase, _) => {
            q.replace(&format!("{SIGNATURE}="), &format!("{SIGNATURE_DOCS_CASE}="))
        }
        (Wire::RawToken, _) => q.replacen(
            &encoded_token,
            &format!("={}", raw_query_value(&cred.token)),
            1,
        ),
        (Wire::RawPlus, Some(sig)) => q.replace(
            &signature_param(sig),
            &format!("{SIGNATURE}={}", raw_plus_value(sig)),
        ),
        (Wire::DuplicateToken, _) => format!(
            "{q}&{}={}",
            encode_component(&shape.token_key_name),
            encode_component(&second_token(&cred.token))
        ),
        (Wire::DuplicateSignature, Some(sig)) => format!("{q}&{}", signature_param(sig)),
        // After the second `?`: the authorizer name only, so whichever `?` starts the query no token is seen
        // after it (or the username is refused).
        (Wire::SecondQuestionMark, _) => match authorizer_name {
            Some(n) => format!(
                "{q}?SDK=tokenstorm&{AUTHORIZER_NAME}={}",
                encode_component(n)
            ),
            None => format!("{q}?SDK=tokenstorm"),
        },
        (Wire::FreeTextQuestionMark, _) => format!("{FREE_TEXT_QUERY}{q}"),
        (Wire::BareSignatureBefore, _) => match q.strip_prefix('?') {
            Some(rest) => format!("?{BARE_SIGNATURE}&{rest}"),
            None => format!("?{BARE_SIGNATURE}"),
        },
        (Wire::BareSignatureAfter, _) => format!("{q}&{BARE_SIGNATURE}"),
        _ => q,
    }
}

/// `?x-amz-customauthorizer-name=N&<tokenKeyName>=T&x-amz-customauthorizer-signature=S` (spec §1), built by
/// [`crate::wire::mqtt::build_username`] (every value percent-encoded); no signature parameter when there is none.
pub fn credential_query(
    authorizer_name: Option<&str>,
    token_key_name: &str,
    token: &str,
    signature: Option<&str>,
) -> String {
    mqtt::build_username(&mqtt::UsernameParts {
        attempt_id: None,
        authorizer_name,
        token_key_name,
        token: Some(token),
        signature,
        ..Default::default()
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attempt::test_keys;
    use crate::contract::Forgery;

    fn book(mode: UsernameMode) -> (UsernameBook, Catalogue) {
        styled_book(mode, UsernameStyle::Tokenstorm)
    }

    /// The two-device book in `style` (the generator's tests, and the gate explanation's).
    pub(crate) fn styled_book(
        mode: UsernameMode,
        style: UsernameStyle,
    ) -> (UsernameBook, Catalogue) {
        let cat = test_keys::two_device_catalogue();
        let shape = UsernameShape {
            mode,
            style,
            authorizer_name: Some("MyCustomAuthorizer".into()),
            token_key_name: "X-My-App-custom-key".into(),
            username: "plainuser".into(),
            password: Some("pw".into()),
            inactive_authorizer: "Off".into(),
        };
        (UsernameBook::build(shape, &cat), cat)
    }

    #[test]
    fn the_username_is_the_attempt_id_then_the_encoded_credentials() {
        let (book, cat) = book(UsernameMode::CustomAuthorizer);
        let l = book.login(0, Class::Replayed, 1, "r-replayed-0-1");
        let query = &l.username[l.username.find('?').unwrap()..];
        assert!(!query.contains(['+', '/']), "{query}");
        let p = mqtt::parse_username(&l.username).unwrap();
        assert_eq!(p.attempt_id(), Some("r-replayed-0-1"));
        assert_eq!(p.get(AUTHORIZER_NAME), Some("MyCustomAuthorizer"));
        assert_eq!(p.get("X-My-App-custom-key"), Some("tok-b"));
        assert_eq!(
            p.signature().map(str::to_string),
            cat.credential(1, Class::Valid, 1).signature
        );
        let missing = book.login(0, Class::Forged(Forgery::MissingSignature), 0, "x");
        assert!(!missing.username.contains(SIGNATURE));
        assert_eq!(missing.password.as_deref(), Some("pw"));
    }

    /// The emulator's gate, fed the username as the emulator parses it under each setting, answers exactly what
    /// the oracle expects, for every variant sent over MQTT, in every SDK's username style.
    #[test]
    fn every_variant_gets_the_oracles_verdict_from_the_gate_under_every_setting() {
        for style in UsernameStyle::ALL {
            every_variant_in_style(style);
        }
    }

    fn every_variant_in_style(style: UsernameStyle) {
        use crate::attempt::oracle::{self, Applies, GateVerdict};
        use crate::contract::Transport;
        use crate::emulator::gate::{RequestCredentials, test_support};
        let (book, _) = styled_book(UsernameMode::CustomAuthorizer, style);
        let empty = hyper::HeaderMap::new();
        for settings in test_support::all_settings() {
            let mut classes = vec![(Class::Valid, GateVerdict::Passes)];
            for f in Forgery::ALL {
                let e = oracle::entry(f);
                if !matches!(e.applies(Transport::Mqtt), Applies::Skipped(_)) {
                    classes.push((Class::Forged(f), e.expected(&settings)));
                }
            }
            for (c, want) in classes {
                let l = book.login(0, c, 0, "r-x-0-0");
                let got = match mqtt::parse_username_with(&l.username, &settings) {
                    Err(_) => {
                        GateVerdict::Refused(crate::contract::GateRejection::MalformedUsername)
                    }
                    Ok(p) => test_support::verdict(&RequestCredentials {
                        headers: &empty,
                        query: &[],
                        username: &p.pairs,
                        settings,
                    }),
                };
                assert_eq!(
                    got,
                    want,
                    "{} {c:?} {} {}",
                    style.as_str(),
                    l.username,
                    settings.describe()
                );
            }
        }
    }

    /// A valid attempt in the Python SDK's shape: its order, `/` raw in the signature, the token raw, its suffix;
    /// the attempt id still in the free text.
    #[test]
    fn a_style_shapes_the_standard_credentials() {
        let (book, cat) = styled_book(UsernameMode::CustomAuthorizer, UsernameStyle::PythonV2);
        let l = book.login(0, Class::Valid, 0, "r-valid-0-0");
        let sig = cat
            .credential(0, Class::Valid, 0)
            .signature
            .clone()
            .unwrap();
        let quoted = encode_component(&sig).replace("%2F", "/");
        assert_eq!(
            l.username,
            format!(
                "ts-r-valid-0-0?x-amz-customauthorizer-name=MyCustomAuthorizer\
                 &x-amz-customauthorizer-signature={quoted}&X-My-App-custom-key=tok-a\
                 &{}",
                username_style::PYTHON_V2_SUFFIX
            )
        );
        // A placement forgery keeps tokenstorm's shape, which it changes.
        let dup = book.login(0, Class::Forged(Forgery::DuplicatedToken), 0, "x");
        assert!(!dup.username.contains("SDK=PythonV2"), "{}", dup.username);
    }

    #[test]
    fn the_in_password_variant_moves_the_credentials_to_the_password() {
        let (book, cat) = book(UsernameMode::CustomAuthorizer);
        let c = Class::Forged(Forgery::InPassword);
        let l = book.login(0, c, 0, "r-x-0-0");
        let p = mqtt::parse_username(&l.username).unwrap();
        assert_eq!(p.get(AUTHORIZER_NAME), Some("MyCustomAuthorizer"));
        assert_eq!(p.get("X-My-App-custom-key"), None);
        assert_eq!(p.signature(), None);
        let pw = l.password.unwrap();
        let in_pw = crate::wire::query::parse_pairs(&pw);
        let cred = cat.credential(0, c, 0);
        assert_eq!(
            in_pw,
            vec![
                ("X-My-App-custom-key".to_string(), cred.token.clone()),
                (SIGNATURE.to_string(), cred.signature.clone().unwrap())
            ]
        );
        // Other attempts keep the configured password.
        assert_eq!(
            book.login(0, Class::Valid, 0, "x").password.as_deref(),
            Some("pw")
        );
    }

    #[test]
    fn plain_mode_sends_a_wrong_password_for_forged_attempts() {
        let (book, _) = book(UsernameMode::Plain);
        let v = book.login(0, Class::Valid, 0, "id");
        assert_eq!(
            v,
            Login {
                username: "plainuser".into(),
                password: Some("pw".into())
            }
        );
        let f = book.login(0, Class::Forged(Forgery::BitFlip), 0, "id");
        assert_eq!(f.username, "plainuser");
        assert_ne!(f.password, v.password);
    }
}
