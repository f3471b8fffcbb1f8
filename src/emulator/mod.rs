//! The emulated AWS IoT Core custom-auth data plane (spec §1–§6, §9).
//!
//! Contract (implemented in the submodules):
//! - [`start`]`(config, shutdown) -> RunningEmulator`: binds every configured listener (port 0 allowed), writes the
//!   CA to `state_dir/ca.pem`, serves until `shutdown` fires.
//! - `RunningEmulator::addrs()` gives the real listener addresses (the ready line's JSON), `ledger()` the shared
//!   [`ledger::Ledger`], `metrics()` the counters behind `GET /metrics`.

pub mod config;

pub use config::{AuthorizerSpec, AuthorizerStatus, EmulatorConfig, FunctionBehaviour, FunctionSpec};
