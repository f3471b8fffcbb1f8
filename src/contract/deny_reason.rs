//! Why an invocation's request was denied, as the ledger's `deny_reason` says it: a rule name, and after
//! `: ` what is known (the function's error type, the response rule it broke, the runtime's message). Written
//! and read as that one string, so `/ledger` JSON stays what it was; a string of no known form is kept verbatim.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Why a request was denied by its invocation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// `isAuthenticated` false; the replay-resistant function names its rule (`not_authenticated: <rule>`).
    NotAuthenticated(Option<String>),
    /// The response broke a rule of spec §4 (`invalid_response: <rule>`), or was not JSON.
    InvalidResponse(String),
    /// The policy denied the action explicitly.
    PolicyExplicitDeny,
    /// No policy statement allowed the action.
    PolicyImplicitDeny,
    /// The function did not answer in time.
    Timeout,
    /// Every runtime process was busy: the function never ran.
    Throttled,
    /// The function raised (`function_error: <errorType>`).
    FunctionError(String),
    /// The runtime failed to start (`init_error: ...`).
    InitError(String),
    /// The runtime process died (`crashed: ...`).
    Crashed(String),
    /// The Invoke API could not be reached (`invoke_error: ...`).
    InvokeError(String),
    /// Any other text (another emulator's ledger): kept as it was.
    Other(String),
}

impl DenyReason {
    /// The rule name: the text before `: `.
    pub fn label(&self) -> &str {
        match self {
            Self::NotAuthenticated(_) => "not_authenticated",
            Self::InvalidResponse(_) => "invalid_response",
            Self::PolicyExplicitDeny => "policy_explicit_deny",
            Self::PolicyImplicitDeny => "policy_implicit_deny",
            Self::Timeout => "timeout",
            Self::Throttled => "throttled",
            Self::FunctionError(_) => "function_error",
            Self::InitError(_) => "init_error",
            Self::Crashed(_) => "crashed",
            Self::InvokeError(_) => "invoke_error",
            Self::Other(text) => text.split(':').next().unwrap_or(text),
        }
    }

    /// What follows the rule name, if anything.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::NotAuthenticated(rule) => rule.as_deref(),
            Self::InvalidResponse(d)
            | Self::FunctionError(d)
            | Self::InitError(d)
            | Self::Crashed(d)
            | Self::InvokeError(d) => Some(d),
            Self::PolicyExplicitDeny
            | Self::PolicyImplicitDeny
            | Self::Timeout
            | Self::Throttled => None,
            Self::Other(_) => None,
        }
    }

    /// A policy denied the request (the function allowed the connection).
    pub fn is_policy(&self) -> bool {
        matches!(self, Self::PolicyExplicitDeny | Self::PolicyImplicitDeny)
    }

    /// Reads the ledger's text; never fails (unknown forms are [`Self::Other`]).
    pub fn parse(text: &str) -> Self {
        let (head, detail) = match text.split_once(": ") {
            Some((h, d)) => (h, Some(d)),
            None => (text, None),
        };
        let owned = || detail.map(str::to_string);
        match (head, owned()) {
            ("not_authenticated", rule) => Self::NotAuthenticated(rule),
            ("policy_explicit_deny", None) => Self::PolicyExplicitDeny,
            ("policy_implicit_deny", None) => Self::PolicyImplicitDeny,
            ("timeout", None) => Self::Timeout,
            ("throttled", None) => Self::Throttled,
            ("invalid_response", Some(d)) => Self::InvalidResponse(d),
            ("function_error", Some(d)) => Self::FunctionError(d),
            ("init_error", Some(d)) => Self::InitError(d),
            ("crashed", Some(d)) => Self::Crashed(d),
            ("invoke_error", Some(d)) => Self::InvokeError(d),
            _ => Self::Other(text.to_string()),
        }
    }
}

impl fmt::Display for DenyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Self::Other(text) = self {
            return f.write_str(text);
        }
        f.write_str(self.label())?;
        match self.detail() {
            Some(d) => write!(f, ": {d}"),
            None => Ok(()),
        }
    }
}

impl Serialize for DenyReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DenyReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Self::parse(&text))
    }
}
