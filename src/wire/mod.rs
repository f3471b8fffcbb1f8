//! How credentials ride each transport (spec §1), shared by the emulator and the generator so the two
//! cannot drift.

pub mod gate_file;
pub mod http;
pub mod mqtt;
pub mod query;
pub mod settings;
pub mod username_style;
