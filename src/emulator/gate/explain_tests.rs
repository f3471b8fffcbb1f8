//! The checklist's verdict is the gate's and the oracle's: every forged variant of the catalogue, as the
//! generator sends it over HTTPS (headers and query), MQTT (every SDK username style) and a WebSocket upgrade,
//! under every combination of the gate settings.

use hyper::HeaderMap;

use super::explain::{Presented, Status, explain_gate};
use super::test_support::{all_settings, authorizers, verdict};
use super::{GateRejection, RequestCredentials};
use crate::attempt::oracle::{GateVerdict, expected_over};
use crate::contract::{Class, Forgery, Transport};
use crate::load::request::{Placement, RequestBook};
use crate::scenario::file::UsernameMode;
use crate::wire::mqtt::parse_username_with;
use crate::wire::query::parse_pairs_with;
use crate::wire::settings::GateSettings;
use crate::wire::username_style::UsernameStyle;

/// The explanation's verdict, checked for consistency with its own lines.
fn explained(s: &GateSettings, p: &Presented<'_>) -> GateVerdict {
    let e = explain_gate(&authorizers(), Some(0), s, p);
    let fails = e.items.iter().filter(|i| i.status == Status::Fail).count();
    match e.rule {
        Some(r) => {
            assert!(fails >= 1 && e.fix.is_some(), "{e:#?}");
            GateVerdict::Refused(r)
        }
        None => {
            assert_eq!(fails, 0, "{e:#?}");
            GateVerdict::Passes
        }
    }
}

fn request_book() -> RequestBook {
    crate::load::request::tests::book().0
}

#[test]
fn https_and_websocket_upgrades_explain_the_oracles_verdict_under_every_setting() {
    let book = request_book();
    for s in all_settings() {
        for placement in [Placement::Headers, Placement::Query] {
            for (c, want) in expected_over(Transport::Https, &s) {
                let req = book.request(0, c, 0, placement, "r-x-0-0");
                let pairs = parse_pairs_with(req.uri().query().unwrap_or(""), &s);
                let gate = verdict(&RequestCredentials {
                    headers: req.headers(),
                    query: &pairs,
                    username: &[],
                    settings: s,
                });
                let p = Presented {
                    headers: req.headers(),
                    query: req.uri().query(),
                    username: None,
                };
                let got = explained(&s, &p);
                assert_eq!(
                    (got, gate),
                    (want, want),
                    "{c:?} {placement:?} {}",
                    s.describe()
                );
            }
        }
    }
}

#[test]
fn mqtt_usernames_explain_the_oracles_verdict_in_every_style_under_every_setting() {
    let empty = HeaderMap::new();
    for style in UsernameStyle::ALL {
        let (book, _) =
            crate::load::username::tests::styled_book(UsernameMode::CustomAuthorizer, style);
        for s in all_settings() {
            for (c, want) in expected_over(Transport::Mqtt, &s) {
                let l = book.login(0, c, 0, "r-x-0-0");
                let gate = match parse_username_with(&l.username, &s) {
                    Err(_) => GateVerdict::Refused(GateRejection::MalformedUsername),
                    Ok(p) => verdict(&RequestCredentials {
                        headers: &empty,
                        query: &[],
                        username: &p.pairs,
                        settings: s,
                    }),
                };
                let p = Presented {
                    headers: &empty,
                    query: None,
                    username: Some(&l.username),
                };
                let got = explained(&s, &p);
                assert_eq!(
                    (got, gate),
                    (want, want),
                    "{} {c:?} {}",
                    style.as_str(),
                    s.describe()
                );
            }
        }
    }
}

/// What the lines say for the common causes: where the credential was found, the base64url alphabet, the key's
/// verdict, the inactive authorizer.
#[test]
fn the_lines_name_where_and_why() {
    let book = request_book();
    let s = GateSettings::default();
    let text = |c: Class, placement| {
        let req = book.request(0, c, 0, placement, "r-x-0-0");
        let e = explain_gate(
            &authorizers(),
            Some(0),
            &s,
            &Presented {
                headers: req.headers(),
                query: req.uri().query(),
                username: None,
            },
        );
        let lines: Vec<String> = e
            .items
            .iter()
            .map(|i| format!("[{}] {}", i.status.mark(), i.text))
            .collect();
        lines.join("\n")
    };
    let valid = text(Class::Valid, Placement::Headers);
    assert!(
        valid.contains("found as header \"x-my-app-custom-key\""),
        "{valid}"
    );
    assert!(
        valid.contains("[ok] key \"k\" (rsa-2048): the signature matches"),
        "{valid}"
    );
    let url = text(Class::Forged(Forgery::Base64Url), Placement::Query);
    assert!(
        url.contains("base64url alphabet")
            && url.contains("(percent-decoded)")
            && url
                .contains("[skip] key \"k\" (rsa-2048): not tried (the signature does not decode)"),
        "{url}"
    );
    let off = text(
        Class::Forged(Forgery::InactiveAuthorizer),
        Placement::Headers,
    );
    assert!(
        off.contains("\"Off\" (named by the request) is INACTIVE"),
        "{off}"
    );
    let short = text(Class::Forged(Forgery::Truncated), Placement::Headers);
    assert!(
        short.contains("wrong length") && short.contains("256 bytes"),
        "{short}"
    );
    let case = text(Class::Forged(Forgery::SignatureNameCase), Placement::Query);
    assert!(case.contains("differs only in case"), "{case}");
}
