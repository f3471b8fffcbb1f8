//! Evaluating IoT policies as AWS does (spec §4): default deny, any matching `Deny` wins, else any matching
//! `Allow` allows. Pure: documents, action, resource and variables in; a [`Decision`] out.
//!
//! Matching: `*` is any run of characters (including `/`), `?` exactly one; actions compare case-insensitively,
//! resources case-sensitively; MQTT `+` and `#` are plain characters. `${iot:ClientId}` is substituted (a
//! resource naming a variable the request does not have matches nothing); `${*}`, `${?}` and `${$}` are the
//! IAM escapes for literal `*`, `?` and `$`. `NotAction` and `NotResource` are honoured. A statement with a
//! `Condition` is not evaluated by the emulator: it never allows, and a `Deny` with one always applies (fail
//! closed).

use std::borrow::Borrow;

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
pub fn evaluate<D: Borrow<Value>>(
    documents: &[D],
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
pub fn evaluate_explained<D: Borrow<Value>>(
    documents: &[D],
    action: &str,
    resource: &str,
    vars: &Variables<'_>,
) -> (Decision, Option<StatementRef>) {
    let mut allowed = None;
    for (d, doc) in documents.iter().enumerate() {
        for (s, statement) in statements(doc.borrow()).into_iter().enumerate() {
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

/// Whether the statement's `Action` (or `NotAction`) covers `action` (ASCII case-insensitively, as IAM).
pub fn action_matches(statement: &Value, action: &str) -> bool {
    let any = |v: &Value| {
        strings(v).iter().any(|p| {
            glob_by(&literal_pattern(p), action, |a, b| {
                a.eq_ignore_ascii_case(&b)
            })
        })
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
    glob_by(pattern, text, |a, b| a == b)
}

/// [`glob`] with `same` deciding whether a literal matches a character. Walks `text` by byte offset, a character
/// at a time, without copying it.
fn glob_by(pattern: &[Tok], text: &str, same: impl Fn(char, char) -> bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while let Some(c) = text[t..].chars().next() {
        match pattern.get(p) {
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += c.len_utf8();
            }
            Some(Tok::Lit(l)) if same(*l, c) => {
                p += 1;
                t += c.len_utf8();
            }
            _ => match star {
                Some((sp, st)) => {
                    // The star takes one more character.
                    let next = st + text[st..].chars().next().map_or(1, char::len_utf8);
                    p = sp + 1;
                    t = next;
                    star = Some((sp, next));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::Star)
}

#[cfg(test)]
mod tests;
