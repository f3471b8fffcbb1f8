//! What `policy check` reads: one policy document, a list of them, or a whole authorizer response
//! (`{isAuthenticated, principalId, policyDocuments: [...]}`) as the function returns it, as `tokenstorm
//! test-invoke` prints it, or as `aws iot test-invoke-authorizer` prints it (documents as JSON strings). A
//! response is judged as the emulator judges it (spec §4): one that does not authenticate, or breaks a rule,
//! denies every request. Anything else is bad input, named with the file and what is wrong.

use serde_json::Value;

use crate::emulator::response::{Authorization, Judgement, judge};

/// The documents to evaluate, and whether the response itself denies everything.
#[derive(Debug, Clone, Default)]
pub struct Input {
    pub documents: Vec<Value>,
    /// `the response does not authenticate (isAuthenticated false)` or the rule an invalid response breaks.
    pub refused: Option<String>,
}

impl Input {
    /// The documents of an authenticated response, as the emulator judged it.
    pub fn allowed(auth: &Authorization) -> Self {
        Self {
            documents: auth.policies.iter().map(|d| Value::clone(d)).collect(),
            refused: None,
        }
    }

    /// Adds another file's documents (a refusal in any file stands).
    pub fn extend(&mut self, other: Input) {
        self.documents.extend(other.documents);
        if self.refused.is_none() {
            self.refused = other.refused;
        }
    }
}

/// Parses `text` read from `name`; the error names `name` and what is wrong.
pub fn read_text(text: &str, name: &str) -> Result<Input, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("{name}: not JSON: {e}"))?;
    let value = match value {
        // A document (or response) given as a JSON string, as the AWS CLI prints each document.
        Value::String(s) => serde_json::from_str(&s)
            .map_err(|e| format!("{name}: a JSON string that is not JSON inside: {e}"))?,
        v => v,
    };
    match value {
        Value::Array(list) => Ok(Input {
            documents: documents(&list, name, "")?,
            refused: None,
        }),
        Value::Object(ref obj) if obj.contains_key("isAuthenticated") => response(&value, name),
        Value::Object(ref obj) if obj.contains_key("policyDocuments") => Err(format!(
            "{name}: an authorizer response needs isAuthenticated (true or false) besides policyDocuments"
        )),
        Value::Object(_) => Ok(Input {
            documents: vec![document(value, name, "")?],
            refused: None,
        }),
        other => Err(format!(
            "{name}: expected a policy document (an object with Statement), a list of them, or an authorizer \
             response (with isAuthenticated and policyDocuments); got {}",
            kind(&other)
        )),
    }
}

/// A whole response, judged as the emulator judges it.
fn response(value: &Value, name: &str) -> Result<Input, String> {
    let list = value
        .get("policyDocuments")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    match judge(value) {
        Judgement::Authenticated(_) => Ok(Input {
            documents: documents(&list, name, "policyDocuments")?,
            refused: None,
        }),
        Judgement::NotAuthenticated => Ok(Input {
            documents: Vec::new(),
            refused: Some("the response does not authenticate (isAuthenticated false)".into()),
        }),
        Judgement::Invalid(rule) => Ok(Input {
            documents: Vec::new(),
            refused: Some(format!(
                "the response is invalid, so AWS denies every request: {rule}"
            )),
        }),
    }
}

fn documents(list: &[Value], name: &str, field: &str) -> Result<Vec<Value>, String> {
    list.iter()
        .enumerate()
        .map(|(i, v)| {
            let at = format!("{field}[{i}]");
            let v = match v {
                Value::String(s) => serde_json::from_str(s)
                    .map_err(|e| format!("{name}: {at} is a string that is not JSON: {e}"))?,
                v => v.clone(),
            };
            document(v, name, &at)
        })
        .collect()
}

/// Checks a document's shape: an object whose `Statement` is an object or a list of objects.
fn document(v: Value, name: &str, at: &str) -> Result<Value, String> {
    let here = if at.is_empty() {
        name.to_string()
    } else {
        format!("{name}: {at}")
    };
    let Value::Object(obj) = &v else {
        return Err(format!(
            "{here}: a policy document must be a JSON object, got {}",
            kind(&v)
        ));
    };
    match obj.get("Statement") {
        Some(Value::Object(_)) => Ok(v),
        Some(Value::Array(list)) if list.iter().all(Value::is_object) => Ok(v),
        Some(other) => Err(format!(
            "{here}: Statement must be an object or a list of objects, got {}",
            kind(other)
        )),
        None => {
            let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
            Err(format!(
                "{here}: not a policy document (no Statement; keys: {keys:?}) nor an authorizer response \
                 (no isAuthenticated)"
            ))
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
