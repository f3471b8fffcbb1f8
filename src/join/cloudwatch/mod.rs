//! The witness on a real account (issue 10 §2): the authorizer function's own CloudWatch records, read after the
//! load once they are final. Pure parts: the [`window`] the records are read over, the invocations the run can
//! explain ([`expected`]), and the [`settle`]/poll loop that decides when the numbers are final.

pub mod expected;
pub mod logs;
pub mod record;
pub mod settle;
pub mod window;

pub use expected::{Basis, Expected};
pub use record::{Dimension, IotFigure, MetricsRecord, Reconciliation, WitnessRecord};
pub use settle::{Read, Reader, Settled, Timing, WitnessStatus};
pub use window::Window;
