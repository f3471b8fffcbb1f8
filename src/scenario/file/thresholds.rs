//! `[thresholds]`: k6-style pass/fail expressions over the report (`checks`), each a string or a table with
//! `abort_on_fail`. [`crate::thresholds`] parses and checks them when the plan is resolved.
//!
//! ```toml
//! [thresholds]
//! checks = [
//!   "https.valid.allowed.p99_ms < 50",
//!   { expr = "invocations.forged == 0", abort_on_fail = true },
//! ]
//! ```

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThresholdsSection {
    /// Every expression must hold at the end of the run; a failing one fails the run (exit 1).
    pub checks: Vec<Check>,
}

impl ThresholdsSection {
    /// No thresholds: left out of the resolved scenario, so reports without any are unchanged.
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty()
    }
}

/// One threshold as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `NAME OP NUMBER`, e.g. `errors.share < 0.01`.
    pub expr: String,
    /// Stop the run as soon as the expression fails while it runs.
    pub abort_on_fail: bool,
}

/// The table form of a check.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    expr: String,
    #[serde(default)]
    abort_on_fail: bool,
}

impl<'de> Deserialize<'de> for Check {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Check;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an expression string or a table { expr = \"NAME OP NUMBER\", abort_on_fail = true }",
                )
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Check, E> {
                Ok(Check {
                    expr: s.to_string(),
                    abort_on_fail: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Check, A::Error> {
                let t = Table::deserialize(de::value::MapAccessDeserializer::new(m))?;
                Ok(Check {
                    expr: t.expr,
                    abort_on_fail: t.abort_on_fail,
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl Serialize for Check {
    /// A plain check as its string, one with `abort_on_fail` as the table: the form it was written in.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        if !self.abort_on_fail {
            return s.serialize_str(&self.expr);
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("expr", &self.expr)?;
        m.serialize_entry("abort_on_fail", &true)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, Serialize)]
    struct F {
        thresholds: ThresholdsSection,
    }

    #[test]
    fn a_check_is_a_string_or_a_table_and_round_trips() {
        let src = "[thresholds]\nchecks = [\"errors.share < 0.01\", { expr = \"invocations.forged == 0\", abort_on_fail = true }]\n";
        let f: F = toml::from_str(src).unwrap();
        assert_eq!(
            f.thresholds.checks,
            [
                Check {
                    expr: "errors.share < 0.01".into(),
                    abort_on_fail: false
                },
                Check {
                    expr: "invocations.forged == 0".into(),
                    abort_on_fail: true
                }
            ]
        );
        let json = serde_json::to_value(&f).unwrap();
        assert_eq!(json["thresholds"]["checks"][0], "errors.share < 0.01");
        assert_eq!(json["thresholds"]["checks"][1]["abort_on_fail"], true);
    }

    #[test]
    fn a_wrong_shape_says_what_is_expected() {
        for src in [
            "[thresholds]\nchecks = [5]\n",
            "[thresholds]\nchecks = [{ expr = \"a < 1\", abort = true }]\n",
            "[thresholds]\nbogus = 1\n",
        ] {
            let e = toml::from_str::<F>(src).unwrap_err().to_string();
            assert!(
                e.contains("expression string") || e.contains("unknown field"),
                "{src}: {e}"
            );
        }
    }
}
