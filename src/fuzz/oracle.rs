//! What counts as a finding (pure, plus two process probes): a ledger entry the case could not legitimately
//! cause (nothing without a valid signature may reach the authorizer), a panic anywhere in the process (counted
//! by a panic hook, since task panics never reach `catch_unwind`), a hang (a case or a liveness probe past its
//! deadline), and resident memory past its bound.

use std::collections::HashMap;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::contract::LedgerEntry;

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
    /// The case's valid prefix (a validly signed request or CONNECT) never reached the authorizer: a valid
    /// device was not served.
    ValidRefused,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReachedAuthorizer => "reached_authorizer",
            Self::Panic => "panic",
            Self::Hang => "hang",
            Self::Memory => "memory",
            Self::ValidRefused => "valid_refused",
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

/// The valid attempt ids a run has issued (valid prefixes, probes) and how often each reached the authorizer.
/// An invocation may be recorded a little after its case ended (WebSocket sessions authorize in their own
/// task), so an entry is judged against every id issued so far, not only the current case's.
#[derive(Debug, Default)]
pub struct Issued {
    seen: HashMap<String, u32>,
}

impl Issued {
    pub fn issue(&mut self, attempt: &str) {
        self.seen.entry(attempt.to_string()).or_insert(0);
    }

    fn count(&self, attempt: &str) -> u32 {
        self.seen.get(attempt).copied().unwrap_or(0)
    }
}

/// Judges the ledger entries recorded during a case: each must carry an issued valid attempt id, each id may
/// reach the authorizer once, and the case's own valid prefix (`own`) must have reached it. Returns why not.
pub fn judge_entries(
    entries: &[LedgerEntry],
    own: Option<&str>,
    issued: &mut Issued,
) -> Option<(FindingKind, String)> {
    for e in entries {
        let id = e.attempt_id.as_deref().unwrap_or_default();
        match issued.seen.get_mut(id) {
            None => {
                return Some((
                    FindingKind::ReachedAuthorizer,
                    format!(
                        "invocation seq {} ({}, {}) carries attempt id {:?}, which sent no valid signature",
                        e.seq,
                        e.transport.label(),
                        e.trigger,
                        e.attempt_id
                    ),
                ));
            }
            Some(n) => {
                *n += 1;
                if *n > 1 {
                    return Some((
                        FindingKind::ReachedAuthorizer,
                        format!(
                            "attempt {id:?} reached the authorizer {n} times with one valid signature"
                        ),
                    ));
                }
            }
        }
    }
    let own = own?;
    (issued.count(own) == 0).then(|| {
        (
            FindingKind::ValidRefused,
            format!("the valid prefix {own:?} never reached the authorizer"),
        )
    })
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
            transport: crate::contract::Route::of(crate::contract::Transport::Mqtt),
            trigger: crate::contract::Trigger::Connect,
            signature_verified: true,
            event: serde_json::Value::Null.into(),
            response: None,
            verdict: crate::contract::Verdict::Allow,
            deny_reason: None,
            duration_us: 0,
            backend: crate::contract::BackendKind::InProcess,
            billed_ms: 0,
            memory_mb: 128,
            cold_start: false,
            throttled: false,
        }
    }

    #[test]
    fn only_issued_valid_attempts_may_reach_the_authorizer_once_each() {
        let mut issued = Issued::default();
        assert_eq!(judge_entries(&[], None, &mut issued), None);
        issued.issue("p");
        assert_eq!(
            judge_entries(&[entry(1, Some("p"))], Some("p"), &mut issued),
            None
        );
        // Twice for one valid signature.
        assert!(judge_entries(&[entry(2, Some("p"))], None, &mut issued).is_some());
        // Not issued, or no attempt id at all.
        assert!(judge_entries(&[entry(3, Some("x"))], None, &mut issued).is_some());
        assert!(judge_entries(&[entry(4, None)], None, &mut issued).is_some());
        // A late entry of an earlier case is fine; a valid prefix that never arrived is not.
        issued.issue("q");
        issued.issue("r");
        assert_eq!(
            judge_entries(&[], Some("q"), &mut issued).map(|(k, _)| k),
            Some(FindingKind::ValidRefused)
        );
        assert_eq!(
            judge_entries(
                &[entry(5, Some("q")), entry(6, Some("r"))],
                Some("r"),
                &mut issued
            ),
            None
        );
    }

    /// Found by the fuzz mode (seed 77, case 17257): a WebSocket session's invocation was recorded after its
    /// case had ended, and was blamed on the next case. Entries are judged against every issued id.
    #[test]
    fn regression_wss_invocation_recorded_after_its_case_is_not_a_finding() {
        let mut issued = Issued::default();
        issued.issue("fz77-17257");
        assert_eq!(
            judge_entries(&[], None, &mut issued),
            None,
            "the WebSocket case itself"
        );
        assert_eq!(
            judge_entries(&[entry(8702, Some("fz77-17257"))], None, &mut issued),
            None,
            "the next case sees the late entry"
        );
    }

    #[test]
    fn rss_is_read_from_proc() {
        if std::path::Path::new("/proc/self/status").exists() {
            assert!(rss_kib().is_some_and(|k| k > 0));
        }
    }
}
