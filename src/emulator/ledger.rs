//! The invocation ledger: one entry per authorizer invocation, in order. It is how a run proves that no forged
//! credential reached the authorizer, so every invocation is recorded, whatever its verdict.
//!
//! Appends only happen after the signature gate, so a `Mutex<Vec>` is cheap enough; readers take copies.

use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// One authorizer invocation and what came of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// 1, 2, 3, ... in invocation order.
    pub seq: u64,
    /// Wall-clock time of the invocation, milliseconds since the Unix epoch.
    pub unix_ms: u64,
    pub authorizer: String,
    /// The `x-tokenstorm-attempt` request header, when the client sent one.
    pub attempt_id: Option<String>,
    /// `https` or `http`.
    pub transport: String,
    /// What caused the invocation: `publish` (later `connect`, `refresh`).
    pub trigger: String,
    /// `signatureVerified` as given to the function (false only with `signingDisabled`).
    pub signature_verified: bool,
    /// The event the function received.
    pub event: serde_json::Value,
    /// The function's raw response; `None` when it failed or timed out.
    pub response: Option<serde_json::Value>,
    /// The request's verdict: `allow` or `deny`.
    pub verdict: String,
    /// Why it was denied (a short rule name, e.g. `not_authenticated`, `invalid_response: principalId ...`).
    pub deny_reason: Option<String>,
    /// How long the invocation took, microseconds.
    pub duration_us: u64,
}

/// A shared, cheaply cloned handle on the ledger.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    entries: Arc<Mutex<Vec<LedgerEntry>>>,
}

impl Ledger {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<LedgerEntry>> {
        // A panic while holding the lock cannot leave a half-written Vec behind; keep serving.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends an entry, assigning its `seq` (the value passed in is ignored). Returns the assigned seq.
    pub fn record(&self, mut entry: LedgerEntry) -> u64 {
        let mut entries = self.lock();
        entry.seq = entries.len() as u64 + 1;
        let seq = entry.seq;
        entries.push(entry);
        seq
    }

    /// Every entry so far, in order.
    pub fn entries(&self) -> Vec<LedgerEntry> {
        self.lock().clone()
    }

    /// Entries with `seq > since` (so `since(0)` is everything and `since(last_seen)` is what is new).
    pub fn since(&self, since: u64) -> Vec<LedgerEntry> {
        let entries = self.lock();
        let start = usize::try_from(since)
            .unwrap_or(usize::MAX)
            .min(entries.len());
        entries[start..].to_vec()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> LedgerEntry {
        LedgerEntry {
            seq: 0,
            unix_ms: 1,
            authorizer: name.into(),
            attempt_id: None,
            transport: "https".into(),
            trigger: "publish".into(),
            signature_verified: true,
            event: serde_json::json!({}),
            response: None,
            verdict: "deny".into(),
            deny_reason: Some("timeout".into()),
            duration_us: 5,
        }
    }

    #[test]
    fn seq_counts_from_one_and_since_is_exclusive() {
        let ledger = Ledger::new();
        assert!(ledger.is_empty());
        assert_eq!(ledger.record(entry("a")), 1);
        assert_eq!(ledger.record(entry("b")), 2);
        assert_eq!(ledger.record(entry("c")), 3);
        assert_eq!(ledger.len(), 3);
        let names: Vec<_> = ledger
            .since(1)
            .into_iter()
            .map(|e| (e.seq, e.authorizer))
            .collect();
        assert_eq!(names, vec![(2, "b".to_string()), (3, "c".to_string())]);
        assert_eq!(ledger.since(0).len(), 3);
        assert!(ledger.since(3).is_empty());
        assert!(ledger.since(u64::MAX).is_empty());
    }

    #[test]
    fn entries_round_trip_through_json() {
        let ledger = Ledger::new();
        ledger.record(entry("a"));
        let text = serde_json::to_string(&ledger.entries()).unwrap();
        let back: Vec<LedgerEntry> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, ledger.entries());
    }
}
