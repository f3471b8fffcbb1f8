//! The AWS documentation's example policies (`tests/policy/aws-*.json`) and the classic mistakes
//! (`tests/policy/mistake-*.json`), checked against devices given by hand.

use super::*;

fn fixture(name: &str) -> Input {
    let path = format!("{}/tests/policy/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    read_text(&text, name).unwrap()
}

fn mqtt(id: &str, publish: Option<&str>, subscribe: Option<&str>) -> Device {
    Device {
        transport: Transport::MqttTls,
        client_id: Some(id.into()),
        publish: publish.map(Into::into),
        subscribe: subscribe.map(Into::into),
    }
}

fn aws_account() -> Account {
    let from = || Some(("x".to_string(), "test".to_string()));
    let mut a = Account::resolve(from(), from(), &[]);
    a.region = "us-east-1".into();
    a.account_id = "123456789012".into();
    a
}

fn run(name: &str, devices: Vec<Device>) -> Report {
    check(&fixture(name), &Devices::Listed(devices), &aws_account())
}

fn rules(r: &Report) -> Vec<&'static str> {
    r.findings.iter().map(|f| f.rule).collect()
}

#[test]
fn the_docs_per_client_publish_policy_allows_its_clients_and_names_the_statement_otherwise() {
    let r = run(
        "aws-pubsub-unregistered-5.json",
        vec![
            mqtt("client1", Some("client1/temp"), None),
            mqtt("client4", Some("client4/temp"), None),
            mqtt("client2", Some("client1/temp"), None),
        ],
    );
    assert!(!r.passed());
    assert!(r.findings.is_empty(), "{:?}", r.findings);
    let connect = r
        .denials
        .iter()
        .find(|d| d.action == "iot:Connect")
        .unwrap();
    assert_eq!(connect.requests, 1);
    assert_eq!(connect.decided_by, "no statement allows");
    let publish = r
        .denials
        .iter()
        .find(|d| d.action == "iot:Publish")
        .unwrap();
    assert_eq!(publish.requests, 1, "client2 publishing under client1/");
    assert!(
        publish.hint.as_deref().unwrap().contains(
            "document 1 statement 2: arn:aws:iot:us-east-1:123456789012:topic/${iot:ClientId}/* becomes \
             arn:aws:iot:us-east-1:123456789012:topic/client2/* for client id client2"
        ),
        "{:?}",
        publish.hint
    );
    let ok = run(
        "aws-pubsub-unregistered-5.json",
        vec![mqtt("client3", Some("client3/a/b"), None)],
    );
    assert!(ok.passed(), "{}", text_of(&ok));
}

#[test]
fn the_docs_subscribe_and_receive_policy_passes_and_its_deny_names_the_deny_statement() {
    let six = run(
        "aws-pubsub-unregistered-6.json",
        vec![mqtt("client1", None, Some("client1/room7"))],
    );
    assert!(six.passed(), "{}", text_of(&six));
    assert_eq!(six.checked.len(), 3, "connect, subscribe, receive");
    let nine = run(
        "aws-pubsub-unregistered-9.json",
        vec![
            mqtt("client1", Some("client1/bar"), None),
            mqtt("client2", Some("client2/foo"), None),
        ],
    );
    assert_eq!(nine.denials.len(), 1);
    assert_eq!(nine.denials[0].decided_by, "document 1 statement 3 (Deny)");
    assert_eq!(
        nine.denials[0].examples[0].resource,
        "arn:aws:iot:us-east-1:123456789012:topic/client1/bar"
    );
}

