//! Scenarios: the TOML file format ([`Scenario`]) and the validated, resolved [`Plan`] (STYLE.md §4).

mod authorizers;
pub mod aws;
mod checks;
pub mod error;
pub mod file;
pub mod function;
pub mod groups;
mod keys;
mod mix;
pub mod plan;
pub mod plan_hash;
pub mod pricing;
pub mod reconnect;
pub mod signer;
pub mod source_addrs;
pub mod stages;
mod target;
pub mod token_sources;
mod tokens;

pub use aws::{AwsTarget, AwsWitness};
pub use error::ScenarioError;
pub use file::Scenario;
pub use groups::{Groups, MqttPlan};
pub use plan::{Model, Plan, Target};
pub use pricing::Pricing;

use std::path::Path;

/// Reads and parses a scenario file (unknown fields rejected). Errors name the file and the field.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path).map_err(|e| {
        ScenarioError::new(
            file.clone(),
            "",
            format!("cannot read the scenario file: {e}"),
        )
    })?;
    parse(&src, &file)
}

/// Parses scenario text; `file` names it in errors. A `gate_file` is read here (relative to `file`'s folder) and
/// its settings put in `gate` (a setting also written in `[gate]` is an error); `gate_file` becomes the path read.
pub fn parse(src: &str, file: &str) -> Result<Scenario, ScenarioError> {
    let mut s: Scenario = toml::from_str(src).map_err(|e| {
        let field = e
            .span()
            .map(|s| error::field_at(src, s))
            .unwrap_or_default();
        let problem = e.message().trim().to_string();
        ScenarioError::new(file, field, problem)
    })?;
    if let Some(gate_file) = &s.gate_file {
        let base = Path::new(file).parent().unwrap_or(Path::new("."));
        let written = crate::wire::gate_file::written_in(src);
        let (gate, path) = crate::wire::gate_file::combine(s.gate, &written, gate_file, base, file)
            .map_err(|e| match e.file == file {
                // A conflict with `[gate]`: this file's field.
                true => ScenarioError::new(file, e.field, e.problem),
                // The gate file itself: its name and field in the problem.
                false => ScenarioError::new(file, "gate_file", e.to_string()),
            })?;
        s.gate = gate;
        s.gate_file = Some(path);
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::settings::{Duplicates, QueryPlus};

    #[test]
    fn a_gate_file_gives_the_gate_settings_relative_to_the_scenario() {
        let dir = tempfile::tempdir().unwrap();
        let scenario = dir.path().join("s.toml");
        let name = scenario.display().to_string();
        std::fs::write(
            dir.path().join("gate.toml"),
            "[gate]\nduplicates = \"reject\"\n",
        )
        .unwrap();
        let s = parse(
            "gate_file = \"gate.toml\"\n[gate]\nquery_plus = \"space\"\n",
            &name,
        )
        .unwrap();
        assert_eq!(
            (s.gate.query_plus, s.gate.duplicates),
            (QueryPlus::Space, Duplicates::Reject)
        );
        assert_eq!(s.gate_file, Some(dir.path().join("gate.toml")));
        // The same setting in both: an error naming the scenario and the field.
        let e = parse(
            "gate_file = \"gate.toml\"\n[gate]\nduplicates = \"first\"\n",
            &name,
        )
        .unwrap_err();
        assert_eq!(
            (e.file.as_str(), e.field.as_str()),
            (name.as_str(), "gate.duplicates")
        );
        // A missing file or a bad value: gate_file, the gate file and its field.
        let e = parse("gate_file = \"absent.toml\"\n", &name).unwrap_err();
        assert_eq!(e.field, "gate_file");
        assert!(e.problem.contains("absent.toml"), "{e}");
        std::fs::write(
            dir.path().join("bad.toml"),
            "[gate]\nduplicates = \"middle\"\n",
        )
        .unwrap();
        let e = parse("gate_file = \"bad.toml\"\n", &name).unwrap_err();
        assert!(
            e.to_string().contains("gate_file: ")
                && e.problem.contains("bad.toml: gate.duplicates: "),
            "{e}"
        );
    }
}
