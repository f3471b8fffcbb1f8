//! A threshold's expression, `NAME OP NUMBER` (pure): a metric name from [`super::metrics`], one of
//! `< <= > >= == !=`, and a plain number (`50`, `0.01`, `1e-3`). Numbers take no unit suffix: the unit is part
//! of the metric's name (`_ms`, `_usd`, `_s`, a share is 0..1), so `p99_ms < 50ms` would only say it twice.

use std::fmt;

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    /// Longest first, so `<=` is not read as `<` followed by `=`.
    const ALL: [(&'static str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];

    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, o)| *o == self)
            .map_or("?", |(s, _)| s)
    }

    /// Whether `observed OP wanted` holds.
    pub fn holds(self, observed: f64, wanted: f64) -> bool {
        match self {
            Op::Lt => observed < wanted,
            Op::Le => observed <= wanted,
            Op::Gt => observed > wanted,
            Op::Ge => observed >= wanted,
            Op::Eq => observed == wanted,
            Op::Ne => observed != wanted,
        }
    }
}

/// A parsed expression; `number` keeps the text as written so the threshold's name stays as the user wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub name: String,
    pub op: Op,
    pub value: f64,
    number: String,
}

impl fmt::Display for Expr {
    /// The normalized form (`errors.share<0.01` → `errors.share < 0.01`): the threshold's stable name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.name, self.op.as_str(), self.number)
    }
}

/// Parses `NAME OP NUMBER`; the error says what is wrong with the text (the caller names the field).
pub fn parse(text: &str) -> Result<Expr, String> {
    let t = text.trim();
    let Some(at) = t.find(['<', '>', '=', '!']) else {
        return Err(format!(
            "{text:?} has no comparison: write NAME OP NUMBER, OP one of < <= > >= == !="
        ));
    };
    let (name, rest) = (t[..at].trim(), &t[at..]);
    let Some((op_text, op)) = Op::ALL.iter().find(|(s, _)| rest.starts_with(s)) else {
        return Err(format!(
            "{text:?}: unknown operator at {rest:?}; use one of < <= > >= == !="
        ));
    };
    let number = rest[op_text.len()..].trim();
    if name.is_empty() {
        return Err(format!("{text:?} has no metric name before {op_text}"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        return Err(format!(
            "{text:?}: the metric name {name:?} may hold only letters, digits, `_` and `.`"
        ));
    }
    let value = number
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && !number.is_empty())
        .ok_or_else(|| {
            format!(
                "{text:?}: {number:?} is not a number (a plain number, no unit: the unit is in the metric's name)"
            )
        })?;
    Ok(Expr {
        name: name.to_string(),
        op: *op,
        value,
        number: number.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_operator_with_or_without_spaces() {
        for (text, op, value) in [
            ("https.valid.allowed.p99_ms < 50", Op::Lt, 50.0),
            ("errors.share<=0.01", Op::Le, 0.01),
            ("throughput.attempts_per_s >= 450", Op::Ge, 450.0),
            ("  invocations.forged==0 ", Op::Eq, 0.0),
            ("cost.total_usd != 1e-3", Op::Ne, 0.001),
            ("x.y>-2", Op::Gt, -2.0),
        ] {
            let e = parse(text).unwrap();
            assert_eq!((e.op, e.value), (op, value), "{text}");
        }
        assert_eq!(
            parse("errors.share<0.010").unwrap().to_string(),
            "errors.share < 0.010"
        );
    }

    #[test]
    fn operators_compare_as_written() {
        assert!(Op::Lt.holds(1.0, 2.0) && !Op::Lt.holds(2.0, 2.0));
        assert!(Op::Le.holds(2.0, 2.0) && Op::Ge.holds(2.0, 2.0));
        assert!(Op::Eq.holds(0.0, 0.0) && Op::Ne.holds(1.0, 0.0));
        assert!(Op::Gt.holds(3.0, 2.0) && !Op::Gt.holds(2.0, 2.0));
    }

    #[test]
    fn bad_text_says_what_is_wrong() {
        for (text, says) in [
            ("errors.share 0.01", "no comparison"),
            ("errors.share =< 0.01", "unknown operator"),
            ("< 5", "no metric name"),
            ("p(99) < 5", "may hold only"),
            ("errors.share < 1%", "not a number"),
            ("https.valid.allowed.p99_ms < 50ms", "no unit"),
            ("errors.share <", "not a number"),
            ("errors.share < nan", "not a number"),
        ] {
            let e = parse(text).unwrap_err();
            assert!(e.contains(says), "{text}: {e}");
        }
    }
}
