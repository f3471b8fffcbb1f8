//! Real authorizer functions (spec §10): the [`backend`] that invokes an authorizer's function wherever it runs
//! (in process, through the emulator's Lambda Runtime API, or through a Lambda Invoke API endpoint), and its
//! parts: [`runtime_api`] (the server, one listener per runtime process), [`supervisor`] (the processes),
//! [`invoke_api`] (the client), [`metrics`]. The function table's real-function fields are
//! [`crate::contract::lambda_file`].

pub mod backend;
pub mod invoke_api;
pub mod metrics;
pub mod runtime_api;
pub mod supervisor;

pub use backend::{Invocation, LiveFunction};
