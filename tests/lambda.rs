//! Real authorizer functions: AWS's own Python runtime client (`awslambdaric`) and a Rust `lambda_runtime` crate
//! against the emulator's Lambda Runtime API, real runtime processes, the Invoke API backend against a stand-in
//! server, and `tokenstorm test-invoke`. Tests with real processes bound their waits by counts, not durations.

#[cfg(feature = "aws")]
mod cloudwatch;
mod emulate;
mod failures;
pub(crate) mod fixtures;
mod invoke_api;
mod refresh;
mod runtime;
mod rust;
mod test_invoke;
