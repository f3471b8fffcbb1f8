//! Query strings as AWS IoT reads them: split on `&`, each pair on its first `=`, values percent-decoded,
//! and `+` is **not** a space (spec §1: the emulator percent-decodes only) unless the unconfirmed-behaviour
//! setting `gate.query_plus = "space"` says so, and a bare `=a` is an empty name unless `gate.bare_params =
//! "equivalent"` reads it as `a` with an empty value ([`parse_pairs_with`]).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

use super::settings::{BareParams, GateSettings, QueryPlus};

/// Everything but the RFC 3986 unreserved characters is encoded, so `+`, `/` and `=` never travel raw.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query value (the generator always encodes `+ / =`).
pub fn encode_component(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

/// Percent-decodes a value; invalid UTF-8 is replaced, never a panic. `+` stays `+`.
pub fn decode_component(value: &str) -> String {
    percent_decode_str(value).decode_utf8_lossy().into_owned()
}

/// Parses `a=b&c=d` (without the leading `?`) into decoded pairs, in order. A pair without `=` has an empty
/// value; empty segments are skipped.
pub fn parse_pairs(query: &str) -> Vec<(String, String)> {
    parse_pairs_with(query, &GateSettings::default())
}

/// [`parse_pairs`] as the gate settings say: `query_plus` decides what a raw `+` is (form decoding turns it into
/// a space before percent-decoding, so `%2B` is `+` either way), and `bare_params` what `=a` is: an empty name
/// with the value `a` (`split`), or the parameter `a` with an empty value (`equivalent`, as AWS's client code
/// says the "server treats `a=`, `a`, and `=a` equivalently"). `a` and `a=` are `a` with an empty value either way.
pub fn parse_pairs_with(query: &str, settings: &GateSettings) -> Vec<(String, String)> {
    let plus = settings.query_plus;
    let decode = |s: &str| match plus {
        QueryPlus::Literal => decode_component(s),
        QueryPlus::Space if s.contains('+') => decode_component(&s.replace('+', " ")),
        QueryPlus::Space => decode_component(s),
    };
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some(("", v)) if settings.bare_params == BareParams::Equivalent => {
                (decode(v), String::new())
            }
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

/// A value percent-encoded except for `+`, which stays raw (what a client that encodes only `/` and `=` sends).
pub fn raw_plus_value(value: &str) -> String {
    encode_component(value).replace("%2B", "+")
}

/// A value percent-encoded except for `&` and `=`, which stay raw: what a client that forgets to encode its
/// token sends, and how a token smuggles extra parameters into a query string.
pub fn raw_query_value(value: &str) -> String {
    encode_component(value)
        .replace("%26", "&")
        .replace("%3D", "=")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_is_not_a_space_and_values_decode() {
        let pairs = parse_pairs("a=x+y%2Bz%3D&b&&c=1=2");
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "x+y+z=".into()),
                ("b".into(), String::new()),
                ("c".into(), "1=2".into())
            ]
        );
    }

    #[test]
    fn form_decoding_turns_a_raw_plus_into_a_space_but_not_an_encoded_one() {
        let space = GateSettings {
            query_plus: QueryPlus::Space,
            ..GateSettings::default()
        };
        let pairs = parse_pairs_with("a=x+y%2Bz&b+c=1", &space);
        assert_eq!(
            pairs,
            vec![("a".into(), "x y+z".into()), ("b c".into(), "1".into())]
        );
        assert_eq!(raw_plus_value("ab+/c="), "ab+%2Fc%3D");
    }

    /// `a`, `a=` and `=a`: the first two are `a` with an empty value under both settings; `=a` is an empty name
    /// with the value `a` (`split`) or `a` with an empty value (`equivalent`). `=` alone is an empty pair either way.
    #[test]
    fn bare_parameters_follow_the_setting() {
        let query = "a&b=&=c&=&d%3D=e";
        let pair = |k: &str, v: &str| (k.to_string(), v.to_string());
        assert_eq!(
            parse_pairs(query),
            vec![
                pair("a", ""),
                pair("b", ""),
                pair("", "c"),
                pair("", ""),
                pair("d=", "e")
            ]
        );
        let equivalent = GateSettings {
            bare_params: BareParams::Equivalent,
            ..GateSettings::default()
        };
        assert_eq!(
            parse_pairs_with(query, &equivalent),
            vec![
                pair("a", ""),
                pair("b", ""),
                pair("c", ""),
                pair("", ""),
                pair("d=", "e")
            ]
        );
        // `=a=b`: the name is still empty (split on the first `=`); equivalent makes it the parameter `a=b`.
        assert_eq!(
            parse_pairs_with("=a%2Bb=c", &equivalent),
            vec![pair("a+b=c", "")]
        );
    }

    #[test]
    fn encode_round_trips_base64() {
        let sig = "ab+/cd==";
        let enc = encode_component(sig);
        assert_eq!(enc, "ab%2B%2Fcd%3D%3D");
        assert_eq!(decode_component(&enc), sig);
    }
}
