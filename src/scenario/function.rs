//! The `[authorizer.function]` table → the embedded emulator's [`FunctionSpec`], read with the emulator's own
//! function file format ([`FunctionFile`]: mode allow | deny | table, principal_id, policy_documents,
//! disconnect_after_s, refresh_after_s, latency_ms, table, fallback). An empty table is the emulator's default
//! allow-all function.

use serde::Deserialize as _;

use crate::contract::authorizer::FunctionSpec;
use crate::contract::function_file::FunctionFile;

/// Resolves the table; relative paths (`runtime.dir`) are taken from `base`, the scenario file's directory.
/// The error is the problem, naming the field where it can.
pub fn resolve(
    table: &toml::Table,
    base: &std::path::Path,
    file: &str,
) -> Result<FunctionSpec, String> {
    let parsed = FunctionFile::deserialize(toml::Value::Table(table.clone()))
        .map_err(|e| e.message().trim().to_string())?;
    parsed.to_spec_in(base, file).map_err(|e| {
        // to_spec names "<file>: function.<field>: ..."; the caller adds the file and the section.
        let msg = format!("{e:#}");
        msg.strip_prefix(&format!("{file}: "))
            .unwrap_or(&msg)
            .to_string()
    })
}
