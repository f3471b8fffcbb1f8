//! Tests of [`super::FunctionFile`]: every mode, its fields, and the errors that name them.

use super::*;
use serde_json::json;

fn function(text: &str) -> anyhow::Result<FunctionSpec> {
    let f: FunctionFile = toml::from_str(text)?;
    f.to_spec("s.toml")
}

#[test]
fn an_empty_function_is_the_default_allow() {
    let spec = function("").unwrap();
    assert_eq!(
        format!("{:?}", spec.behaviour),
        format!("{:?}", FunctionBehaviour::default_allow())
    );
    assert!(spec.latency.is_zero());
}

#[test]
fn allow_with_tables_and_json_strings() {
    let spec = function(
        r#"
        mode = "allow"
        principal_id = "myPrincipalDevice123"
        latency_ms = 25
        refresh_after_s = 600
        policy_documents = [
          '{"Version":"2012-10-17","Statement":[{"Action":"iot:Publish","Effect":"Allow","Resource":"*"}]}',
          { Version = "2012-10-17", Statement = [{ Action = "iot:Connect", Effect = "Allow", Resource = "*" }] },
        ]
        "#,
    )
    .unwrap();
    assert_eq!(spec.latency, Duration::from_millis(25));
    let FunctionBehaviour::Allow {
        principal_id,
        policy_documents,
        disconnect_after_s,
        refresh_after_s,
    } = spec.behaviour
    else {
        panic!("not allow")
    };
    assert_eq!(
        (principal_id.as_str(), disconnect_after_s, refresh_after_s),
        ("myPrincipalDevice123", 86400, 600)
    );
    assert!(
        policy_documents[0].is_string(),
        "JSON strings stay strings, as a Lambda would send them"
    );
    assert_eq!(
        policy_documents[1],
        json!({"Version": "2012-10-17", "Statement": [{"Action": "iot:Connect", "Effect": "Allow", "Resource": "*"}]})
    );
}

#[test]
fn table_with_fallback() {
    let spec = function(
        r#"
        mode = "table"
        table = [{ token = "a", response = '{"isAuthenticated": false}' }]
        fallback = { mode = "allow", principal_id = "x" }
        "#,
    )
    .unwrap();
    let FunctionBehaviour::Table { entries, fallback } = spec.behaviour else {
        panic!("not a table")
    };
    assert_eq!(
        entries,
        vec![("a".to_string(), json!({"isAuthenticated": false}))]
    );
    assert!(
        matches!(*fallback, FunctionBehaviour::Allow { ref principal_id, .. } if principal_id == "x")
    );
    let spec = function("mode = \"table\"").unwrap();
    assert!(
        matches!(spec.behaviour, FunctionBehaviour::Table { ref fallback, .. } if matches!(**fallback, FunctionBehaviour::Deny))
    );
}

#[test]
fn replay_resistant_with_its_settings_and_policies() {
    let spec = function(
        r#"
        mode = "replay_resistant"
        max_token_age_s = 120
        nonce_capacity = 10
        refresh_after_s = 600
        policy_documents = ['{"Version":"2012-10-17","Statement":[]}']
        "#,
    )
    .unwrap();
    let FunctionBehaviour::ReplayResistant(rules) = spec.behaviour else {
        panic!("not replay_resistant")
    };
    assert_eq!(
        (
            rules.max_token_age_s,
            rules.max_clock_skew_s,
            rules.max_session_s
        ),
        (120, 30, 86400)
    );
    assert_eq!((rules.nonce_capacity, rules.refresh_after_s), (10, 600));
    assert!(rules.policy_documents[0].is_string());
    let d = function("mode = \"replay_resistant\"").unwrap();
    assert!(
        matches!(d.behaviour, FunctionBehaviour::ReplayResistant(ref r) if *r == ReplayRules::default())
    );
    let msg = |text: &str| format!("{:#}", function(text).unwrap_err());
    let m = msg("mode = \"replay_resistant\"\nprincipal_id = \"x\"");
    assert!(m.contains("function.principal_id"), "{m}");
    let m = msg("max_token_age_s = 5");
    assert!(
        m.contains("max_token_age_s") && m.contains("replay_resistant"),
        "{m}"
    );
    let m = msg("mode = \"replay_resistant\"\nnonce_capacity = 0");
    assert!(
        m.contains("s.toml: function.nonce_capacity") && m.contains("got 0"),
        "{m}"
    );
}

#[test]
fn errors_name_the_field_and_value() {
    let msg = |text: &str| format!("{:#}", function(text).unwrap_err());
    assert!(msg("mode = \"maybe\"").contains("maybe"));
    assert!(msg("colour = 1").contains("colour"));
    let m = msg("policy_documents = ['not json']");
    assert!(
        m.contains("s.toml") && m.contains("function.policy_documents[0]"),
        "{m}"
    );
    assert!(msg("policy_documents = ['[1]']").contains("does not hold an object"));
    assert!(msg("policy_documents = [5]").contains("integer"));
    let m = msg("mode = \"deny\"\nprincipal_id = \"x\"");
    assert!(m.contains("mode = \"allow\""), "{m}");
    let m = msg("mode = \"table\"\ntable = [{ token = \"t\", response = \"{\" }]");
    assert!(
        m.contains("function.table[0].response") && m.contains("\"t\""),
        "{m}"
    );
    assert!(msg("table = [{ token = \"t\", response = \"{}\" }]").contains("mode = \"table\""));
}
