//! The integration test crate: real sockets on port 0, real TLS, and tools nobody here wrote.

mod support;

mod catalogue;
mod emulator;
mod fuzz;
mod lambda;
mod run;
mod token;
