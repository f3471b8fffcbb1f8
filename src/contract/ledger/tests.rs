//! The ledger's JSON is an external format: these pin it byte for byte.

use super::*;
use crate::contract::Transport;

/// An entry as the ledger wrote it before the fields were typed (every field, in order).
const OLD_JSON: &str = r#"{"seq":7,"unix_ms":1700000000000,"authorizer":"A","attempt_id":"r1-valid-0-1","transport":"http","trigger":"publish","signature_verified":true,"event":{"token":"t"},"response":null,"verdict":"deny","deny_reason":"function_error: Boom: bad","duration_us":2100,"backend":"runtime_api","billed_ms":3,"memory_mb":256,"cold_start":true,"throttled":false}"#;

#[test]
fn an_entry_round_trips_byte_for_byte() {
    let e: LedgerEntry = serde_json::from_str(OLD_JSON).unwrap();
    assert_eq!(e.transport, Route::PLAIN_HTTP);
    assert_eq!(e.trigger, Trigger::Publish);
    assert_eq!(e.verdict, Verdict::Deny);
    assert_eq!(e.backend, BackendKind::RuntimeApi);
    assert_eq!(
        e.deny_reason,
        Some(DenyReason::FunctionError("Boom: bad".into()))
    );
    assert_eq!(serde_json::to_string(&e).unwrap(), OLD_JSON);
}

#[test]
fn every_deny_reason_form_is_written_as_it_was() {
    let forms = [
        ("not_authenticated", DenyReason::NotAuthenticated(None)),
        (
            "not_authenticated: nonce_reused",
            DenyReason::NotAuthenticated(Some("nonce_reused".into())),
        ),
        (
            "invalid_response: principalId must be 1-128 alphanumeric characters",
            DenyReason::InvalidResponse("principalId must be 1-128 alphanumeric characters".into()),
        ),
        ("policy_explicit_deny", DenyReason::PolicyExplicitDeny),
        ("policy_implicit_deny", DenyReason::PolicyImplicitDeny),
        ("timeout", DenyReason::Timeout),
        ("throttled", DenyReason::Throttled),
        (
            "function_error: ValueError",
            DenyReason::FunctionError("ValueError".into()),
        ),
        (
            "init_error: exited with 1",
            DenyReason::InitError("exited with 1".into()),
        ),
        ("crashed: signal 9", DenyReason::Crashed("signal 9".into())),
        (
            "invoke_error: connection refused",
            DenyReason::InvokeError("connection refused".into()),
        ),
        ("timeout: odd", DenyReason::Other("timeout: odd".into())),
        ("something_else", DenyReason::Other("something_else".into())),
    ];
    for (text, reason) in forms {
        assert_eq!(DenyReason::parse(text), reason, "{text}");
        assert_eq!(reason.to_string(), text);
        let json = serde_json::to_string(&reason).unwrap();
        assert_eq!(json, serde_json::to_string(text).unwrap());
        assert_eq!(serde_json::from_str::<DenyReason>(&json).unwrap(), reason);
    }
}

#[test]
fn old_entries_without_the_later_fields_still_parse() {
    let old = r#"{"seq":1,"unix_ms":1,"authorizer":"A","attempt_id":null,"transport":"mqtt_tls","trigger":"connect","signature_verified":true,"event":{},"response":null,"verdict":"allow","deny_reason":null,"duration_us":5}"#;
    let e: LedgerEntry = serde_json::from_str(old).unwrap();
    assert_eq!(e.transport, Route::of(Transport::MqttTls));
    assert_eq!(
        (
            e.backend,
            e.billed_ms,
            e.memory_mb,
            e.cold_start,
            e.throttled
        ),
        (BackendKind::InProcess, 0, DEFAULT_MEMORY_MB, false, false)
    );
    assert_eq!(
        e.billing(),
        Some((1, 128)),
        "0 billed ms: the measured duration, at least 1 ms"
    );
    assert!(serde_json::from_str::<LedgerEntry>(&old.replace("mqtt_tls", "ftp")).is_err());
}

#[test]
fn names_compare_with_their_strings() {
    assert!(Trigger::Refresh == "refresh" && Verdict::Allow == "allow");
    assert_eq!(BackendKind::InvokeApi.to_string(), "invoke_api");
    assert_eq!(
        serde_json::to_string(&BackendKind::InProcess).unwrap(),
        "\"in_process\""
    );
}

#[test]
fn billing_follows_lambda() {
    assert_eq!(lambda_billed_ms(0), 1);
    assert_eq!(lambda_billed_ms(1_000), 1);
    assert_eq!(lambda_billed_ms(1_001), 2);
    assert_eq!(billing(true, Some(5), 9_000, None), None);
    assert_eq!(billing(false, Some(5), 9_000, Some(512)), Some((5, 512)));
    assert_eq!(billing(false, None, 2_100, None), Some((3, 128)));
}
