//! How credentials ride each transport (spec §1), shared by the emulator and the generator so the two
//! cannot drift; and [`url`], the endpoint URLs and `host:port` addresses both read from configuration.

pub mod http;
pub mod mqtt;
pub mod query;
pub mod settings;
pub mod url;
