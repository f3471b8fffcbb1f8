//! Judging the authorizer's response as AWS IoT does (spec §4). Pure: JSON in, a [`Judgement`] out.
//! Anything that breaks a rule denies the request (fail closed), naming the rule.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::Value;

use crate::contract::limits::{
    MAX_PERIOD_S, MAX_POLICY_CHARS, MAX_POLICY_DOCUMENTS, MAX_PRINCIPAL_CHARS, MIN_PERIOD_S,
};

/// A valid, authenticated response.
#[derive(Debug, Clone, PartialEq)]
pub struct Authorization {
    pub principal_id: String,
    /// The policy documents, each parsed to a JSON object (string documents are parsed here, once for each
    /// text: see [`policy_document`]).
    pub policies: Vec<Arc<Value>>,
    pub disconnect_after_s: Option<u32>,
    pub refresh_after_s: Option<u32>,
}

/// The rule a response broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseRule {
    NotAnObject,
    IsAuthenticatedNotBool,
    PrincipalIdMissing,
    PrincipalIdLength(usize),
    PrincipalIdCharacters,
    PolicyDocumentsMissing,
    TooManyPolicyDocuments(usize),
    PolicyDocumentTooLong { index: usize, chars: usize },
    PolicyDocumentNotJson { index: usize },
    PolicyDocumentNotObject { index: usize },
    PeriodNotInteger(&'static str),
    PeriodOutOfRange(&'static str, i64),
}

impl std::fmt::Display for ResponseRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAnObject => write!(f, "the response is not a JSON object"),
            Self::IsAuthenticatedNotBool => {
                write!(f, "isAuthenticated is missing or not a boolean")
            }
            Self::PrincipalIdMissing => write!(f, "principalId is missing or not a string"),
            Self::PrincipalIdLength(n) => write!(
                f,
                "principalId has {n} characters (1-{MAX_PRINCIPAL_CHARS} allowed)"
            ),
            Self::PrincipalIdCharacters => {
                write!(f, "principalId has characters outside [a-zA-Z0-9]")
            }
            Self::PolicyDocumentsMissing => write!(f, "policyDocuments is missing or not a list"),
            Self::TooManyPolicyDocuments(n) => {
                write!(
                    f,
                    "policyDocuments has {n} documents (at most {MAX_POLICY_DOCUMENTS})"
                )
            }
            Self::PolicyDocumentTooLong { index, chars } => {
                write!(
                    f,
                    "policyDocuments[{index}] has {chars} characters (at most {MAX_POLICY_CHARS})"
                )
            }
            Self::PolicyDocumentNotJson { index } => {
                write!(f, "policyDocuments[{index}] is a string but not JSON")
            }
            Self::PolicyDocumentNotObject { index } => {
                write!(
                    f,
                    "policyDocuments[{index}] is not a JSON object or a JSON string holding one"
                )
            }
            Self::PeriodNotInteger(field) => write!(f, "{field} is not an integer"),
            Self::PeriodOutOfRange(field, v) => {
                write!(f, "{field} is {v} (must be {MIN_PERIOD_S}-{MAX_PERIOD_S})")
            }
        }
    }
}

/// What the response means.
#[derive(Debug, Clone, PartialEq)]
pub enum Judgement {
    Authenticated(Authorization),
    /// `isAuthenticated: false`: denied; the other fields are ignored.
    NotAuthenticated,
    /// The response broke a rule: denied.
    Invalid(ResponseRule),
}

/// Applies the spec §4 rules. Extra fields (e.g. `context`) are tolerated.
pub fn judge(response: &Value) -> Judgement {
    match judge_inner(response) {
        Ok(Some(auth)) => Judgement::Authenticated(auth),
        Ok(None) => Judgement::NotAuthenticated,
        Err(rule) => Judgement::Invalid(rule),
    }
}

fn judge_inner(response: &Value) -> Result<Option<Authorization>, ResponseRule> {
    let obj = response.as_object().ok_or(ResponseRule::NotAnObject)?;
    let authenticated = obj
        .get("isAuthenticated")
        .and_then(Value::as_bool)
        .ok_or(ResponseRule::IsAuthenticatedNotBool)?;
    if !authenticated {
        return Ok(None);
    }
    let principal = obj
        .get("principalId")
        .and_then(Value::as_str)
        .ok_or(ResponseRule::PrincipalIdMissing)?;
    let chars = principal.chars().count();
    if chars == 0 || chars > MAX_PRINCIPAL_CHARS {
        return Err(ResponseRule::PrincipalIdLength(chars));
    }
    if !principal.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ResponseRule::PrincipalIdCharacters);
    }
    let docs = obj
        .get("policyDocuments")
        .and_then(Value::as_array)
        .ok_or(ResponseRule::PolicyDocumentsMissing)?;
    if docs.len() > MAX_POLICY_DOCUMENTS {
        return Err(ResponseRule::TooManyPolicyDocuments(docs.len()));
    }
    let policies = docs
        .iter()
        .enumerate()
        .map(|(i, d)| policy_document(i, d))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Authorization {
        principal_id: principal.to_string(),
        policies,
        disconnect_after_s: period(
            obj.get("disconnectAfterInSeconds"),
            "disconnectAfterInSeconds",
        )?,
        refresh_after_s: period(obj.get("refreshAfterInSeconds"), "refreshAfterInSeconds")?,
    }))
}

