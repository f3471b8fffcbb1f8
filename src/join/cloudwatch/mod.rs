//! The witness on a real account (issue 10 §2): the authorizer function's own CloudWatch records, read after the
//! load once they are final. Pure parts: the [`window`] the records are read over, the invocations the run can
//! explain ([`expected`]), the [`settle`]/poll loop that decides when the numbers are final, the join of the
//! witness helper's lines ([`logs`]), the metric figures ([`metrics`]) and the report's [`record`]. The shell:
//! [`witness`] (connect before the load, settle both witnesses after it).

pub mod expected;
pub mod logs;
pub mod metrics;
pub mod record;
pub mod settle;
pub mod window;
pub mod witness;

pub use expected::{Basis, Expected};
pub use record::{Dimension, IotFigure, MetricsRecord, Reconciliation, WitnessRecord};
pub use settle::{Read, Reader, Settled, Timing, WitnessStatus};
pub use window::Window;
pub use witness::{CloudWatchWitness, Found, LoadSpan, Reads};

/// The wall clock, ms since the Unix epoch.
pub fn unix_ms_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
