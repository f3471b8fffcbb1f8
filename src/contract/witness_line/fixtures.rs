//! The helpers' real output (`src/contract/testdata/witness/`, made by its `regenerate` script from the events
//! there): every line parses, and says what [`from_event`] says for the same event, response and request id.
//! The request id names the case, `<event>-<outcome>`; outcome `raise` means the handler failed.

use serde_json::{Value, json};

use super::*;

const PYTHON_LOG: &str = include_str!("../testdata/witness/python.log");
const NODE_LOG: &str = include_str!("../testdata/witness/node.log");

/// The cases both generators run, in order (the Node one adds a failing callback-style handler, `mqtt-raise`).
const CASES: [&str; 6] = [
    "https-allow",
    "https_mixed_case-deny",
    "mqtt-deny",
    "wss-allow",
    "no_attempt-allow",
    "https-raise",
];

fn event(name: &str) -> Value {
    let text = match name {
        "https" => include_str!("../testdata/witness/events/https.json"),
        "https_mixed_case" => include_str!("../testdata/witness/events/https_mixed_case.json"),
        "mqtt" => include_str!("../testdata/witness/events/mqtt.json"),
        "wss" => include_str!("../testdata/witness/events/wss.json"),
        "no_attempt" => include_str!("../testdata/witness/events/no_attempt.json"),
        other => panic!("no fixture event {other}"),
    };
    serde_json::from_str(text).expect("fixture event is JSON")
}

/// Checks every line of `log` against [`from_event`]; returns the cases in order.
fn check(log: &str) -> Vec<String> {
    let mut cases = Vec::new();
    for message in log.lines() {
        let line = parse(message).unwrap_or_else(|| panic!("not a witness line: {message}"));
        let (name, outcome) = line.request_id.rsplit_once('-').expect("<event>-<outcome>");
        let response = match outcome {
            "allow" => Some(json!({"isAuthenticated": true})),
            "deny" => Some(json!({"isAuthenticated": false})),
            "raise" => None,
            other => panic!("unknown outcome {other}"),
        };
        let want = from_event(
            &event(name),
            response.as_ref(),
            &line.request_id,
            line.unix_ms,
        );
        assert_eq!(line, want, "{message}");
        assert!(line.unix_ms > 1_600_000_000_000, "{message}");
        assert!(
            !message.contains("MyStringThatNeedsToBeSigned"),
            "the token leaked: {message}"
        );
        cases.push(line.request_id.clone());
    }
    cases
}

#[test]
fn python_helper_lines_are_bare_and_match_from_event() {
    assert!(PYTHON_LOG.lines().all(|l| l.starts_with(MARKER)));
    assert_eq!(check(PYTHON_LOG), CASES);
}

#[test]
fn node_helper_lines_carry_lambdas_prefix_and_match_from_event() {
    for message in NODE_LOG.lines() {
        let fields: Vec<&str> = message.splitn(4, '\t').collect();
        assert_eq!(fields.len(), 4, "{message}");
        assert!(fields[0].ends_with('Z') && fields[2] == "INFO", "{message}");
        assert_eq!(
            parse(message).map(|l| l.request_id).as_deref(),
            Some(fields[1])
        );
    }
    let cases = check(NODE_LOG);
    assert_eq!(cases[..CASES.len()], CASES);
    assert_eq!(cases[CASES.len()..], ["mqtt-raise"]);
}

#[test]
fn fixture_attempts_are_the_ones_the_events_carry() {
    let lines: Vec<WitnessLine> = PYTHON_LOG.lines().filter_map(parse).collect();
    let attempts: Vec<Option<&str>> = lines.iter().map(|l| l.attempt.as_deref()).collect();
    assert_eq!(
        attempts,
        [
            Some("ab12cd34-valid-3-0"),
            Some("ab12cd34-forged.hex_digest-0-7"),
            Some("ab12cd34-replayed-5-2"),
            Some("ab12cd34-valid-9-4"),
            None,
            Some("ab12cd34-valid-3-0"),
        ]
    );
    assert!(lines.iter().all(|l| l.run.is_some() == l.attempt.is_some()));
    assert_eq!(lines[5].authenticated, None);
}
