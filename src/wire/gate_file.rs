//! A gate file: the `[gate]` table of the gate settings (`wire::settings`) in a file of its own, as
//! `tokenstorm calibrate` writes it (every setting, its evidence as comments). A scenario (`gate_file = "..."`,
//! relative to the scenario), the emulator's config file (relative to that file) and `emulate` / `catalogue
//! --gate-file PATH` load it.
//!
//! A file may set some settings only; the others keep their value from where the file is loaded (a `[gate]` table
//! beside it, or the defaults). A setting written both in the file and in a `[gate]` table beside it is an error
//! naming both: a calibrated file silently overridden would judge a run by settings nobody measured.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::settings::{BareParams, Duplicates, GateSettings, QueryNames, QueryPlus, UsernameQuery};

/// The settings a gate file writes (`None`: not written).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateTable {
    pub query_plus: Option<QueryPlus>,
    pub duplicates: Option<Duplicates>,
    pub query_names: Option<QueryNames>,
    pub username_query: Option<UsernameQuery>,
    pub bare_params: Option<BareParams>,
}

/// The whole file: `[gate]` and nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    gate: GateTable,
}

/// A gate file that cannot be used; names the file and the field (`gate.duplicates`), if any.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {}{problem}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
pub struct GateFileError {
    pub file: String,
    pub field: String,
    pub problem: String,
}

impl GateTable {
    /// `base` with the settings written here applied over it.
    pub fn over(&self, mut base: GateSettings) -> GateSettings {
        if let Some(v) = self.query_plus {
            base.query_plus = v;
        }
        if let Some(v) = self.duplicates {
            base.duplicates = v;
        }
        if let Some(v) = self.query_names {
            base.query_names = v;
        }
        if let Some(v) = self.username_query {
            base.username_query = v;
        }
        if let Some(v) = self.bare_params {
            base.bare_params = v;
        }
        base
    }

    /// The names of the settings written here, in file order.
    pub fn written(&self) -> Vec<&'static str> {
        [
            ("query_plus", self.query_plus.is_some()),
            ("duplicates", self.duplicates.is_some()),
            ("query_names", self.query_names.is_some()),
            ("username_query", self.username_query.is_some()),
            ("bare_params", self.bare_params.is_some()),
        ]
        .into_iter()
        .filter_map(|(n, set)| set.then_some(n))
        .collect()
    }
}

/// Parses a gate file's text; `file` names it in errors.
pub fn parse(src: &str, file: &str) -> Result<GateTable, GateFileError> {
    toml::from_str::<Document>(src)
        .map(|d| d.gate)
        .map_err(|e| GateFileError {
            file: file.to_string(),
            field: e.span().map(|s| field_at(src, s.start)).unwrap_or_default(),
            problem: e.message().trim().to_string(),
        })
}

/// Reads and parses a gate file.
pub fn read(path: &Path) -> Result<GateTable, GateFileError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| GateFileError {
        file: file.clone(),
        field: String::new(),
        problem: format!("cannot read the gate file: {e}"),
    })?;
    parse(&src, &file)
}

/// The keys a TOML document's `[gate]` table writes (empty when it has none or does not parse).
pub fn written_in(src: &str) -> Vec<String> {
    src.parse::<toml::Table>()
        .ok()
        .and_then(|t| match t.get("gate") {
            Some(toml::Value::Table(g)) => Some(g.keys().cloned().collect()),
            _ => None,
        })
        .unwrap_or_default()
}

/// The settings of a file that has a `[gate]` table (`table`, defaults filled; `written`: the keys it wrote) and
/// names the gate file `gate_file` (relative to `base`). `owner` names the file holding both, for the conflict.
pub fn combine(
    table: GateSettings,
    written: &[String],
    gate_file: &Path,
    base: &Path,
    owner: &str,
) -> Result<(GateSettings, PathBuf), GateFileError> {
    let path = base.join(gate_file);
    let from_file = read(&path)?;
    if let Some(both) = from_file
        .written()
        .into_iter()
        .find(|f| written.iter().any(|w| w == f))
    {
        return Err(GateFileError {
            file: owner.to_string(),
            field: format!("gate.{both}"),
            problem: format!(
                "set both in [gate] and in gate_file {}; keep one of them",
                path.display()
            ),
        });
    }
    Ok((from_file.over(table), path))
}

/// `gate.<key>` of the key on the line `offset` falls on (the whole file is one `[gate]` table); `gate` when the
/// line holds no key (a missing or misplaced table).
fn field_at(src: &str, offset: usize) -> String {
    let start = offset.min(src.len());
    let line = src[..start].rsplit('\n').next().unwrap_or("");
    let rest = src[start..].split('\n').next().unwrap_or("");
    let whole = format!("{line}{rest}");
    match whole.split_once('=') {
        Some((k, _)) if !k.trim().starts_with('[') && !k.trim().is_empty() => {
            format!("gate.{}", k.trim())
        }
        _ => "gate".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_writes_some_settings_over_a_base() {
        let t = parse(
            "# calibrated\n[gate]\nduplicates = \"reject\"\nquery_names = \"case_insensitive\"\n",
            "g.toml",
        )
        .unwrap();
        assert_eq!(t.written(), ["duplicates", "query_names"]);
        let s = t.over(GateSettings {
            query_plus: QueryPlus::Space,
            ..GateSettings::default()
        });
        assert_eq!(
            s.describe(),
            "query_plus=space, duplicates=reject, query_names=case_insensitive, \
             username_query=first_question_mark, bare_params=split"
        );
    }

    #[test]
    fn bad_files_name_the_file_and_the_field() {
        let e = parse(
            "[gate]\nquery_plus = \"literal\"\nduplicates = \"middle\"\n",
            "g.toml",
        )
        .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.field.as_str()),
            ("g.toml", "gate.duplicates")
        );
        assert!(
            e.to_string().starts_with("g.toml: gate.duplicates: "),
            "{e}"
        );
        assert!(e.problem.contains("reject"), "{e}");
        let e = parse("[gate]\nplus = \"space\"\n", "g.toml").unwrap_err();
        assert_eq!(e.field, "gate.plus", "{e}");
        let e = parse("query_plus = \"space\"\n", "g.toml").unwrap_err();
        assert!(e.to_string().starts_with("g.toml: "), "{e}");
        let e = parse("[gate\n", "g.toml").unwrap_err();
        assert!(e.to_string().starts_with("g.toml: "), "{e}");
        let e = read(Path::new("/nonexistent/gate.toml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/nonexistent/gate.toml: cannot read"),
            "{e}"
        );
    }

    #[test]
    fn a_setting_in_both_the_table_and_the_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("g.toml"), "[gate]\nduplicates = \"last\"\n").unwrap();
        let table = GateSettings {
            query_plus: QueryPlus::Space,
            ..GateSettings::default()
        };
        let (s, path) = combine(
            table,
            &["query_plus".into()],
            Path::new("g.toml"),
            dir.path(),
            "s.toml",
        )
        .unwrap();
        assert_eq!(
            (s.query_plus, s.duplicates),
            (QueryPlus::Space, Duplicates::Last)
        );
        assert_eq!(path, dir.path().join("g.toml"));
        let e = combine(
            table,
            &["duplicates".into()],
            Path::new("g.toml"),
            dir.path(),
            "s.toml",
        )
        .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.field.as_str()),
            ("s.toml", "gate.duplicates")
        );
        assert_eq!(
            written_in("a = 1\n[gate]\nquery_plus = \"space\"\n"),
            ["query_plus"]
        );
        assert!(written_in("a = 1\n").is_empty());
    }
}
