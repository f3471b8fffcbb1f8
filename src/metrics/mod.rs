//! Measurements (DESIGN.md `metrics/`): per-task [`Recorder`]s with enum-indexed counters and HdrHistograms,
//! merged at the end, and the run's per-second [`series`]. Labels are bounded enums ([`crate::contract::Transport`], [`crate::contract::Class`], [`Outcome`]).

pub mod coarse;
pub mod error_kind;
pub mod errors;
pub mod outcome;
pub mod phase;
pub mod prometheus;
pub mod recorder;
pub mod saved;
pub mod series;
pub mod sessions;

pub use error_kind::{ErrorKind, Failure};
pub use errors::{ErrorTable, FirstError};
pub use outcome::Outcome;
pub use phase::{Phase, PubEvent};
pub use recorder::Recorder;
pub use series::SeriesStore;
pub use sessions::{SessionEnd, SessionTally, StormTally};
