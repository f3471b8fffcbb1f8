use super::*;
use crate::wire::mqtt::ATTEMPT_PREFIX;

const PARTS: StyleParts<'static> = StyleParts {
    authorizer_name: Some("MyCustomAuthorizer"),
    token_key_name: "X-My-App-custom-key",
    token: Some("v1.000001.1700000000.4f2a"),
    signature: Some("ab+/cd/ef=="),
};

fn username(style: UsernameStyle, parts: &StyleParts<'_>) -> String {
    format!("{ATTEMPT_PREFIX}r1-valid-0-0{}", query(style, parts))
}

/// Each style's username, byte for byte, is the fixture line taken from that SDK's source.
#[test]
fn every_style_matches_its_fixture_from_the_sdk_source() {
    let fixtures = include_str!("../testdata/username_styles.txt");
    let lines: Vec<(&str, &str)> = fixtures
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split_once(' ').unwrap())
        .collect();
    assert_eq!(lines.len(), UsernameStyle::ALL.len());
    for style in UsernameStyle::ALL {
        let (_, want) = lines
            .iter()
            .find(|(name, _)| *name == style.as_str())
            .unwrap_or_else(|| panic!("no fixture line for {}", style.as_str()));
        assert_eq!(username(style, &PARTS), *want, "{}", style.as_str());
    }
}

/// Whatever the style and the gate settings, the emulator reads back the credentials and the attempt id.
#[test]
fn every_style_reads_back_under_every_gate_setting() {
    for style in UsernameStyle::ALL {
        let u = username(style, &PARTS);
        for s in GateSettings::all() {
            let p = parse_username_with(&u, &s).unwrap();
            assert_eq!(p.attempt_id(), Some("r1-valid-0-0"), "{u}");
            assert_eq!(p.get(AUTHORIZER_NAME), PARTS.authorizer_name, "{u}");
            assert_eq!(p.get(PARTS.token_key_name), PARTS.token, "{u}");
            assert_eq!(p.signature(), PARTS.signature, "{u} {}", s.describe());
        }
    }
}

/// What an SDK would mangle (a raw `&` in the token, a `%` or a space in a forged signature) goes in
/// tokenstorm's shape instead, so the gate reads what the oracle judges.
#[test]
fn values_an_sdk_would_change_fall_back_to_the_encoded_shape() {
    let amp = StyleParts {
        token: Some("tok&smuggled=1"),
        ..PARTS
    };
    let pct = StyleParts {
        signature: Some("ab%252B"),
        ..PARTS
    };
    let space = StyleParts {
        signature: Some("ab cd"),
        ..PARTS
    };
    for style in UsernameStyle::ALL {
        for parts in [amp, pct] {
            assert_eq!(
                query(style, &parts),
                query(UsernameStyle::Tokenstorm, &parts),
                "{}",
                style.as_str()
            );
        }
    }
    assert_eq!(
        query(UsernameStyle::JavaV2, &space),
        query(UsernameStyle::Tokenstorm, &space)
    );
    // Python and Node encode a space as %20: their shape stays.
    assert!(query(UsernameStyle::PythonV2, &space).contains("=ab%20cd&"));
    // Without a signature (missing_signature) the SDK shape simply leaves it out.
    let none = StyleParts {
        signature: None,
        ..PARTS
    };
    assert_eq!(
        query(UsernameStyle::PythonV2, &none),
        "?x-amz-customauthorizer-name=MyCustomAuthorizer&X-My-App-custom-key=v1.000001.1700000000.4f2a\
         &SDK=PythonV2&Version=1.31.0"
    );
}
