//! Query strings as AWS IoT reads them: split on `&`, each pair on its first `=`, values percent-decoded,
//! and `+` is **not** a space (spec §1: the emulator percent-decodes only).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

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
    query
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode_component(k), decode_component(v)),
            None => (decode_component(pair), String::new()),
        })
        .collect()
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
    fn encode_round_trips_base64() {
        let sig = "ab+/cd==";
        let enc = encode_component(sig);
        assert_eq!(enc, "ab%2B%2Fcd%3D%3D");
        assert_eq!(decode_component(&enc), sig);
    }
}
