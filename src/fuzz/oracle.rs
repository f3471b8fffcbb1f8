//! What counts as a finding (pure, plus two process probes): a ledger entry the case could not legitimately
//! cause (nothing without a valid signature may reach the authorizer), a panic anywhere in the process (counted
//! by a panic hook, since task panics never reach `catch_unwind`), a hang (a case or a liveness probe past its
//! deadline), and resident memory past its bound.

use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::emulator::LedgerEntry;

/// The kinds of finding, in report order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// An invocation that no valid signature in the case accounts for.
    ReachedAuthorizer,
    /// A panic in the emulator (or anywhere in the process) during the case.
    Panic,
    /// The emulator did not finish the case's connection, or answer a liveness probe, before the deadline.
    Hang,
    /// Resident memory passed the bound.
    Memory,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReachedAuthorizer => "reached_authorizer",
            Self::Panic => "panic",
            Self::Hang => "hang",
            Self::Memory => "memory",
        }
    }
}

static PANICS: AtomicU64 = AtomicU64::new(0);
static HOOK: Once = Once::new();

/// Installs (once) a panic hook that counts panics before calling the previous hook.
pub fn install_panic_counter() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            previous(info);
        }));
    });
}

/// Panics seen in this process since the counter was installed.
pub fn panics() -> u64 {
    PANICS.load(Ordering::SeqCst)
}

/// Resident memory of this process, KiB (`VmRSS` in /proc/self/status); `None` where there is no /proc.
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Judges the ledger entries recorded during a case: each must carry the attempt id of the case's valid prefix,
/// and there can be at most `allowed` of them. Returns why the case failed.
pub fn judge_entries(
    entries: &[LedgerEntry],
    legit: Option<&str>,
    allowed: usize,
) -> Option<String> {
    let mut legit_seen = 0;
    for e in entries {
        let ok = legit.is_some() && e.attempt_id.as_deref() == legit;
        if !ok {
            return Some(format!(
                "invocation seq {} ({}, {}) carries attempt id {:?}, which sent no valid signature",
                e.seq, e.transport, e.trigger, e.attempt_id
            ));
        }
        legit_seen += 1;
    }
    (legit_seen > allowed)
        .then(|| format!("{legit_seen} invocations for a case with {allowed} valid signature(s)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, attempt: Option<&str>) -> LedgerEntry {
        LedgerEntry {
            seq,
            unix_ms: 0,
            authorizer: "A".into(),
            attempt_id: attempt.map(str::to_string),
            transport: "mqtt".into(),
            trigger: "connect".into(),
            signature_verified: true,
            event: serde_json::Value::Null,
            response: None,
            verdict: "allow".into(),
            deny_reason: None,
            duration_us: 0,
            backend: "in_process".into(),
            billed_ms: 0,
            memory_mb: 128,
            cold_start: false,
            throttled: false,
        }
    }

    #[test]
    fn only_the_valid_prefix_may_reach_the_authorizer_and_only_as_often_as_allowed() {
        assert_eq!(judge_entries(&[], None, 0), None);
        assert_eq!(judge_entries(&[entry(1, Some("p"))], Some("p"), 1), None);
        assert!(judge_entries(&[entry(1, Some("x"))], Some("p"), 1).is_some());
        assert!(judge_entries(&[entry(1, None)], None, 0).is_some());
        assert!(judge_entries(&[entry(1, Some("p")), entry(2, Some("p"))], Some("p"), 1).is_some());
    }

    #[test]
    fn rss_is_read_from_proc() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(rss_kib().is_some_and(|k| k > 0));
        }
    }
}
