//! MQTT CONNECT credentials (spec §1): the username query string, shared by the emulator (which parses it) and
//! the generator (which builds it) so the two cannot drift.
//!
//! The username is `[free text]?x-amz-customauthorizer-name=N&<tokenKeyName>=T&x-amz-customauthorizer-signature=S`.
//! AWS SDKs send the parameters in different orders (Python: name, signature, token; Java and Node: name, token,
//! signature) and append their own (`SDK=PythonV2&Version=…`), so the username is read as a query string: split
//! once on the first `?`, then on `&`, each pair on its first `=`, values percent-decoded (`+` is **not** a space).
//! Unknown parameters are ignored. A second `?` makes the real service refuse the connection before its Lambda
//! runs, so [`parse_username`] refuses it too. AWS's own client code (awslabs/aws-c-mqtt
//! `source/mqtt_iot_metrics.c`) says instead that "the IoT service uses the last '?' in the username": under
//! `gate.username_query = "last_question_mark"` ([`parse_username_with`]) the query starts at the last `?` and
//! everything before it, parameters included, is free text that the gate does not read.
//!
//! **Attempt ids.** tokenstorm's generator puts the attempt id in the free text: `ts-<attempt id>?…`. The
//! emulator records [`ParsedUsername::attempt_id`] in its ledger; when the free text carries none it falls back
//! to the client id ([`attempt_id`]). Free text that does not start with [`ATTEMPT_PREFIX`] is not an attempt id.
//! The id ends at the free text's first `?` (an attempt id never holds one), so it reads the same under both
//! `username_query` values.

use super::http::{AUTHORIZER_NAME, SIGNATURE};
use super::query::{encode_component, parse_pairs_with};
use super::settings::{GateSettings, UsernameQuery};

/// The free text of a username that carries a tokenstorm attempt id starts with this; the id follows it.
pub const ATTEMPT_PREFIX: &str = crate::contract::attempt_id::USERNAME_PREFIX;

/// ALPN protocol name AWS IoT serves MQTT under on port 443.
pub const ALPN_MQTT: &[u8] = b"mqtt";

/// The WebSocket path and subprotocol for MQTT over WebSocket.
pub const WS_PATH: &str = "/mqtt";
pub const WS_SUBPROTOCOL: &str = "mqtt";

/// Why a username cannot be read. A refusal means the authorizer is never invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// More than one `?`: the real service refuses it without calling the Lambda.
    #[error("the username holds a second '?'")]
    SecondQuestionMark,
}

/// A CONNECT username read as AWS IoT reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ParsedUsername {
    /// Everything before the `?` that starts the query (all of it when there is none).
    pub free_text: String,
    /// The raw query after the first (or, under `last_question_mark`, the last) `?`, without it; `None` when the
    /// username has no `?`.
    pub query: Option<String>,
    /// The query's percent-decoded pairs, in order.
    pub pairs: Vec<(String, String)>,
}

impl ParsedUsername {
    /// The first value of parameter `name` (exact, case-sensitive name).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `x-amz-customauthorizer-name`.
    pub fn authorizer_name(&self) -> Option<&str> {
        self.get(AUTHORIZER_NAME)
    }

    /// `x-amz-customauthorizer-signature`, percent-decoded.
    pub fn signature(&self) -> Option<&str> {
        self.get(SIGNATURE)
    }

    /// The attempt id the free text carries (`ts-<id>`, up to a `?`), if any.
    pub fn attempt_id(&self) -> Option<&str> {
        self.free_text
            .strip_prefix(ATTEMPT_PREFIX)
            .and_then(|rest| rest.split('?').next())
            .filter(|id| !id.is_empty())
    }
}

/// Reads a CONNECT username under the default gate settings (spec §1). Never panics; a second `?` is the only
/// refusal.
pub fn parse_username(username: &str) -> Result<ParsedUsername, UsernameError> {
    parse_username_with(username, &GateSettings::default())
}

/// [`parse_username`] as the gate settings say: `username_query` decides where the query starts (the first `?`,
/// refusing a second one, or the last `?`, never refusing), and the query's pairs are read as
/// [`parse_pairs_with`] says (`query_plus`, `bare_params`).
pub fn parse_username_with(
    username: &str,
    settings: &GateSettings,
) -> Result<ParsedUsername, UsernameError> {
    let split = match settings.username_query {
        UsernameQuery::FirstQuestionMark => username.split_once('?'),
        UsernameQuery::LastQuestionMark => username.rsplit_once('?'),
    };
    let Some((free_text, query)) = split else {
        return Ok(ParsedUsername {
            free_text: username.to_string(),
            query: None,
            pairs: Vec::new(),
        });
    };
    if query.contains('?') {
        return Err(UsernameError::SecondQuestionMark);
    }
    Ok(ParsedUsername {
        free_text: free_text.to_string(),
        query: Some(query.to_string()),
        pairs: parse_pairs_with(query, settings),
    })
}

