//! The JSON rendering: `<out_dir>/<UTC timestamp>-<scenario>/report.json`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::model::Report;
use crate::contract::utc::civil;

/// `20261124T211437Z` for a Unix time in seconds.
pub fn compact_utc(unix_s: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_s);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// `2026-11-24T21:14:37.123Z`.
pub fn rfc3339_utc(unix_ms: u64) -> String {
    let (y, mo, d, h, mi, s) = civil(unix_ms / 1000);
    format!(
        "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
        unix_ms % 1000
    )
}

/// The run folder: `<out_dir>/<timestamp>-<name>`, made unique with a counter if it exists.
pub fn run_dir(out_dir: &Path, unix_s: u64, name: &str) -> anyhow::Result<PathBuf> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = format!("{}-{safe}", compact_utc(unix_s));
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create --out-dir {}", out_dir.display()))?;
    for i in 0..1000 {
        let dir = if i == 0 {
            out_dir.join(&base)
        } else {
            out_dir.join(format!("{base}-{i}"))
        };
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
    anyhow::bail!(
        "cannot find a free run folder name under {}",
        out_dir.display()
    )
}

/// Writes `report.json` into the run folder; returns its path.
pub fn write(report: &Report, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join("report.json");
    let text = serde_json::to_string_pretty(report)?;
    std::fs::write(&path, text + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The schema lists every variant a report row can name: the catalogue's forgeries, then the replay variants.
    #[test]
    fn the_schema_names_every_catalogue_variant() {
        use crate::contract::{Class, Forgery};
        let schema: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/reports/schema.json"
        )))
        .unwrap();
        let listed = &schema["$defs"]["variant"]["enum"];
        let mut want = vec![serde_json::Value::Null];
        want.extend(Forgery::ALL.map(|f| f.as_str().into()));
        want.extend(
            Class::ALL
                .into_iter()
                .filter(|c| c.is_replay())
                .filter_map(|c| c.variant())
                .map(Into::into),
        );
        assert_eq!(listed.as_array().unwrap(), &want);
        // ... and every invariant a report carries (the other branch: `threshold: <expr>`); a merged report adds
        // `shards_complete`.
        let names =
            schema["properties"]["invariants"]["items"]["properties"]["name"]["anyOf"][0]["enum"]
                .as_array()
                .unwrap()
                .clone();
        let mut rules: Vec<serde_json::Value> = crate::invariant::rules()
            .iter()
            .map(|r| r.name().into())
            .collect();
        rules.push("generator_kept_up".into());
        rules.push("catalogue_coverage".into());
        rules.push("shards_complete".into());
        assert_eq!(names, rules);
    }

    #[test]
    fn utc_formatting() {
        assert_eq!(compact_utc(0), "19700101T000000Z");
        assert_eq!(rfc3339_utc(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(compact_utc(1_795_554_877), "20261124T211437Z");
    }
}
