//! The evaluator against hand-written documents: wildcards, deny precedence, odd shapes, variables, conditions.
use super::*;
use serde_json::json;

const NONE: Variables<'static> = Variables { client_id: None };

fn g(p: &str, t: &str) -> bool {
    glob(&literal_pattern(p), t)
}

fn doc(effect: &str, action: Value, resource: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": resource}]})
}

fn arn(topic: &str) -> String {
    topic_arn("eu-west-1", "123456789012", topic)
}

#[test]
fn wildcards() {
    assert!(g("*", ""));
    assert!(g("a*c", "abbbc"));
    assert!(g("topic/*", "topic/a/b/c"), "star crosses slashes");
    assert!(g("a?c", "abc"));
    assert!(!g("a?c", "ac"));
    assert!(!g("a?c", "abbc"));
    assert!(g("*a*b*c*", "xxaxxbxxcxx"));
    assert!(!g("*a*b*c*", "xxaxxcxxbxx"));
    assert!(!g("abc", "abcd"));
    assert!(g("t/+/#", "t/+/#"), "MQTT wildcards are literal");
    assert!(!g("t/+", "t/x"));
    assert!(g("h\u{e9}llo?", "h\u{e9}llo\u{e9}"));
    assert!(!g(&"*a".repeat(30), &"a".repeat(29)));
    // A star backtracks a character at a time, however many bytes it is.
    assert!(g("*\u{e9}x", "\u{e9}\u{e9}\u{1f600}\u{e9}x"));
    assert!(g("a*?z", "a\u{1f600}\u{e9}z"));
    assert!(!g("a*??z", "a\u{1f600}z"));
    assert!(g("?", "\u{1f600}") && !g("?", "\u{e9}\u{e9}") && !g("??", "\u{e9}"));
    assert!(!g("\u{c9}", "\u{e9}"), "literals are case-sensitive");
}

#[test]
fn actions_match_ascii_case_insensitively() {
    let statement = |action: Value| json!({"Effect": "Allow", "Action": action, "Resource": "*"});
    assert!(action_matches(
        &statement(json!("IOT:publish")),
        "iot:Publish"
    ));
    assert!(action_matches(&statement(json!("iot:*")), "IoT:Connect"));
    assert!(action_matches(
        &statement(json!(["iot:Receive", "Iot:Pub?ish"])),
        "iot:PUBLISH"
    ));
    assert!(!action_matches(
        &statement(json!("iot:Publish")),
        "iot:Publis"
    ));
    assert!(!action_matches(
        &statement(json!("iot:Subscribe")),
        "iot:Publish"
    ));
    let not = json!({"Effect": "Allow", "NotAction": "IOT:CONNECT", "Resource": "*"});
    assert!(!action_matches(&not, "iot:Connect"));
    assert!(action_matches(&not, "iot:Publish"));
}

#[test]
fn the_seed_policy_allows_its_topic_only() {
    let seed = doc(
        "Allow",
        json!("iot:Publish"),
        json!("arn:aws:iot:*:*:topic/customAuhtTestTopic"),
    );
    let docs = [seed];
    assert_eq!(
        evaluate(&docs, "iot:Publish", &arn("customAuhtTestTopic"), &NONE),
        Decision::Allow
    );
    assert_eq!(
        evaluate(&docs, "iot:Publish", &arn("otherTopic"), &NONE),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&docs, "iot:Publish", &arn("customauhttesttopic"), &NONE),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&docs, "iot:Subscribe", &arn("customAuhtTestTopic"), &NONE),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&docs, "IOT:publish", &arn("customAuhtTestTopic"), &NONE),
        Decision::Allow
    );
}

#[test]
fn deny_wins_in_any_order_and_across_documents() {
    let allow = doc("Allow", json!(["iot:Connect", "iot:*"]), json!("*"));
    let deny = doc(
        "Deny",
        json!("iot:Publish"),
        json!(["arn:aws:iot:*:*:topic/secret/*"]),
    );
    for docs in [[allow.clone(), deny.clone()], [deny, allow]] {
        assert_eq!(
            evaluate(&docs, "iot:Publish", &arn("secret/x"), &NONE),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate(&docs, "iot:Publish", &arn("public/x"), &NONE),
            Decision::Allow
        );
    }
    assert_eq!(
        evaluate::<Value>(&[], "iot:Publish", &arn("x"), &NONE),
        Decision::ImplicitDeny
    );
}

