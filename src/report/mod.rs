//! The report (DESIGN.md `report/`): one [`Report`] struct, rendered to the terminal and to JSON
//! (`reports/<UTC timestamp>-<scenario>/report.json`, schema in `reports/schema.json`).

pub mod build;
pub mod cost;
pub mod errors;
mod hgrm;
pub mod histograms;
pub mod json;
pub mod model;
pub mod redact;
pub mod sessions;
pub mod terminal;
mod terminal_sessions;
pub mod transports;

pub use model::Report;
