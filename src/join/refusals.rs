//! Why a run's valid attempts were refused at the gate: the first few ([`REPORTED`]) of the run's valid
//! attempts in the emulator's refusal log (`emulator::refusals`), each with its rule, the gate's checklist and
//! what to change, for the report. Read from the embedded emulator directly or from an external emulator's
//! `GET <admin_url>/refusals?limit=0&run=ID`; a real AWS endpoint keeps no such log.

use serde::{Deserialize, Serialize};

use super::AdminLedger;
use crate::emulator::refusals::{Page, Refusal};

/// Refused valid attempts a report lists at most.
pub const REPORTED: usize = 5;

/// One refused valid attempt, as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedAttempt {
    pub attempt_id: String,
    /// The emulator's route name (`https`, `http`, `mqtt_tls`, `mqtt_alpn`, `mqtt`, `wss`).
    pub transport: String,
    /// The gate rule that refused it (`tokenstorm explain`'s `rule`).
    pub rule: String,
    /// `rule: the first failing check`.
    pub summary: String,
    /// What to change.
    pub fix: Option<String>,
    /// The gate's checklist, one line per check (`[  ok] ...`, `[FAIL] ...`).
    pub checks: Vec<String>,
}

/// The first [`REPORTED`] refusals of run `run_id`'s valid attempts among `valid` (oldest first).
pub fn pick(valid: &[Refusal], run_id: &str) -> Vec<RefusedAttempt> {
    let prefix = format!("{run_id}-");
    valid
        .iter()
        .filter(|r| {
            r.attempt_id
                .as_deref()
                .is_some_and(|id| id.starts_with(&prefix))
        })
        .take(REPORTED)
        .map(|r| {
            let e = &r.explanation;
            let checks = e["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    let mark = match i["status"].as_str() {
                        Some("pass") => "ok",
                        Some("fail") => "FAIL",
                        Some("skip") => "skip",
                        _ => "--",
                    };
                    format!("[{mark:>4}] {}", i["text"].as_str().unwrap_or_default())
                })
                .collect();
            RefusedAttempt {
                attempt_id: r.attempt_id.clone().unwrap_or_default(),
                transport: r.transport.clone(),
                rule: r.rule.clone(),
                summary: r.summary.clone(),
                fix: e["fix"].as_str().map(str::to_string),
                checks,
            }
        })
        .collect()
}

/// The run's refused valid attempts from an external emulator's admin listener.
pub async fn fetch(admin_url: &str, run_id: &str) -> anyhow::Result<Vec<RefusedAttempt>> {
    let mut admin = AdminLedger::new(admin_url)?;
    let body = admin
        .fetch(&format!("/refusals?limit=0&run={run_id}"))
        .await?;
    let page: Page = serde_json::from_slice(&body)?;
    Ok(pick(&page.valid, run_id))
}
