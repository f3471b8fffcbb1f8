//! The classic policy mistakes, found by reading the documents rather than by evaluating them: each one
//! makes AWS deny something the author meant to allow, and the verdicts alone would only say "denied".
//! Rules (the `rule` of a [`Finding`]): `subscribe_needs_topicfilter`, `publish_needs_topic`,
//! `connect_needs_client`, `malformed_arn`, `wrong_region`, `wrong_account`, `variable_never_set`,
//! `mqtt_wildcard`, `condition_not_evaluated`, `effect`, `action_not_iot`, `too_many_documents`,
//! `document_too_long`; and from the evaluation (`policy_check::check`) `missing_receive`.

use serde::Serialize;
use serde_json::Value;

use super::Account;
use crate::contract::limits;
use crate::emulator::policy::{self, KNOWN_VARIABLES, StatementRef, Variables};

/// One mistake, where it is, and what to change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    /// `document 1 statement 2 (Sid "x")`; empty when it is about the devices or all documents.
    pub at: String,
    pub message: String,
}

impl Finding {
    pub fn new(rule: &'static str, at: String, message: String) -> Self {
        Self { rule, at, message }
    }
}

/// An IoT ARN's parts: `arn:<partition>:iot:<region>:<account>:<kind>/<rest>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub region: &'a str,
    pub account: &'a str,
    /// `topic`, `topicfilter`, `client`, ... or a wildcard pattern such as `*`.
    pub kind: &'a str,
}