/// The attempt id of a connection: the username's `ts-<id>` free text, else the client id (when not empty).
pub fn attempt_id<'a>(username: Option<&'a ParsedUsername>, client_id: &'a str) -> Option<&'a str> {
    username
        .and_then(ParsedUsername::attempt_id)
        .or((!client_id.is_empty()).then_some(client_id))
}

/// In which order [`build_username`] writes the three credential parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ParamOrder {
    /// Java and Node SDKs: name, token, signature.
    #[default]
    NameTokenSignature,
    /// Python SDK v2: name, signature, token.
    NameSignatureToken,
}

/// What goes into a CONNECT username.
#[derive(Debug, Clone, Copy, Default)]
pub struct UsernameParts<'a> {
    /// Written as `ts-<id>` before the `?`, so the emulator's ledger names the attempt.
    pub attempt_id: Option<&'a str>,
    /// `x-amz-customauthorizer-name`; omitted: the default authorizer.
    pub authorizer_name: Option<&'a str>,
    /// The authorizer's `tokenKeyName` (the parameter that carries the token).
    pub token_key_name: &'a str,
    pub token: Option<&'a str>,
    /// Base64 signature; always percent-encoded here (`+ / =` never travel raw).
    pub signature: Option<&'a str>,
    pub order: ParamOrder,
    /// Further parameters appended as given (already encoded), e.g. `("SDK", "PythonV2")`.
    pub extra: &'a [(&'a str, &'a str)],
}

