//! The report (DESIGN.md `report/`): one [`Report`] struct, rendered to the terminal and to JSON
//! (`reports/<UTC timestamp>-<scenario>/report.json`, schema in `reports/schema.json`), and from that JSON to the
//! run folder's `junit.xml`, `summary.md` and `report.html` ([`files`]).

pub mod build;
pub mod conclude;
pub mod cost;
pub mod errors;
pub mod evidence;
pub mod files;
mod hgrm;
pub mod histograms;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod redact;
pub mod sessions;
pub mod terminal;
mod terminal_fold;
mod terminal_sessions;
pub mod timeseries;
pub mod transports;
pub mod view;

pub use model::Report;