impl<'a> Arn<'a> {
    /// `None` when `s` is not an `arn:…:iot:…` with six parts.
    pub fn parse(s: &'a str) -> Option<Self> {
        let mut parts = s.splitn(6, ':');
        let (arn, _partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let (region, account, rest) = (parts.next()?, parts.next()?, parts.next()?);
        (arn == "arn" && service == "iot").then(|| Self {
            region,
            account,
            kind: rest.split('/').next().unwrap_or(rest),
        })
    }

    /// Whether a resource of `kind` can match (a wildcard in the kind may cover it).
    fn may_be(&self, kind: &str) -> bool {
        self.kind == kind || self.kind.contains(['*', '?'])
    }
}

/// `document 1 statement 2 (Sid "x")`, numbered from 1 as a reader counts.
pub fn statement_label(documents: &[Value], (d, s): StatementRef) -> String {
    let sid = documents
        .get(d)
        .and_then(|doc| policy::statements(doc).get(s).copied())
        .and_then(|st| st.get("Sid"))
        .and_then(Value::as_str)
        .map(|sid| format!(" (Sid {sid:?})"))
        .unwrap_or_default();
    format!("document {} statement {}{sid}", d + 1, s + 1)
}

/// For an implicit deny: the first `Allow` statement for `action` whose resource names a policy variable, and
/// what that resource became for this request (the usual reason such a statement does not match).
pub fn hint(
    documents: &[Value],
    action: &str,
    resource: &str,
    vars: &Variables<'_>,
) -> Option<String> {
    for (d, doc) in documents.iter().enumerate() {
        for (s, st) in policy::statements(doc).into_iter().enumerate() {
            if st.get("Effect").and_then(Value::as_str) != Some("Allow")
                || !policy::action_matches(st, action)
            {
                continue;
            }
            let Some(pattern) = st
                .get("Resource")
                .map(policy::strings)
                .unwrap_or_default()
                .into_iter()
                .find(|p| p.contains("${"))
            else {
                continue;
            };
            let at = statement_label(documents, (d, s));
            return Some(match policy::expand(pattern, vars) {
                Some(expanded) => format!(
                    "{at}: {pattern} becomes {expanded} for client id {}, which does not match {resource}",
                    vars.client_id.unwrap_or("")
                ),
                None if vars.client_id.is_none() => format!(
                    "{at}: {pattern} names a policy variable, and an HTTPS publish has no client id: it matches nothing"
                ),
                None => format!(
                    "{at}: {pattern} names a policy variable AWS does not set for a custom-authorizer connection: it matches nothing"
                ),
            });
        }
    }
    None
}

/// Every document's mistakes, in document and statement order.
pub fn lint(documents: &[Value], account: &Account) -> Vec<Finding> {
    let mut out = Vec::new();
    if documents.len() > limits::MAX_POLICY_DOCUMENTS {
        out.push(Finding::new(
            "too_many_documents",
            String::new(),
            format!(
                "{} documents: AWS accepts at most {} per response and denies the whole response",
                documents.len(),
                limits::MAX_POLICY_DOCUMENTS
            ),
        ));
    }
    for (d, doc) in documents.iter().enumerate() {
        let chars = doc.to_string().chars().count();
        if chars > limits::MAX_POLICY_CHARS {
            out.push(Finding::new(
                "document_too_long",
                format!("document {}", d + 1),
                format!(
                    "{chars} characters (compact JSON): AWS accepts at most {} per document",
                    limits::MAX_POLICY_CHARS
                ),
            ));
        }
        for (s, st) in policy::statements(doc).into_iter().enumerate() {
            let at = statement_label(documents, (d, s));
            statement(st, account, &mut |rule, message| {
                out.push(Finding::new(rule, at.clone(), message));
            });
        }
    }
    out
}

/// One statement's mistakes.
fn statement(st: &Value, account: &Account, push: &mut dyn FnMut(&'static str, String)) {
    let effect = st.get("Effect").and_then(Value::as_str);
    if !matches!(effect, Some("Allow" | "Deny")) {
        push(
            "effect",
            format!(
                "Effect is {}: it must be exactly \"Allow\" or \"Deny\", so this statement is ignored",
                st.get("Effect").map_or("missing".into(), Value::to_string)
            ),
        );
    }
    if st.get("Condition").is_some() {
        push(
            "condition_not_evaluated",
            "has a Condition: the emulator does not evaluate conditions (an Allow with one never allows, a Deny \
             with one always denies), so its verdicts may differ from AWS's here"
                .into(),
        );
    }
    let actions: Vec<String> = st
        .get("Action")
        .map(policy::strings)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_string)
        .collect();
    for a in &actions {
        if a != "*" && !a.to_ascii_lowercase().starts_with("iot:") {
            push(
                "action_not_iot",
                format!(
                    "action {a:?} is not an AWS IoT action (iot:Connect, iot:Publish...): it allows nothing here"
                ),
            );
        }
    }
    let resources = st.get("Resource").map(policy::strings).unwrap_or_default();
    kinds(&actions, &resources, push);
    for r in &resources {
        resource(r, account, push);
    }
}

/// The resource kind each explicitly named action is checked on: `topicfilter/` for a subscription,
/// `topic/` for a publish or a delivery, `client/` for a connect.
fn kinds(actions: &[String], resources: &[&str], push: &mut dyn FnMut(&'static str, String)) {
    let named = |a: &str| actions.iter().any(|x| x.eq_ignore_ascii_case(a));
    let arns: Vec<Arn<'_>> = resources.iter().filter_map(|r| Arn::parse(r)).collect();
    // A bare `*` (or an ARN that is not parsed: flagged as malformed) covers or misses every kind alike.
    if resources.is_empty() || arns.len() < resources.len() {
        return;
    }
    let any = |kind: &str| arns.iter().any(|a| a.may_be(kind));
    let listed = |kind: &str| arns.iter().filter(|a| a.kind == kind).count();
    if named("iot:Subscribe") && !any("topicfilter") {
        push(
            "subscribe_needs_topicfilter",
            format!(
                "iot:Subscribe is checked on arn:aws:iot:REGION:ACCOUNT:topicfilter/<filter>, but this statement \
                 lists {} topic/ resource(s) and no topicfilter/ one: every subscription is denied (write \
                 topicfilter/ for iot:Subscribe, topic/ for iot:Receive)",
                listed("topic")
            ),
        );
    }
    for action in ["iot:Publish", "iot:Receive", "iot:RetainPublish"] {
        if named(action) && !any("topic") {
            push(
                "publish_needs_topic",
                format!(
                    "{action} is checked on arn:aws:iot:REGION:ACCOUNT:topic/<topic>, but this statement lists \
                     {} topicfilter/ resource(s) and no topic/ one: it never allows {action}",
                    listed("topicfilter")
                ),
            );
        }
    }
    if named("iot:Connect") && !any("client") {
        push(
            "connect_needs_client",
            "iot:Connect is checked on arn:aws:iot:REGION:ACCOUNT:client/<client id>, and this statement lists \
             no client/ resource: it never allows a connection"
                .into(),
        );
    }
}

/// One resource's mistakes: not an IoT ARN, another region or account, variables never set, MQTT wildcards.
fn resource(r: &str, account: &Account, push: &mut dyn FnMut(&'static str, String)) {
    if r != "*" {
        match Arn::parse(r) {
            None => push(
                "malformed_arn",
                format!(
                    "{r} is not an AWS IoT ARN (arn:aws:iot:REGION:ACCOUNT:topic/..., client/..., \
                     topicfilter/...): it matches no request"
                ),
            ),
            Some(arn) => region_account(r, &arn, account, push),
        }
    }
    for v in policy::variables(r) {
        if matches!(v, "*" | "?" | "$") || KNOWN_VARIABLES.contains(&v) {
            continue;
        }
        let why = if v.starts_with("iot:Connection.Thing.")
            || v.starts_with("iot:Certificate.")
            || v.starts_with("credentials-iot:")
        {
            "a custom-authorizer connection has no thing or certificate attached, so AWS never sets it"
        } else {
            "the emulator does not substitute it (only ${iot:ClientId} and the escapes ${*} ${?} ${$})"
        };
        push(
            "variable_never_set",
            format!("{r} names ${{{v}}}: {why}, and the resource matches nothing"),
        );
    }
    if r.contains(['+', '#']) {
        push(
            "mqtt_wildcard",
            format!(
                "{r} contains an MQTT wildcard (+ or #): policies treat them as plain characters, so it matches \
                 only a filter written with that very character; use * or ? to match many topics"
            ),
        );
    }
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`: letters and dashes, then a dash and digits.
fn looks_like_region(r: &str) -> bool {
    let Some((name, n)) = r.rsplit_once('-') else {
        return false;
    };
    !n.is_empty()
        && n.bytes().all(|b| b.is_ascii_digit())
        && name.contains('-')
        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
}

fn region_account(
    r: &str,
    arn: &Arn<'_>,
    account: &Account,
    push: &mut dyn FnMut(&'static str, String),
) {
    let concrete = |v: &str| !v.contains(['*', '?', '$']);
    if concrete(arn.region) {
        match &account.region_from {
            Some(from) if arn.region != account.region => push(
                "wrong_region",
                format!(
                    "{r} names region {:?}, but the devices connect to {:?} ({from}): it matches nothing there",
                    arn.region, account.region
                ),
            ),
            None if !looks_like_region(arn.region) => push(
                "wrong_region",
                format!(
                    "{r} names region {:?}: AWS regions look like eu-west-1 (a placeholder left in?)",
                    arn.region
                ),
            ),
            _ => {}
        }
    }
    if !concrete(arn.account) {
        return;
    }
    match &account.account_from {
        Some(from) if arn.account != account.account_id => push(
            "wrong_account",
            format!(
                "{r} names account {:?}, but the endpoint's account is {:?} ({from}): it matches nothing there",
                arn.account, account.account_id
            ),
        ),
        None if !(arn.account.len() == 12 && arn.account.bytes().all(|b| b.is_ascii_digit())) => {
            push(
                "wrong_account",
                format!(
                    "{r} names account {:?}: an AWS account id is 12 digits (a placeholder left in?)",
                    arn.account
                ),
            )
        }
        _ => {}
    }
}
