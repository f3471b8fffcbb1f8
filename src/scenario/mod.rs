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
pub mod pricing;
pub mod stages;
mod target;
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

/// Parses scenario text; `file` names it in errors.
pub fn parse(src: &str, file: &str) -> Result<Scenario, ScenarioError> {
    toml::from_str(src).map_err(|e| {
        let field = e
            .span()
            .map(|s| error::field_at(src, s))
            .unwrap_or_default();
        let problem = e.message().trim().to_string();
        ScenarioError::new(file, field, problem)
    })
}