/// Builds a username AWS IoT (and the emulator) reads as [`UsernameParts`] describes. Every value is
/// percent-encoded as one component, so [`parse_username`] gives back exactly what went in.
pub fn build_username(parts: &UsernameParts<'_>) -> String {
    let mut out = String::new();
    if let Some(id) = parts.attempt_id {
        out.push_str(ATTEMPT_PREFIX);
        out.push_str(id);
    }
    let token = parts.token.map(|t| (parts.token_key_name, t));
    let signature = parts.signature.map(|s| (SIGNATURE, s));
    let (second, third) = match parts.order {
        ParamOrder::NameTokenSignature => (token, signature),
        ParamOrder::NameSignatureToken => (signature, token),
    };
    let params = [
        parts.authorizer_name.map(|n| (AUTHORIZER_NAME, n)),
        second,
        third,
    ];
    let mut sep = '?';
    for (k, v) in params.into_iter().flatten() {
        out.push(sep);
        out.push_str(&encode_component(k));
        out.push('=');
        out.push_str(&encode_component(v));
        sep = '&';
    }
    for (k, v) in parts.extra {
        out.push(sep);
        out.push_str(k);
        out.push('=');
        out.push_str(v);
        sep = '&';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIG: &str = "ab+/cd/ef==";

    /// What the Python SDK v2 sends: name, signature (quote()d: `/` raw), token (raw), then SDK and Version.
    #[test]
    fn python_sdk_order_with_raw_slash_and_sdk_params() {
        let u = "?x-amz-customauthorizer-name=MyAuth&x-amz-customauthorizer-signature=ab%2B/cd/ef%3D%3D\
                 &X-My-App-custom-key=tok.en&SDK=PythonV2&Version=1.22.0";
        let p = parse_username(u).unwrap();
        assert_eq!(p.free_text, "");
        assert_eq!(p.authorizer_name(), Some("MyAuth"));
        assert_eq!(p.signature(), Some(SIG));
        assert_eq!(p.get("X-My-App-custom-key"), Some("tok.en"));
        assert_eq!(p.get("SDK"), Some("PythonV2"));
        assert_eq!(p.attempt_id(), None);
    }

    /// Java and Node: name, token, signature, everything encoded; a free-text user name in front.
    #[test]
    fn java_node_order_with_free_text() {
        let u = "device1?x-amz-customauthorizer-name=MyAuth&tokenKey=t%2B1\
                 &x-amz-customauthorizer-signature=ab%2B%2Fcd%2Fef%3D%3D";
        let p = parse_username(u).unwrap();
        assert_eq!(p.free_text, "device1");
        assert_eq!(p.get("tokenKey"), Some("t+1"));
        assert_eq!(p.signature(), Some(SIG));
        assert_eq!(p.query.as_deref(), Some(&u[u.find('?').unwrap() + 1..]));
    }

    #[test]
    fn plus_is_not_a_space_and_unknown_params_are_ignored() {
        let p = parse_username("?x-amz-customauthorizer-signature=a+b&zz=1&=&k").unwrap();
        assert_eq!(p.signature(), Some("a+b"));
        assert_eq!(p.get("zz"), Some("1"));
        assert_eq!(p.get("k"), Some(""));
        assert_eq!(p.authorizer_name(), None);
    }

    #[test]
    fn ampersand_and_equals_games() {
        // `=` inside a value splits on the first one only; `&` encoded stays inside the value.
        let p = parse_username("?t=a=b%26c=d&x-amz-customauthorizer-name=N%3D&&").unwrap();
        assert_eq!(p.get("t"), Some("a=b&c=d"));
        assert_eq!(p.authorizer_name(), Some("N="));
        // A raw `&` inside a token cuts it; the rest becomes a parameter of its own.
        let p = parse_username("?t=a&b=c").unwrap();
        assert_eq!(p.get("t"), Some("a"));
        // The first of a repeated parameter wins.
        let p = parse_username("?t=1&t=2").unwrap();
        assert_eq!(p.get("t"), Some("1"));
    }

    #[test]
    fn a_second_question_mark_is_refused() {
        for u in ["a?b?c", "??", "?t=1?", "?t=%3F?"] {
            assert_eq!(
                parse_username(u),
                Err(UsernameError::SecondQuestionMark),
                "{u}"
            );
        }
        // An encoded `?` is a value, not a second separator.
        assert_eq!(parse_username("?t=%3F").unwrap().get("t"), Some("?"));
    }

    /// `last_question_mark` (aws-c-mqtt's "the IoT service uses the last '?'"): nothing is refused, the
    /// parameters before the last `?` are free text, and the attempt id still ends at the first `?`.
    #[test]
    fn under_last_question_mark_the_query_starts_at_the_last_one() {
        let last = GateSettings {
            username_query: UsernameQuery::LastQuestionMark,
            ..GateSettings::default()
        };
        let p = parse_username_with("ts-r-valid-1-2?t=1&k=a?t=2&SDK=x", &last).unwrap();
        assert_eq!(p.free_text, "ts-r-valid-1-2?t=1&k=a");
        assert_eq!(p.query.as_deref(), Some("t=2&SDK=x"));
        assert_eq!((p.get("t"), p.get("k")), (Some("2"), None));
        assert_eq!(p.attempt_id(), Some("r-valid-1-2"));
        for u in ["a?b?c", "??", "?t=1?"] {
            assert!(parse_username_with(u, &last).is_ok(), "{u}");
        }
        // One `?`: both settings read the same username.
        let one = "ts-a?t=1&k=2";
        assert_eq!(parse_username_with(one, &last), parse_username(one));
    }

    #[test]
    fn no_question_mark_is_all_free_text() {
        let p = parse_username("plain user").unwrap();
        assert_eq!(
            (p.free_text.as_str(), p.query, p.pairs.len()),
            ("plain user", None, 0)
        );
        let p = parse_username("").unwrap();
        assert_eq!(p, ParsedUsername::default());
    }

    #[test]
    fn build_round_trips_in_both_orders() {
        for order in [
            ParamOrder::NameTokenSignature,
            ParamOrder::NameSignatureToken,
        ] {
            let u = build_username(&UsernameParts {
                attempt_id: Some("r1-valid-3-4"),
                authorizer_name: Some("My Auth"),
                token_key_name: "X-My-App-custom-key",
                token: Some("tok+en/=?&"),
                signature: Some(SIG),
                order,
                extra: &[("SDK", "tokenstorm")],
            });
            assert_eq!(u.matches('?').count(), 1, "{u}");
            assert!(
                !u.contains('+') && !u[u.find('?').unwrap()..].contains('/'),
                "{u}"
            );
            let p = parse_username(&u).unwrap();
            assert_eq!(p.attempt_id(), Some("r1-valid-3-4"));
            assert_eq!(p.authorizer_name(), Some("My Auth"));
            assert_eq!(p.get("X-My-App-custom-key"), Some("tok+en/=?&"));
            assert_eq!(p.signature(), Some(SIG));
            assert_eq!(p.get("SDK"), Some("tokenstorm"));
        }
        let u = build_username(&UsernameParts {
            authorizer_name: Some("A"),
            token_key_name: "k",
            token: Some("t"),
            signature: Some("s"),
            order: ParamOrder::NameSignatureToken,
            ..Default::default()
        });
        assert_eq!(
            u,
            "?x-amz-customauthorizer-name=A&x-amz-customauthorizer-signature=s&k=t"
        );
    }

    #[test]
    fn attempt_id_falls_back_to_the_client_id() {
        let with = parse_username("ts-r-valid-1-2?k=v").unwrap();
        assert_eq!(attempt_id(Some(&with), "c"), Some("r-valid-1-2"));
        let without = parse_username("someone?k=v").unwrap();
        assert_eq!(attempt_id(Some(&without), "c"), Some("c"));
        assert_eq!(attempt_id(None, "c"), Some("c"));
        assert_eq!(attempt_id(None, ""), None);
        assert_eq!(parse_username("ts-").unwrap().attempt_id(), None);
    }
}
