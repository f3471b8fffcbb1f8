//! Scenario errors name the file, the field and the problem, e.g.
//! `scenarios/x.toml: mix.forged: weight must be ≥ 0 and finite (got -1)`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    /// Dotted path of the field (`run.duration_s`); empty when the problem is the whole file.
    pub field: String,
    pub problem: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}: {}", self.file, self.problem)
        } else {
            write!(f, "{}: {}: {}", self.file, self.field, self.problem)
        }
    }
}

impl std::error::Error for ScenarioError {}

impl ScenarioError {
    pub fn new(
        file: impl Into<String>,
        field: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self {
            file: file.into(),
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The dotted path of the key a TOML parse error points at: the nearest `[table]` header before `offset`
/// joined with the key under the error's span (`mix.forged_variants.bogus`).
pub fn field_at(src: &str, span: std::ops::Range<usize>) -> String {
    let start = span.start.min(src.len());
    let mut table = String::new();
    for line in src[..start].lines() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = h.trim_start_matches('[').trim().to_string();
        }
    }
    let end = span.end.min(src.len()).max(start);
    let key = src.get(start..end).unwrap_or("").trim();
    let is_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let line_key = src[..start]
        .rsplit('\n')
        .next()
        .and_then(|l| l.split('=').next())
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.starts_with('['))
        .unwrap_or("");
    let key = if is_key && line_key.is_empty() {
        key
    } else {
        line_key
    };
    match (table.is_empty(), key.is_empty()) {
        (true, _) => key.to_string(),
        (false, true) => table,
        (false, false) => format!("{table}.{key}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_key_under_its_table() {
        let src = "name = \"x\"\n[mix]\nvalid = 1\nbogus = 2\n";
        let at = src.find("bogus").unwrap();
        assert_eq!(field_at(src, at..at + 5), "mix.bogus");
        let at = src.find('1').unwrap();
        assert_eq!(field_at(src, at..at + 1), "mix.valid");
        assert_eq!(field_at("nam = 1\n", 0..3), "nam");
    }
}
