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

/// Where an MQTT CONNECT username's query part starts. AWS's own client code says "the IoT service uses the last
/// '?' in the username" (awslabs/aws-c-mqtt `source/mqtt_iot_metrics.c`); the spec's default refuses a second `?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum UsernameQuery {
    /// The query starts at the first `?`; a second `?` is refused at the gate (spec §1's default).
    #[default]
    FirstQuestionMark,
    /// The query starts at the last `?`; parameters before it are part of the free text and not seen.
    LastQuestionMark,
}

/// Bare parameters in query strings and CONNECT usernames. AWS documents nothing; its client code says the
/// "server treats `a=`, `a`, and `=a` equivalently" (awslabs/aws-c-mqtt `source/mqtt_iot_metrics.c`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
pub enum BareParams {
    /// Plain query parsing (the default, as before this setting): `a` and `a=` are `a` with an empty value, `=a`
    /// is an empty name with the value `a`.
    #[default]
    Split,
    /// `a`, `a=` and `=a` are all the parameter `a` with an empty value (what AWS's client code says).
    Equivalent,
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
    /// `gate.username_query`: `first_question_mark` (default) or `last_question_mark`.
    pub username_query: UsernameQuery,
    /// `gate.bare_params`: `split` (default) or `equivalent`.
    pub bare_params: BareParams,
}

impl GateSettings {
    /// Whether a query or username parameter `key` is the parameter `name`.
    pub fn names_match(&self, key: &str, name: &str) -> bool {
        match self.query_names {
            QueryNames::Exact => key == name,
            QueryNames::CaseInsensitive => key.eq_ignore_ascii_case(name),
        }
    }

    /// `query_plus=literal, duplicates=first, query_names=exact, username_query=first_question_mark,
    /// bare_params=split` (reports, ready line).
    pub fn describe(&self) -> String {
        format!(
            "query_plus={}, duplicates={}, query_names={}, username_query={}, bare_params={}",
            self.query_plus.as_str(),
            self.duplicates.as_str(),
            self.query_names.as_str(),
            self.username_query.as_str(),
            self.bare_params.as_str()
        )
    }

    /// Every combination of every setting's values (tests, calibration), the defaults first.
    pub fn all() -> Vec<GateSettings> {
        let mut out = Vec::new();
        for query_plus in [QueryPlus::Literal, QueryPlus::Space] {
            for duplicates in [Duplicates::First, Duplicates::Last, Duplicates::Reject] {
                for query_names in [QueryNames::Exact, QueryNames::CaseInsensitive] {
                    for username_query in [
                        UsernameQuery::FirstQuestionMark,
                        UsernameQuery::LastQuestionMark,
                    ] {
                        for bare_params in [BareParams::Split, BareParams::Equivalent] {
                            out.push(GateSettings {
                                query_plus,
                                duplicates,
                                query_names,
                                username_query,
                                bare_params,
                            });
                        }
                    }
                }
            }
        }
        out
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

impl UsernameQuery {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::FirstQuestionMark => "first_question_mark",
            Self::LastQuestionMark => "last_question_mark",
        }
    }
}

impl BareParams {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Equivalent => "equivalent",
            Self::Split => "split",
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
            "query_plus=literal, duplicates=first, query_names=exact, \
             username_query=first_question_mark, bare_params=split"
        );
        assert_eq!(GateSettings::all().len(), 48);
        assert_eq!(GateSettings::all()[0], d);
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
                ..GateSettings::default()
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