/// Document texts already parsed, and what they parsed to: a function answers every device with the same few
/// documents, so each text is parsed once and its tree shared by every request and session it authorizes (an
/// MQTT session keeps its policies for its life). Emptied when it reaches [`PARSED_KEPT`] texts, so documents
/// made for each device (a client id in the resource) cost a parse each, as before, and bounded memory.
static PARSED: LazyLock<Mutex<HashMap<Box<str>, Arc<Value>>>> = LazyLock::new(Mutex::default);
const PARSED_KEPT: usize = 1024;

/// A policy document, parsed (a string) or as given (an object), kept in [`PARSED`] by its text (an object's is
/// its compact JSON, which the length rule counts). Only texts that pass every rule are kept, so finding one there
/// gives what the rules would.
fn policy_document(index: usize, doc: &Value) -> Result<Arc<Value>, ResponseRule> {
    let serialized;
    let text = match doc {
        Value::String(s) => s.as_str(),
        Value::Object(_) => {
            serialized = doc.to_string();
            serialized.as_str()
        }
        _ => return Err(ResponseRule::PolicyDocumentNotObject { index }),
    };
    if let Some(parsed) = PARSED.lock().ok().and_then(|p| p.get(text).cloned()) {
        return Ok(parsed);
    }
    let parsed: Value = match doc {
        Value::String(_) => {
            serde_json::from_str(text).map_err(|_| ResponseRule::PolicyDocumentNotJson { index })?
        }
        _ => doc.clone(),
    };
    let chars = text.chars().count();
    if chars > MAX_POLICY_CHARS {
        return Err(ResponseRule::PolicyDocumentTooLong { index, chars });
    }
    if !parsed.is_object() {
        return Err(ResponseRule::PolicyDocumentNotObject { index });
    }
    let parsed = Arc::new(parsed);
    if let Ok(mut kept) = PARSED.lock() {
        if kept.len() >= PARSED_KEPT {
            kept.clear();
        }
        kept.insert(text.into(), Arc::clone(&parsed));
    }
    Ok(parsed)
}

