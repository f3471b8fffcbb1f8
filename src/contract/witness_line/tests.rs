//! The witness line's builder and parser on hand-written events and log messages (the helpers' real output is
//! checked against fixtures of it).

use serde_json::json;

use super::*;

fn https_event() -> Value {
    json!({
        "token": "tok",
        "signatureVerified": true,
        "protocols": ["tls", "http"],
        "protocolData": {
            "tls": {"serverName": "e.example"},
            "http": {"headers": {"x-tokenstorm-attempt": "ab12-valid-3-0", "x-k": "tok"}, "queryString": "?qos=1"}
        },
        "connectionMetadata": {"id": "c1"}
    })
}

#[test]
fn https_event_names_its_attempt_and_hashes_the_token() {
    let resp = json!({"isAuthenticated": true, "principalId": "p"});
    let line = from_event(&https_event(), Some(&resp), "req-1", 1_796_288_400_123);
    assert_eq!(
        line,
        WitnessLine {
            tokenstorm_witness: 1,
            run: Some("ab12".into()),
            attempt: Some("ab12-valid-3-0".into()),
            protocols: vec!["tls".into(), "http".into()],
            signature_verified: true,
            token_sha256: Some(token_sha256("tok")),
            authenticated: Some(true),
            request_id: "req-1".into(),
            unix_ms: 1_796_288_400_123,
        }
    );
    // Only the first 8 bytes, never the token.
    assert_eq!(token_sha256("tok"), "1a7674eb4ee78df7");
    let text = line.to_line();
    assert!(!text.contains("\"tok\"") && !text.contains('\n'), "{text}");
    assert!(
        text.starts_with("{\"tokenstorm_witness\":1,\"run\":\"ab12\",\"attempt\":"),
        "{text}"
    );
    assert_eq!(parse(&text), Some(line));
}

#[test]
fn header_name_is_case_insensitive_and_an_empty_header_is_absent() {
    let mut e = https_event();
    e["protocolData"]["http"]["headers"] = json!({"X-TokenStorm-Attempt": "r9-replayed-0-1"});
    assert_eq!(
        from_event(&e, None, "", 0).attempt.as_deref(),
        Some("r9-replayed-0-1")
    );
    e["protocolData"]["http"]["headers"] = json!({"x-tokenstorm-attempt": ""});
    let line = from_event(&e, None, "", 0);
    assert_eq!(
        (line.run, line.attempt, line.authenticated),
        (None, None, None)
    );
}

#[test]
fn mqtt_username_and_websocket_upgrade_headers() {
    let mqtt = json!({
        "token": "t", "signatureVerified": true, "protocols": ["tls", "mqtt"],
        "protocolData": {"tls": {}, "mqtt": {"username": "ts-ab12-forged.hex_digest-0-7?x-amz-customauthorizer-name=A&k=t", "clientId": "d"}}
    });
    let line = from_event(&mqtt, Some(&json!({"isAuthenticated": false})), "r", 5);
    assert_eq!(line.attempt.as_deref(), Some("ab12-forged.hex_digest-0-7"));
    assert_eq!(line.run.as_deref(), Some("ab12"));
    assert_eq!(line.authenticated, Some(false));
    // Over WebSocket both parts are there; the upgrade header wins.
    let ws = json!({
        "signatureVerified": false, "protocols": ["tls", "http", "mqtt"],
        "protocolData": {"http": {"headers": {"x-tokenstorm-attempt": "w1-valid-0-0"}},
                         "mqtt": {"username": "ts-other-valid-0-0?k=v"}}
    });
    let line = from_event(&ws, None, "r", 5);
    assert_eq!(line.attempt.as_deref(), Some("w1-valid-0-0"));
    assert_eq!(line.protocols, ["tls", "http", "mqtt"]);
    assert!(!line.signature_verified);
    assert_eq!(line.token_sha256, None);
}

#[test]
fn an_event_without_attempt_id_or_shape_still_gives_a_line() {
    for event in [
        json!({}),
        json!(null),
        json!({"protocolData": {"mqtt": {"username": "plain?k=v"}}}),
    ] {
        let line = from_event(&event, Some(&json!({"isAuthenticated": "yes"})), "r", 1);
        assert_eq!(
            (line.attempt, line.run, line.authenticated),
            (None, None, None)
        );
        assert!(line.protocols.is_empty() && !line.signature_verified);
    }
}

#[test]
fn parse_finds_the_line_bare_after_the_node_prefix_and_in_json_log_format() {
    let line = from_event(&https_event(), None, "5f0c", 42);
    let text = line.to_line();
    assert_eq!(parse(&format!("{text}\n")), Some(line.clone()));
    let node = format!("2026-12-03T09:00:00.123Z\t5f0c-aa\tINFO\t{text}\n");
    assert_eq!(parse(&node), Some(line.clone()));
    let json_format = json!({"timestamp": "2026-12-03T09:00:00.123Z", "level": "INFO",
                             "requestId": "5f0c", "message": text});
    assert_eq!(parse(&json_format.to_string()), Some(line));
}

#[test]
fn parse_refuses_every_other_message() {
    for other in [
        "",
        "START RequestId: 5f0c Version: $LATEST",
        "END RequestId: 5f0c",
        "REPORT RequestId: 5f0c\tDuration: 1.00 ms\tBilled Duration: 1 ms",
        "{\"isAuthenticated\": true}",
        "{\"tokenstorm_witness\":2,\"run\":null,\"attempt\":null,\"protocols\":[],\"signature_verified\":true,\"token_sha256\":null,\"authenticated\":null,\"request_id\":\"\",\"unix_ms\":1}",
        "{\"tokenstorm_witness\":1,\"run\":",
        "2026-12-03T09:00:00.123Z\t5f0c\tINFO\thello",
        "{\"level\":\"INFO\",\"message\":\"hello\"}",
    ] {
        assert_eq!(parse(other), None, "{other}");
    }
}
