//! tokenstorm: a load and fuzz harness for AWS IoT Core custom authorizers with token signing.
//!
//! # Module map
//!
//! - [`contract`]: the shared vocabulary (transports, MQTT versions, classes, gate refusals, ledger entries, AWS limits).
//! - [`scenario`]: the scenario file format (serde, unknown fields rejected) and the validated, seeded [`scenario::Plan`].
//! - [`token`]: RSA keys, signing and verification of tokens (pure; aws-lc-rs fast path, `rsa` as reference).
//! - [`attempt`]: credential classes (valid, forged variants, replayed), how each attempt's credentials are made, and the
//!   planner that decides every attempt for every transport.
//! - [`wire`]: how credentials ride each transport (header and query names, parsing), shared by emulator and generator.
//! - [`emulator`]: the AWS IoT custom-auth data plane: HTTPS publish, the signature gate, authorizer backends,
//!   response validation, policy evaluation, the invocation ledger and Prometheus metrics.
//! - [`load`]: devices, the pacer (open and closed models) and the transports that carry attempts.
//! - [`metrics`]: per-task recorders (HdrHistogram + enum-indexed counters) merged at the end.
//! - [`join`]: the witnesses of authorizer invocations behind one trait (the embedded emulator's ledger, an
//!   external emulator's admin API), joined by attempt id into the summary the invariants judge.
//! - [`invariant`]: the rules a run is judged by (forged never invoked, counts conserve, ...).
//! - [`report`]: the single `Report` and its renderers (terminal, JSON).
//! - [`cmd`]: one module per subcommand; [`cli`] parses, `main.rs` maps results to exit codes.
//!
//! # Data flow
//!
//! ```text
//! scenario.toml ─► Plan ─┬─► emulator (embedded) ─► gate ─► authorizer ─► policy ─► ledger
//!                        └─► load: devices ─► pacer ─► attempt ─► transport ─► Recorder
//!                                                   Recorders ─► Metrics ─► invariants ─► Report ─► terminal / JSON
//!                                        ledger ─► join (drained as the run goes) ─► invariants
//! ```

pub mod attempt;
pub mod cli;
pub mod cmd;
pub mod contract;
pub mod emulator;
pub mod error;
pub mod fuzz;
pub mod invariant;
pub mod join;
pub mod load;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod shutdown;
pub mod token;
pub mod wire;
