//! [`FunctionFile`]: the in-process authorizer function as a TOML table. The emulator's `--config` file has it
//! as `[authorizer.function]`, and scenarios embed the same table, so both read one format. Unknown fields are
//! rejected; errors name the file, the field and the value.
//!
//! ```toml
//! mode = "allow"                  # "allow" | "deny" | "table" | "replay_resistant"
//! principal_id = "myPrincipalDevice123"
//! policy_documents = ['{"Version":"2012-10-17","Statement":[...]}']   # JSON strings or TOML tables
//! disconnect_after_s = 86400
//! refresh_after_s = 300
//! latency_ms = 0                  # injected before answering; 5000 or more times out (deny)
//! # mode = "table":
//! # table = [{ token = "t1", response = '{"isAuthenticated": false}' }]   # raw responses, may be invalid
//! # fallback = { mode = "deny" }  # tokens not in the table (default: deny)
//! memory_mb = 128                 # cost accounting (default 128)
//! billed_duration_ms = 3          # in process: billed per invocation (default: latency_ms)
//! # A real function instead (see `contract::lambda_file`): [runtime] (Runtime API) or [invoke_api].
//! ```

use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::contract::authorizer::ReplayRules;
use crate::contract::authorizer::{FunctionBehaviour, FunctionSpec};

/// What the in-process authorizer function does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionMode {
    /// Answer `isAuthenticated: true` with the principal and policies below.
    #[default]
    Allow,
    /// Answer `isAuthenticated: false`.
    Deny,
    /// Look the token up in `table`; tokens not there get `fallback` (default: deny).
    Table,
    /// The replay-resistant function's checks (`v1` tokens, maximum age, nonces), then allow.
    ReplayResistant,
}

/// The in-process authorizer function. Defaults: `FunctionBehaviour::default_allow()` (principal
/// `tokenstormDevice`, connect/publish/subscribe/receive allowed on `*`, 86400 s / 300 s), no latency.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FunctionFile {
    #[serde(default)]
    pub mode: FunctionMode,
    pub principal_id: Option<String>,
    /// TOML tables or JSON strings (string documents are passed to the emulator's validation as strings, as a
    /// Lambda returning strings would).
    pub policy_documents: Option<Vec<toml::Value>>,
    pub disconnect_after_s: Option<i64>,
    pub refresh_after_s: Option<i64>,
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub table: Vec<TableEntryFile>,
    pub fallback: Option<Box<FunctionFile>>,
    /// `replay_resistant`: tokens older than this are `expired` (default 300 s).
    pub max_token_age_s: Option<u64>,
    /// `replay_resistant`: tokens issued further ahead are `future` (default 30 s).
    pub max_clock_skew_s: Option<u64>,
    /// `replay_resistant`: how long a connection's refreshes reuse its nonce (default 86400 s).
    pub max_session_s: Option<u64>,
    /// `replay_resistant`: most nonces remembered (default 100000).
    pub nonce_capacity: Option<usize>,
    /// Memory size, MB (default 128): cost accounting, and `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` for a runtime.
    pub memory_mb: Option<u32>,
    /// In-process only: the billed duration per invocation (default: `latency_ms`).
    pub billed_duration_ms: Option<u64>,
    /// Run a real function through the emulator's Lambda Runtime API (see [`super::lambda_file`]).
    pub runtime: Option<super::lambda_file::RuntimeFile>,
    /// Call a real function through a Lambda Invoke API endpoint.
    pub invoke_api: Option<super::lambda_file::InvokeApiFile>,
}

/// `{ token = "...", response = '{"isAuthenticated": ...}' }`: the exact response for that token, raw (it may
/// be deliberately invalid, to exercise response validation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntryFile {
    pub token: String,
    pub response: String,
}

impl FunctionFile {
    /// Resolves the function. `file` names the source in errors.
    /// Relative paths (`runtime.dir`) are taken from the current directory.
    pub fn to_spec(&self, file: &str) -> anyhow::Result<FunctionSpec> {
        self.to_spec_in(std::path::Path::new("."), file)
    }

    /// Resolves the function; relative paths are taken from `base` (the file's directory).
    pub fn to_spec_in(&self, base: &std::path::Path, file: &str) -> anyhow::Result<FunctionSpec> {
        use super::lambda_file as lf;
        let at = format!("{file}: function");
        let backend = lf::backend(self.runtime.as_ref(), self.invoke_api.as_ref(), base, &at)?;
        if backend != crate::contract::authorizer::Backend::InProcess
            && (self.mode != FunctionMode::Allow
                || self.latency_ms != 0
                || self.billed_duration_ms.is_some()
                || self.principal_id.is_some()
                || self.policy_documents.is_some())
        {
            anyhow::bail!(
                "{at}: mode/latency_ms/billed_duration_ms/principal_id/policy_documents describe the in-process function; drop them when runtime or invoke_api runs a real one"
            );
        }
        Ok(FunctionSpec {
            behaviour: self.behaviour(file, "function")?,
            latency: Duration::from_millis(self.latency_ms),
            backend,
            memory_mb: lf::memory_mb(
                self.memory_mb
                    .unwrap_or(crate::contract::ledger::DEFAULT_MEMORY_MB),
                &at,
            )?,
            billed_duration_ms: self.billed_duration_ms,
            arn_function_name: None,
        })
    }

