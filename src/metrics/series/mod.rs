//! The run's time dimension (issue 13): what ended in each second since the run's `t0`, kept in one shared
//! [`SeriesStore`] that the load tasks fold their [`SeriesBuffer`] into once a second. The report's
//! `timeseries` and `latency.hlog`'s one-interval-per-second are read from it.

pub mod buffer;
pub mod store;

pub use buffer::SeriesBuffer;
pub use store::{MAX_SECONDS, PAIRS, SeriesStore, pair};

#[cfg(test)]
mod tests;