/// `disconnectAfterInSeconds` / `refreshAfterInSeconds`: optional; when present an integer in 300-86400.
fn period(value: Option<&Value>, field: &'static str) -> Result<Option<u32>, ResponseRule> {
    let Some(value) = value else { return Ok(None) };
    let v = value
        .as_i64()
        .ok_or(ResponseRule::PeriodNotInteger(field))?;
    if !(MIN_PERIOD_S..=MAX_PERIOD_S).contains(&v) {
        return Err(ResponseRule::PeriodOutOfRange(field, v));
    }
    Ok(Some(v as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn seed() -> Value {
        json!({
            "isAuthenticated": true,
            "principalId": "myPrincipalDevice123",
            "disconnectAfterInSeconds": 86400,
            "refreshAfterInSeconds": 300,
            "policyDocuments": [{"Version": "2012-10-17", "Statement": [{"Action": "iot:Publish", "Effect": "Allow",
                "Resource": "arn:aws:iot:*:*:topic/customAuhtTestTopic"}]}],
            "context": {"extra": 1}
        })
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = seed();
        v[field] = value;
        v
    }

    #[test]
    fn the_seed_response_is_valid() {
        let Judgement::Authenticated(auth) = judge(&seed()) else {
            panic!("seed response rejected")
        };
        assert_eq!(auth.principal_id, "myPrincipalDevice123");
        assert_eq!(
            (auth.disconnect_after_s, auth.refresh_after_s),
            (Some(86400), Some(300))
        );
        assert_eq!(auth.policies.len(), 1);
    }

    #[test]
    fn string_documents_are_parsed() {
        let doc = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let Judgement::Authenticated(auth) = judge(&with("policyDocuments", json!([doc]))) else {
            panic!()
        };
        assert_eq!(
            *auth.policies[0],
            json!({"Version": "2012-10-17", "Statement": []})
        );
    }

    fn parsed(doc: &str) -> Result<Arc<Value>, ResponseRule> {
        policy_document(0, &json!(doc))
    }

    #[test]
    fn a_document_text_is_parsed_once_and_its_tree_shared() {
        let doc = r#"{"Statement":[{"Action":"iot:*","Effect":"Allow","Resource":"*","Sid":"shared-1"}]}"#;
        let (first, again) = (parsed(doc).unwrap(), parsed(doc).unwrap());
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(*first, serde_json::from_str::<Value>(doc).unwrap());
        // An object document is kept by its compact text: the same tree as that text's.
        let object = policy_document(0, &serde_json::from_str(doc).unwrap()).unwrap();
        assert!(Arc::ptr_eq(&first, &object));
        let other = parsed(&doc.replace("shared-1", "shared-2")).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(other["Statement"][0]["Sid"], "shared-2");
        // A text that breaks a rule is not kept: it is refused every time.
        let long = format!(r#"{{"Sid":"{}"}}"#, "x".repeat(MAX_POLICY_CHARS));
        for _ in 0..2 {
            assert_eq!(
                parsed(&long),
                Err(ResponseRule::PolicyDocumentTooLong {
                    index: 0,
                    chars: MAX_POLICY_CHARS + 10
                })
            );
            assert_eq!(
                parsed("[1]"),
                Err(ResponseRule::PolicyDocumentNotObject { index: 0 })
            );
            assert_eq!(
                parsed("{"),
                Err(ResponseRule::PolicyDocumentNotJson { index: 0 })
            );
        }
        // Bounded: after as many other texts as it keeps, the first is parsed again.
        for i in 0..PARSED_KEPT {
            parsed(&format!(r#"{{"Sid":"filler-{i}"}}"#)).unwrap();
        }
        assert!(PARSED.lock().unwrap().len() <= PARSED_KEPT);
        let later = parsed(doc).unwrap();
        assert!(!Arc::ptr_eq(&first, &later));
        assert_eq!(later, first);
    }

    #[test]
    fn not_authenticated_ignores_the_rest() {
        assert_eq!(
            judge(&json!({"isAuthenticated": false, "principalId": "bad id!"})),
            Judgement::NotAuthenticated
        );
    }

    #[test]
    fn each_rule_is_named() {
        // Long on purpose: one case per response rule in a single table, so a missing rule stands out.
        let long_doc = format!(r#"{{"Statement":[],"Pad":"{}"}}"#, "x".repeat(2100));
        let cases = vec![
            (json!([1]), ResponseRule::NotAnObject),
            (
                json!({"isAuthenticated": "true"}),
                ResponseRule::IsAuthenticatedNotBool,
            ),
            (
                with("principalId", json!(5)),
                ResponseRule::PrincipalIdMissing,
            ),
            (
                with("principalId", json!("")),
                ResponseRule::PrincipalIdLength(0),
            ),
            (
                with("principalId", json!("a".repeat(129))),
                ResponseRule::PrincipalIdLength(129),
            ),
            (
                with("principalId", json!("my-device")),
                ResponseRule::PrincipalIdCharacters,
            ),
            (
                with("principalId", json!("caf\u{e9}")),
                ResponseRule::PrincipalIdCharacters,
            ),
            (
                with("policyDocuments", json!("{}")),
                ResponseRule::PolicyDocumentsMissing,
            ),
            (
                with("policyDocuments", json!(vec![json!({}); 11])),
                ResponseRule::TooManyPolicyDocuments(11),
            ),
            (
                with("policyDocuments", json!(["not json"])),
                ResponseRule::PolicyDocumentNotJson { index: 0 },
            ),
            (
                with("policyDocuments", json!([{}, "[1]"])),
                ResponseRule::PolicyDocumentNotObject { index: 1 },
            ),
            (
                with("policyDocuments", json!([7])),
                ResponseRule::PolicyDocumentNotObject { index: 0 },
            ),
            (
                with("policyDocuments", json!([long_doc])),
                ResponseRule::PolicyDocumentTooLong {
                    index: 0,
                    chars: long_doc.len(),
                },
            ),
            (
                with("refreshAfterInSeconds", json!(299)),
                ResponseRule::PeriodOutOfRange("refreshAfterInSeconds", 299),
            ),
            (
                with("disconnectAfterInSeconds", json!(86401)),
                ResponseRule::PeriodOutOfRange("disconnectAfterInSeconds", 86401),
            ),
            (
                with("refreshAfterInSeconds", json!(300.5)),
                ResponseRule::PeriodNotInteger("refreshAfterInSeconds"),
            ),
            (
                with("refreshAfterInSeconds", json!("300")),
                ResponseRule::PeriodNotInteger("refreshAfterInSeconds"),
            ),
        ];
        for (response, rule) in cases {
            assert_eq!(
                judge(&response),
                Judgement::Invalid(rule.clone()),
                "{response}"
            );
            assert!(!rule.to_string().is_empty());
        }
    }

    #[test]
    fn limits_are_inclusive() {
        let ten = vec![json!({"Statement": []}); 10];
        let mut v = with("policyDocuments", json!(ten));
        v["principalId"] = json!("A".repeat(128));
        v["refreshAfterInSeconds"] = json!(86400);
        v["disconnectAfterInSeconds"] = json!(300);
        assert!(matches!(judge(&v), Judgement::Authenticated(_)));
        let exactly = format!(r#"{{"Statement":[],"Pad":"{}"}}"#, "x".repeat(2048 - 25));
        assert_eq!(exactly.len(), 2048);
        assert!(matches!(
            judge(&with("policyDocuments", json!([exactly]))),
            Judgement::Authenticated(_)
        ));
    }
}