#[test]
fn statement_may_be_a_single_object_and_odd_shapes_match_nothing() {
    let single =
        json!({"Statement": {"Effect": "Allow", "Action": "iot:Publish", "Resource": "*"}});
    assert_eq!(
        evaluate(&[single], "iot:Publish", &arn("t"), &NONE),
        Decision::Allow
    );
    let odd = [
        json!({"Statement": [{"Effect": "allow", "Action": "iot:Publish", "Resource": "*"}]}),
        json!({"Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]}),
        json!({"Statement": [{"Effect": "Allow", "Resource": "*"}]}),
        json!({"Statement": "Allow everything"}),
        json!({}),
    ];
    assert_eq!(
        evaluate(&odd, "iot:Publish", &arn("t"), &NONE),
        Decision::ImplicitDeny
    );
}

#[test]
fn client_id_substitution_and_escapes() {
    let docs = [doc(
        "Allow",
        json!("iot:Publish"),
        json!("arn:aws:iot:*:*:topic/devices/${iot:ClientId}/*"),
    )];
    let dev = Variables {
        client_id: Some("dev1"),
    };
    assert_eq!(
        evaluate(&docs, "iot:Publish", &arn("devices/dev1/up"), &dev),
        Decision::Allow
    );
    assert_eq!(
        evaluate(&docs, "iot:Publish", &arn("devices/dev2/up"), &dev),
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&docs, "iot:Publish", &arn("devices/dev1/up"), &NONE),
        Decision::ImplicitDeny
    );
    let star_id = Variables {
        client_id: Some("*"),
    };
    assert_eq!(
        evaluate(&docs, "iot:Publish", &arn("devices/any/up"), &star_id),
        Decision::ImplicitDeny
    );
    let escaped = [doc(
        "Allow",
        json!("iot:Publish"),
        json!("arn:aws:iot:*:*:topic/a${*}b"),
    )];
    assert_eq!(
        evaluate(&escaped, "iot:Publish", &arn("a*b"), &NONE),
        Decision::Allow
    );
    assert_eq!(
        evaluate(&escaped, "iot:Publish", &arn("axb"), &NONE),
        Decision::ImplicitDeny
    );
    let unknown = [doc(
        "Allow",
        json!("iot:Publish"),
        json!("arn:aws:iot:*:*:topic/${iot:Nope}"),
    )];
    assert_eq!(
        evaluate(&unknown, "iot:Publish", &arn(""), &NONE),
        Decision::ImplicitDeny
    );
}

#[test]
fn not_action_not_resource_and_conditions() {
    let not = json!({"Statement": [{"Effect": "Allow", "NotAction": "iot:Subscribe",
        "NotResource": "arn:aws:iot:*:*:topic/private"}]});
    assert_eq!(
        evaluate(std::slice::from_ref(&not), "iot:Publish", &arn("t"), &NONE),
        Decision::Allow
    );
    assert_eq!(
        evaluate(
            std::slice::from_ref(&not),
            "iot:Publish",
            &arn("private"),
            &NONE
        ),
        Decision::ImplicitDeny
    );
    let cond_allow = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*",
        "Condition": {"Bool": {"x": "true"}}}]});
    assert_eq!(
        evaluate(&[cond_allow], "iot:Publish", &arn("t"), &NONE),
        Decision::ImplicitDeny
    );
    let cond_deny = json!({"Statement": [{"Effect": "Deny", "Action": "iot:Connect", "Resource": "x",
        "Condition": {}}]});
    let all = doc("Allow", json!("*"), json!("*"));
    assert_eq!(
        evaluate(&[all, cond_deny], "iot:Publish", &arn("t"), &NONE),
        Decision::ExplicitDeny
    );
}

#[test]
fn the_deciding_statement_is_named_and_variables_expand_as_evaluated() {
    let allow = doc("Allow", json!("iot:*"), json!("*"));
    let deny = doc(
        "Deny",
        json!("iot:Publish"),
        json!("arn:aws:iot:*:*:topic/x"),
    );
    let docs = [allow, deny];
    assert_eq!(
        evaluate_explained(&docs, "iot:Publish", &arn("x"), &NONE),
        (Decision::ExplicitDeny, Some((1, 0)))
    );
    assert_eq!(
        evaluate_explained(&docs, "iot:Publish", &arn("y"), &NONE),
        (Decision::Allow, Some((0, 0)))
    );
    assert_eq!(
        evaluate_explained::<Value>(&[], "iot:Publish", &arn("y"), &NONE),
        (Decision::ImplicitDeny, None)
    );
    let dev = Variables {
        client_id: Some("d1"),
    };
    assert_eq!(
        expand("topic/${iot:ClientId}/*${*}", &dev).as_deref(),
        Some("topic/d1/**")
    );
    assert_eq!(expand("topic/${iot:ClientId}", &NONE), None);
    assert_eq!(
        variables("a/${iot:ClientId}/${iot:Connection.Thing.ThingName}/${*}"),
        ["iot:ClientId", "iot:Connection.Thing.ThingName", "*"]
    );
}
