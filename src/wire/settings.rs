//! How the data plane reads credentials where AWS does not say (spec §1, **unconfirmed**): emulator settings
//! with documented defaults, so a user can match the emulator (and the oracle that judges a run) to what their
//! real endpoint does. The defaults are what the spec prescribes; the other values are what a real endpoint
//! might do instead.
//!
//! The emulator reads them from `[gate]` in its config file or from `--gate-*` flags; a scenario's `[gate]` table
//! configures the embedded emulator and, for an external target, declares what that target does.

use serde::{Deserialize, Serialize};

/// A raw `+` in a query string (the CONNECT username's query included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum QueryPlus {
    /// Percent-decoding only: `+` stays `+` (spec §1's default).
    #[default]
    Literal,
    /// Form decoding: `+` is a space (then a raw `+` in a base64 signature makes it undecodable).
    Space,
}

/// A credential parameter (authorizer name, token, signature) given more than once: in a query string, in
/// repeated header lines, or in several of the places a request may carry it (headers, query, username).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum Duplicates {
    /// The first value counts (headers before query before username).
    #[default]
    First,
    /// The last value counts.
    Last,
    /// The request is refused at the gate (`duplicated_parameter`), without invoking the authorizer.
    Reject,
}

/// Parameter names in query strings and CONNECT usernames. (HTTP header names are case-insensitive in any case:
/// RFC 9110 §5.1.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum QueryNames {
    /// Names match exactly (`X-Amz-CustomAuthorizer-Signature=` is not the signature).
    #[default]
    Exact,
    /// Names match ignoring ASCII case.
    CaseInsensitive,
}

/// The unconfirmed behaviours of the signature gate. Every field has the spec's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GateSettings {
    /// `gate.query_plus`: `literal` (default) or `space`.
    pub query_plus: QueryPlus,
    /// `gate.duplicates`: `first` (default), `last` or `reject`.
    pub duplicates: Duplicates,
    /// `gate.query_names`: `exact` (default) or `case_insensitive`.
    pub query_names: QueryNames,
}

impl GateSettings {
    /// Whether a query or username parameter `key` is the parameter `name`.
    pub fn names_match(&self, key: &str, name: &str) -> bool {
        match self.query_names {
            QueryNames::Exact => key == name,
            QueryNames::CaseInsensitive => key.eq_ignore_ascii_case(name),
        }
    }

    /// `query_plus=literal, duplicates=first, query_names=exact` (reports, ready line).
    pub fn describe(&self) -> String {
        format!(
            "query_plus={}, duplicates={}, query_names={}",
            self.query_plus.as_str(),
            self.duplicates.as_str(),
            self.query_names.as_str()
        )
    }
}

impl QueryPlus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Literal => "literal",
            Self::Space => "space",
        }
    }
}

impl Duplicates {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Last => "last",
            Self::Reject => "reject",
        }
    }
}

impl QueryNames {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::CaseInsensitive => "case_insensitive",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_specs_and_values_read_from_toml() {
        let d = GateSettings::default();
        assert_eq!(
            d.describe(),
            "query_plus=literal, duplicates=first, query_names=exact"
        );
        let s: GateSettings = toml::from_str(
            "query_plus = \"space\"\nduplicates = \"reject\"\nquery_names = \"case_insensitive\"",
        )
        .unwrap();
        assert_eq!(
            s,
            GateSettings {
                query_plus: QueryPlus::Space,
                duplicates: Duplicates::Reject,
                query_names: QueryNames::CaseInsensitive,
            }
        );
        let e = toml::from_str::<GateSettings>("duplicates = \"middle\"").unwrap_err();
        assert!(e.to_string().contains("first"), "{e}");
        assert!(toml::from_str::<GateSettings>("plus = \"space\"").is_err());
    }

    #[test]
    fn names_match_by_the_setting() {
        let mut s = GateSettings::default();
        assert!(s.names_match(
            "x-amz-customauthorizer-signature",
            "x-amz-customauthorizer-signature"
        ));
        assert!(!s.names_match(
            "X-Amz-CustomAuthorizer-Signature",
            "x-amz-customauthorizer-signature"
        ));
        s.query_names = QueryNames::CaseInsensitive;
        assert!(s.names_match(
            "X-Amz-CustomAuthorizer-Signature",
            "x-amz-customauthorizer-signature"
        ));
    }
}
