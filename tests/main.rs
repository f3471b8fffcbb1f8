//! The integration test crate: real sockets on port 0, real TLS, and tools nobody here wrote.

mod support;

#[cfg(feature = "aws")]
mod aws;
mod calibrate;
mod catalogue;
mod emulator;
mod explain;
mod fuzz;
mod lambda;
mod policy;
mod run;
mod token;
