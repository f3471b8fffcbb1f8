//! Fuzz mode (`tokenstorm fuzz`) and the cargo-fuzz targets' library side.
//!
//! Pure parts: [`case`] (the `arbitrary` case types and seeded generation), [`render`] (case → wire bytes),
//! [`reduce`] (delta minimization), [`oracle`] (what counts as a finding), [`reproducer`] (the file a finding
//! is written to), [`targets`] (the cargo-fuzz entry points). The async shell: [`exec`] (sends one case to the
//! emulator over its transport), [`setup`] (the authorizers attacked: built in, or a scenario's; the emulator's
//! start), [`options`] (a run's bounds and folder) and [`runner`] (the seeded loop, probes, findings, minimization).
//!
//! ```text
//! (seed, index) ─► ChaCha bytes ─► Case ─► bytes ─► exec (TLS/TCP, valid prefix) ─► emulator
//!                                                   oracle: ledger entries, panic count, probes, RSS ─► findings
//! ```

pub mod case;
pub mod exec;
pub mod judge;
pub mod options;
pub mod oracle;
pub mod reduce;
pub mod render;
pub mod render_mqtt;
pub mod reproducer;
pub mod runner;
pub mod setup;
pub mod target;
pub mod targets;