    fn behaviour(&self, file: &str, at: &str) -> anyhow::Result<FunctionBehaviour> {
        self.fields_fit_the_mode(file, at)?;
        match self.mode {
            FunctionMode::Deny => Ok(FunctionBehaviour::Deny),
            FunctionMode::ReplayResistant => self.replay_rules(file, at),
            FunctionMode::Allow => match FunctionBehaviour::default_allow() {
                FunctionBehaviour::Allow {
                    principal_id,
                    policy_documents,
                    disconnect_after_s,
                    refresh_after_s,
                } => {
                    let policy_documents =
                        self.policy_documents(file, at)?.unwrap_or(policy_documents);
                    Ok(FunctionBehaviour::Allow {
                        principal_id: self.principal_id.clone().unwrap_or(principal_id),
                        policy_documents,
                        disconnect_after_s: self.disconnect_after_s.unwrap_or(disconnect_after_s),
                        refresh_after_s: self.refresh_after_s.unwrap_or(refresh_after_s),
                    })
                }
                other => Ok(other),
            },
            FunctionMode::Table => {
                let entries = self
                    .table
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let response = serde_json::from_str(&e.response).with_context(|| {
                            format!(
                                "{file}: {at}.table[{i}].response (token {:?}) is not JSON",
                                e.token
                            )
                        })?;
                        Ok((e.token.clone(), response))
                    })
                    .collect::<anyhow::Result<_>>()?;
                let fallback = match &self.fallback {
                    Some(f) => f.behaviour(file, &format!("{at}.fallback"))?,
                    None => FunctionBehaviour::Deny,
                };
                Ok(FunctionBehaviour::Table {
                    entries,
                    fallback: Box::new(fallback),
                })
            }
        }
    }
}

impl FunctionFile {
    /// Refuses a field that only applies to another mode, naming it (a `table` under `mode = "allow"` is a
    /// mistake, not something to ignore).
    fn fields_fit_the_mode(&self, file: &str, at: &str) -> anyhow::Result<()> {
        let only = |set: bool, field: &str, mode: &str| -> anyhow::Result<()> {
            if set {
                anyhow::bail!(
                    "{file}: {at}.{field} only applies to mode = \"{mode}\" (mode is {:?})",
                    self.mode
                );
            }
            Ok(())
        };
        let allow_fields = self.policy_documents.is_some()
            || self.disconnect_after_s.is_some()
            || self.refresh_after_s.is_some();
        if self.mode != FunctionMode::Allow {
            only(self.principal_id.is_some(), "principal_id", "allow")?;
        }
        if !matches!(
            self.mode,
            FunctionMode::Allow | FunctionMode::ReplayResistant
        ) {
            only(
                allow_fields,
                "policy_documents/disconnect_after_s/refresh_after_s",
                "allow\" or \"replay_resistant",
            )?;
        }
        if self.mode != FunctionMode::ReplayResistant {
            only(
                self.max_token_age_s.is_some()
                    || self.max_clock_skew_s.is_some()
                    || self.max_session_s.is_some()
                    || self.nonce_capacity.is_some(),
                "max_token_age_s/max_clock_skew_s/max_session_s/nonce_capacity",
                "replay_resistant",
            )?;
        }
        if self.mode != FunctionMode::Table {
            only(!self.table.is_empty(), "table", "table")?;
            only(self.fallback.is_some(), "fallback", "table")?;
        }
        Ok(())
    }

    fn policy_documents(
        &self,
        file: &str,
        at: &str,
    ) -> anyhow::Result<Option<Vec<serde_json::Value>>> {
        self.policy_documents
            .as_ref()
            .map(|docs| {
                docs.iter()
                    .enumerate()
                    .map(|(i, d)| {
                        policy_document(d, &format!("{file}: {at}.policy_documents[{i}]"))
                    })
                    .collect()
            })
            .transpose()
    }

    fn replay_rules(&self, file: &str, at: &str) -> anyhow::Result<FunctionBehaviour> {
        let d = ReplayRules::default();
        let rules = ReplayRules {
            max_token_age_s: self.max_token_age_s.unwrap_or(d.max_token_age_s),
            max_clock_skew_s: self.max_clock_skew_s.unwrap_or(d.max_clock_skew_s),
            max_session_s: self.max_session_s.unwrap_or(d.max_session_s),
            nonce_capacity: self.nonce_capacity.unwrap_or(d.nonce_capacity),
            policy_documents: self
                .policy_documents(file, at)?
                .unwrap_or(d.policy_documents),
            disconnect_after_s: self.disconnect_after_s.unwrap_or(d.disconnect_after_s),
            refresh_after_s: self.refresh_after_s.unwrap_or(d.refresh_after_s),
        };
        if rules.nonce_capacity == 0 || rules.nonce_capacity > 10_000_000 {
            anyhow::bail!(
                "{file}: {at}.nonce_capacity must be 1–10000000 (got {})",
                rules.nonce_capacity
            );
        }
        if rules.max_token_age_s == 0 {
            anyhow::bail!("{file}: {at}.max_token_age_s must be at least 1 (got 0)");
        }
        Ok(FunctionBehaviour::ReplayResistant(rules))
    }
}

/// A TOML table becomes a JSON object; a string must hold a JSON object and stays a string.
fn policy_document(doc: &toml::Value, what: &str) -> anyhow::Result<serde_json::Value> {
    match doc {
        toml::Value::String(s) => match serde_json::from_str::<serde_json::Value>(s) {
            Ok(v) if v.is_object() => Ok(serde_json::Value::String(s.clone())),
            Ok(_) => anyhow::bail!("{what}: the JSON string does not hold an object"),
            Err(e) => anyhow::bail!("{what}: not JSON: {e}"),
        },
        toml::Value::Table(_) => {
            serde_json::to_value(doc).with_context(|| format!("{what}: cannot convert to JSON"))
        }
        other => anyhow::bail!(
            "{what}: expected a table or a JSON string, found {}",
            other.type_str()
        ),
    }
}

#[cfg(test)]
mod tests;
