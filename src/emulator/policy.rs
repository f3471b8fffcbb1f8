//! Evaluating IoT policies as AWS does (spec §4): default deny, any matching `Deny` wins, else any matching
//! `Allow` allows. Pure: documents, action, resource and variables in; a [`Decision`] out.
//!
//! Matching: `*` is any run of characters (including `/`), `?` exactly one; actions compare case-insensitively,
//! resources case-sensitively; MQTT `+` and `#` are plain characters. `${iot:ClientId}` is substituted (a
//! resource naming a variable the request does not have matches nothing); `${*}`, `${?}` and `${$}` are the
//! IAM escapes for literal `*`, `?` and `$`. `NotAction` and `NotResource` are honoured. A statement with a
//! `Condition` is not evaluated by the emulator: it never allows, and a `Deny` with one always applies (fail
//! closed).

use serde_json::Value;

/// The outcome of evaluating one action on one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A matching `Deny` statement.
    ExplicitDeny,
    /// Nothing allowed it.
    ImplicitDeny,
}

/// Values for policy variables.
#[derive(Debug, Clone, Copy, Default)]
pub struct Variables<'a> {
    /// `${iot:ClientId}`: MQTT only; `None` over HTTPS.
    pub client_id: Option<&'a str>,
}

/// `arn:aws:iot:<region>:<account>:topic/<topic>`.
pub fn topic_arn(region: &str, account: &str, topic: &str) -> String {
    format!("arn:aws:iot:{region}:{account}:topic/{topic}")
}

/// `arn:aws:iot:<region>:<account>:client/<clientId>` (`iot:Connect`).
pub fn client_arn(region: &str, account: &str, client_id: &str) -> String {
    format!("arn:aws:iot:{region}:{account}:client/{client_id}")
}

/// `arn:aws:iot:<region>:<account>:topicfilter/<filter>` (`iot:Subscribe`).
pub fn topicfilter_arn(region: &str, account: &str, filter: &str) -> String {
    format!("arn:aws:iot:{region}:{account}:topicfilter/{filter}")
}

/// Evaluates `action` on `resource` against every statement of every document.
pub fn evaluate(
    documents: &[Value],
    action: &str,
    resource: &str,
    vars: &Variables<'_>,
) -> Decision {
    evaluate_explained(documents, action, resource, vars).0
}

/// Which statement decided: (document index, statement index), both from 0.
pub type StatementRef = (usize, usize);

/// [`evaluate`], also naming the statement that decided: the matching `Deny`, or the first matching `Allow`;
/// `None` for an implicit deny (no statement allows). `tokenstorm policy check` reports it.
pub fn evaluate_explained(
    documents: &[Value],
    action: &str,
    resource: &str,
    vars: &Variables<'_>,
) -> (Decision, Option<StatementRef>) {
    let mut allowed = None;
    for (d, doc) in documents.iter().enumerate() {
        for (s, statement) in statements(doc).into_iter().enumerate() {
            let Some(effect) = statement.get("Effect").and_then(Value::as_str) else {
                continue;
            };
            let conditional = statement.get("Condition").is_some();
            let applies =
                || action_matches(statement, action) && resource_matches(statement, resource, vars);
            match effect {
                "Deny" if conditional || applies() => {
                    return (Decision::ExplicitDeny, Some((d, s)));
                }
                "Allow" if !conditional && allowed.is_none() && applies() => allowed = Some((d, s)),
                _ => {}
            }
        }
    }
    match allowed {
        Some(at) => (Decision::Allow, Some(at)),
        None => (Decision::ImplicitDeny, None),
    }
}

/// A resource pattern with its policy variables expanded as [`evaluate`] expands them (wildcards shown as
/// written); `None` when it names a variable the request lacks or one the emulator does not know.
pub fn expand(pattern: &str, vars: &Variables<'_>) -> Option<String> {
    let toks = substitute(pattern, vars)?;
    Some(
        toks.iter()
            .map(|t| match t {
                Tok::Lit(c) => *c,
                Tok::Star => '*',
                Tok::One => '?',
            })
            .collect(),
    )
}

/// The variables `${...}` a pattern names, in order (the IAM escapes `${*}`, `${?}`, `${$}` included).
pub fn variables(pattern: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// The variables [`evaluate`] substitutes (besides the escapes).
pub const KNOWN_VARIABLES: [&str; 1] = ["iot:ClientId"];

/// `Statement` may be one object or a list.
pub fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    }
}

/// A string or a list of strings; anything else yields nothing.
pub fn strings(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether the statement's `Action` (or `NotAction`) covers `action`.
pub fn action_matches(statement: &Value, action: &str) -> bool {
    let action = action.to_ascii_lowercase();
    let any = |v: &Value| {
        strings(v)
            .iter()
            .any(|p| glob(&literal_pattern(&p.to_ascii_lowercase()), &action))
    };
    match (statement.get("Action"), statement.get("NotAction")) {
        (Some(a), None) => any(a),
        (None, Some(n)) => !any(n),
        _ => false,
    }
}

fn resource_matches(statement: &Value, resource: &str, vars: &Variables<'_>) -> bool {
    let any = |v: &Value| {
        strings(v)
            .iter()
            .any(|p| substitute(p, vars).is_some_and(|pattern| glob(&pattern, resource)))
    };
    match (statement.get("Resource"), statement.get("NotResource")) {
        (Some(r), None) => any(r),
        (None, Some(n)) => !any(n),
        _ => false,
    }
}

/// A pattern element: a literal character or a wildcard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Star,
    One,
}

fn literal_pattern(p: &str) -> Vec<Tok> {
    p.chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

/// Expands policy variables; `None` when the pattern names a variable the request lacks (or an unknown one).
fn substitute(pattern: &str, vars: &Variables<'_>) -> Option<Vec<Tok>> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.extend(literal_pattern(&rest[..start]));
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        match &after[..end] {
            "*" => out.push(Tok::Lit('*')),
            "?" => out.push(Tok::Lit('?')),
            "$" => out.push(Tok::Lit('$')),
            "iot:ClientId" => out.extend(vars.client_id?.chars().map(Tok::Lit)),
            _ => return None,
        }
        rest = &after[end + 1..];
    }
    out.extend(literal_pattern(rest));
    Some(out)
}

/// Wildcard match, linear-time with single-star backtracking (no recursion, no blow-up on many stars).
fn glob(pattern: &[Tok], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::Star)
}

#[cfg(test)]
mod tests {
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
            evaluate(&[], "iot:Publish", &arn("x"), &NONE),
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
            evaluate_explained(&[], "iot:Publish", &arn("y"), &NONE),
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
}
