//! The `[authorizer.function]` table → the embedded emulator's [`FunctionSpec`].
//!
//! Interim reader until the emulator's `FunctionFile` lands: `mode = "allow" | "deny"`, `principal_id`,
//! `policy_documents` (JSON strings), `latency_ms`. An empty table is the emulator's default allow-all.

use std::time::Duration;

use crate::emulator::config::{FunctionBehaviour, FunctionSpec};

/// Resolves the table; errors are (field within the table, problem).
pub fn resolve(table: &toml::Table) -> Result<FunctionSpec, (String, String)> {
    let mut behaviour = FunctionBehaviour::default_allow();
    let mut latency = Duration::ZERO;
    for (k, v) in table {
        match k.as_str() {
            "mode" => match v.as_str() {
                Some("allow") => {}
                Some("deny") => behaviour = FunctionBehaviour::Deny,
                _ => return Err((k.clone(), format!("must be \"allow\" or \"deny\" (got {v})"))),
            },
            "latency_ms" => {
                let ms = v.as_integer().filter(|ms| *ms >= 0).ok_or((k.clone(), format!("must be an integer ≥ 0 (got {v})")))?;
                latency = Duration::from_millis(ms as u64);
            }
            "principal_id" | "policy_documents" => {}
            other => return Err((other.to_string(), "unknown field".into())),
        }
    }
    if let FunctionBehaviour::Allow { principal_id, policy_documents, .. } = &mut behaviour {
        if let Some(p) = table.get("principal_id") {
            *principal_id = p.as_str().ok_or(("principal_id".to_string(), "must be a string".to_string()))?.into();
        }
        if let Some(docs) = table.get("policy_documents") {
            let arr = docs.as_array().ok_or(("policy_documents".to_string(), "must be an array of JSON strings".to_string()))?;
            policy_documents.clear();
            for (i, d) in arr.iter().enumerate() {
                let s = d.as_str().ok_or((format!("policy_documents[{i}]"), "must be a JSON string".to_string()))?;
                let json = serde_json::from_str(s).map_err(|e| (format!("policy_documents[{i}]"), format!("not JSON: {e}")))?;
                policy_documents.push(json);
            }
        }
    }
    Ok(FunctionSpec { behaviour, latency })
}