#[test]
fn thing_variables_never_match_a_custom_authorizer_connection() {
    let r = run(
        "aws-pubsub-registered-5.json",
        vec![mqtt("thing1", Some("thing1/x"), None)],
    );
    assert_eq!(r.denials.len(), 2);
    assert_eq!(
        rules(&r),
        ["variable_never_set", "variable_never_set"],
        "{}",
        text_of(&r)
    );
    assert!(
        r.denials[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("AWS does not set")
    );
}

#[test]
fn mqtt_wildcards_in_a_policy_are_flagged() {
    let r = run(
        "aws-pubsub-wildcard-4.json",
        vec![mqtt("client1", None, Some("some/thing/topic"))],
    );
    assert_eq!(rules(&r), ["mqtt_wildcard"]);
    let sub = r
        .denials
        .iter()
        .find(|d| d.action == "iot:Subscribe")
        .unwrap();
    assert_eq!(sub.decided_by, "no statement allows");
    // The filter written with the very `+` is allowed: literal match.
    let literal = run(
        "aws-pubsub-wildcard-4.json",
        vec![mqtt("client1", None, Some("some/+/topic"))],
    );
    assert!(literal.denials.iter().all(|d| d.action == "iot:Receive"));
}

#[test]
fn the_docs_sample_response_keeps_placeholders_and_a_malformed_arn() {
    let r = run(
        "aws-custom-auth-response.json",
        vec![mqtt("dev1", Some("telemetry/dev1"), Some("telemetry/dev1"))],
    );
    let found = rules(&r);
    assert_eq!(found[0], "malformed_arn", "{}", text_of(&r));
    assert!(found.contains(&"wrong_region") && found.contains(&"wrong_account"));
    assert_eq!(r.checked[0].allowed, 1, "Connect on * is allowed");
    assert_eq!(r.denials.len(), 3, "publish, subscribe, receive");
}

#[test]
fn a_condition_is_flagged_as_not_evaluated() {
    let r = run(
        "aws-basic-variables.json",
        vec![mqtt("clientid1", Some("my/topic/clientid1"), None)],
    );
    assert_eq!(rules(&r), ["condition_not_evaluated"]);
    assert_eq!(r.denials.len(), 1);
}

#[test]
fn an_aws_cli_answer_with_string_documents_is_read() {
    let input = fixture("answer-aws-cli-test-invoke.json");
    assert_eq!(input.documents.len(), 1);
    let r = check(
        &input,
        &Devices::Listed(vec![mqtt(
            "d1",
            Some("devices/d1/up"),
            Some("devices/d1/down"),
        )]),
        &aws_account(),
    );
    assert!(r.passed(), "{}", text_of(&r));
}

#[test]
fn the_classic_mistakes_are_named() {
    let dev = || {
        vec![mqtt(
            "ts-1",
            Some("tokenstorm/ts-1"),
            Some("tokenstorm/ts-1"),
        )]
    };
    let sub = run("mistake-subscribe-on-topic.json", dev());
    assert_eq!(rules(&sub), ["subscribe_needs_topicfilter"]);
    assert_eq!(sub.denials.len(), 1);
    assert_eq!(sub.denials[0].action, "iot:Subscribe");
    let publish = run("mistake-publish-on-topicfilter.json", dev());
    assert_eq!(rules(&publish), ["publish_needs_topic"]);
    let receive = run("mistake-no-receive.json", dev());
    assert_eq!(rules(&receive), ["missing_receive"]);
    assert!(receive.findings[0].message.contains("ts-1"));
    let connect = run("mistake-connect-on-topic.json", dev());
    assert_eq!(rules(&connect), ["connect_needs_client"]);
    let id = run("mistake-clientid-topic.json", dev());
    assert!(
        id.denials[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("topic/devices/ts-1")
    );
}

#[test]
fn https_devices_have_no_client_id_and_a_refused_response_denies_everything() {
    let https = Device {
        transport: Transport::Https,
        client_id: None,
        publish: Some("devices/x".into()),
        subscribe: None,
    };
    let r = check(
        &fixture("mistake-clientid-topic.json"),
        &Devices::Listed(vec![https.clone()]),
        &aws_account(),
    );
    assert!(
        r.denials[0]
            .hint
            .as_deref()
            .unwrap()
            .contains("HTTPS publish has no client id")
    );
    let no = read_text(r#"{"isAuthenticated": false}"#, "no.json").unwrap();
    let r = check(&no, &Devices::Listed(vec![https]), &aws_account());
    assert!(r.denials[0].decided_by.contains("does not authenticate"));
    let bad = read_text(
        r#"{"isAuthenticated": true, "principalId": "a-b", "policyDocuments": []}"#,
        "b.json",
    )
    .unwrap();
    assert!(bad.refused.unwrap().contains("invalid"));
    // A document that is not JSON is the function's fault, judged as the emulator judges it: all denied.
    let broken = r#"{"isAuthenticated": true, "principalId": "a", "policyDocuments": ["{"]}"#;
    let broken = read_text(broken, "b.json").unwrap();
    assert!(broken.refused.unwrap().contains("policyDocuments[0]"));
}

#[test]
fn bad_input_names_the_file_and_the_problem() {
    for (text, want) in [
        ("{", "x.json: not JSON"),
        ("5", "got a number"),
        (r#"{"Version": "2012-10-17"}"#, "no Statement"),
        (
            r#"{"Statement": "all"}"#,
            "Statement must be an object or a list",
        ),
        (r#"[5]"#, "[0]: a policy document must be a JSON object"),
        (r#"{"policyDocuments": []}"#, "needs isAuthenticated"),
    ] {
        let err = read_text(text, "x.json").unwrap_err();
        assert!(
            err.starts_with("x.json") && err.contains(want),
            "{text}: {err}"
        );
    }
}

#[test]
fn the_account_comes_from_the_policy_when_not_known_and_placeholders_are_flagged() {
    let input = fixture("aws-pubsub-unregistered-5.json");
    let a = Account::resolve(None, None, &input.documents);
    assert_eq!(
        (a.region.as_str(), a.account_id.as_str()),
        ("us-east-1", "123456789012")
    );
    assert!(a.region_from.is_none());
    let resp = fixture("aws-custom-auth-response.json");
    let a = Account::resolve(None, None, &resp.documents);
    let r = check(&resp, &Devices::Listed(vec![]), &a);
    assert!(
        rules(&r).contains(&"wrong_account"),
        "accountId is not 12 digits"
    );
    assert!(
        rules(&r).contains(&"wrong_region"),
        "region is the placeholder `region`"
    );
    let a = Account::resolve(None, None, &input.documents);
    let r = check(&input, &Devices::Listed(vec![]), &a);
    assert!(
        r.findings.is_empty(),
        "us-east-1 and 123456789012 look real: {:?}",
        r.findings
    );
    assert_eq!(
        account::endpoint_region("abc-ats.iot.eu-central-1.amazonaws.com"),
        Some("eu-central-1")
    );
    assert_eq!(account::endpoint_region("localhost"), None);
}

fn text_of(r: &Report) -> String {
    text(r, true)
}
