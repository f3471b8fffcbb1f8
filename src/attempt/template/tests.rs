//! Template parsing, rendering and refusals.

use super::*;

fn values() -> Values<'static> {
    Values {
        device: 42,
        client_id: "tokenstorm-000042",
        issued_unix_ms: 1_700_000_000_123,
        nonce: 0xdead_beef,
        uuid: u128::MAX,
        seq: 7,
    }
}

fn render(t: &str) -> String {
    TokenTemplate::parse(t).unwrap().render(&values())
}

#[test]
fn every_placeholder_renders() {
    assert_eq!(render("{device}"), "000042");
    assert_eq!(render("{client_id}"), "tokenstorm-000042");
    assert_eq!(render("{unix_s}"), "1700000000");
    assert_eq!(render("{unix_ms}"), "1700000000123");
    assert_eq!(render("{nonce}"), "00000000deadbeef");
    assert_eq!(render("{seq}"), "7");
    assert_eq!(render("{uuid}"), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    assert_eq!(
        render("dev-{device}.{unix_s}.{nonce}"),
        "dev-000042.1700000000.00000000deadbeef"
    );
}

#[test]
fn uuid_is_v4_shaped() {
    let u = uuid_v4(0);
    assert_eq!(u, "00000000-0000-4000-8000-000000000000");
    for bits in [
        1u128,
        0x1234_5678_9abc_def0_1234_5678_9abc_def0,
        u128::MAX / 3,
    ] {
        let u = uuid_v4(bits);
        let groups: Vec<&str> = u.split('-').collect();
        assert_eq!(
            groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(groups[2].starts_with('4'), "{u}");
        assert!("89ab".contains(&groups[3][..1]), "{u}");
    }
}

#[test]
fn braces_escape_and_display_round_trips() {
    assert_eq!(render("{{x}}-{seq}"), "{x}-7");
    assert_eq!(render("a}}b{{"), "a}b{");
    for t in [
        "{{x}}-{seq}",
        "dev-{device}.{unix_s}.{nonce}",
        "{uuid}{client_id}",
    ] {
        assert_eq!(TokenTemplate::parse(t).unwrap().to_string(), t);
    }
}

#[test]
fn per_attempt_placeholders_are_known() {
    let varies = |t: &str| TokenTemplate::parse(t).unwrap().varies_per_attempt();
    assert!(!varies("fixed-{device}-{client_id}"));
    assert!(!varies("just text"));
    for p in ["{unix_s}", "{unix_ms}", "{nonce}", "{uuid}", "{seq}"] {
        assert!(varies(&format!("d{{device}}{p}")), "{p}");
    }
}

#[test]
fn bad_templates_name_the_field_and_the_fault() {
    let err = |t: &str| TokenTemplate::parse(t).unwrap_err().to_string();
    for (t, needle) in [
        ("", "empty"),
        ("dev-{id}", "{id}"),
        ("dev-{device", "'{' at char 4"),
        ("dev-{de{vice}", "'{' at char 4"),
        ("dev}", "'}' at char 3"),
        ("{}", "{}"),
    ] {
        let m = err(t);
        assert!(m.contains(needle), "{t}: {m}");
    }
}

#[test]
fn too_long_a_rendering_is_refused() {
    let long = "x".repeat(MAX_TOKEN_CHARS - 6);
    assert!(TokenTemplate::parse_checked(&format!("{long}{{device}}"), 1000, 20).is_ok());
    let m = TokenTemplate::parse_checked(&format!("{long}{{nonce}}"), 1000, 20)
        .unwrap_err()
        .to_string();
    assert!(m.contains("6154") && m.contains("6144"), "{m}");
    // The client id's length counts too.
    assert!(TokenTemplate::parse_checked(&format!("{long}{{client_id}}"), 1, 7).is_err());
}
