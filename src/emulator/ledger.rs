//! The invocation ledger: one entry per authorizer invocation, in order. It is how a run proves that no forged
//! credential reached the authorizer, so every invocation is recorded, whatever its verdict.
//!
//! The ledger is bounded: it keeps the most recent `capacity` entries (a ring) plus totals that are never
//! dropped (entries ever recorded, entries evicted). Seqs are 1, 2, 3, ... with no holes, so a reader that
//! remembers the last seq it saw can always tell whether entries it has not seen were evicted ([`Since::missed`]).
//! A reader in the same process can also attach an [`EvictHook`] that sees every entry just before it is evicted,
//! so it never misses one whatever the timing. Appends only happen after the signature gate, so one mutex is
//! cheap enough; readers take copies.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::contract::LedgerEntry;

/// Entries kept when nothing else is configured.
pub const DEFAULT_CAPACITY: usize = crate::contract::ledger::DEFAULT_LEDGER_CAPACITY;

/// Called with each entry just before the ledger evicts it (under the ledger's lock: keep it short, and never
/// call back into the ledger).
pub type EvictHook = Arc<dyn Fn(&LedgerEntry) + Send + Sync>;

/// What [`Ledger::since`] / [`Ledger::page`] found after a given seq.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Since {
    /// Entries with `seq > since`, oldest first (at most the page limit).
    pub entries: Vec<LedgerEntry>,
    /// Entries with `seq > since` that were evicted before this read: the caller can never see them.
    pub missed: u64,
    /// The oldest seq still held (`next_seq` when the ledger holds nothing).
    pub first_seq: u64,
    /// The newest seq ever recorded (0: none yet).
    pub last_seq: u64,
    /// The seq the next invocation will get (`last_seq + 1`).
    pub next_seq: u64,
    /// Entries evicted so far (always the seqs `1..=evicted`).
    pub evicted: u64,
    /// How many entries the ledger keeps.
    pub capacity: usize,
}

struct Inner {
    entries: VecDeque<LedgerEntry>,
    capacity: usize,
    /// Entries ever recorded (so also the last seq given out).
    recorded: u64,
    evicted: u64,
    on_evict: Option<EvictHook>,
}

/// A shared, cheaply cloned handle on the ledger.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("Ledger")
            .field("capacity", &inner.capacity)
            .field("held", &inner.entries.len())
            .field("recorded", &inner.recorded)
            .field("evicted", &inner.evicted)
            .finish()
    }
}

impl Default for Ledger {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl Ledger {
    /// A ledger of [`DEFAULT_CAPACITY`] entries.
    pub fn new() -> Self {
        Self::default()
    }

    /// A ledger that keeps the most recent `capacity` entries (0 is taken as 1).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            inner: Arc::new(Mutex::new(Inner {
                // Grows as needed: a large capacity costs nothing until it is used.
                entries: VecDeque::with_capacity(capacity.min(1024)),
                capacity,
                recorded: 0,
                evicted: 0,
                on_evict: None,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written ring behind; keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sets (or with `None` removes) the hook that sees each entry just before it is evicted.
    pub fn set_evict_hook(&self, hook: Option<EvictHook>) {
        self.lock().on_evict = hook;
    }

    /// Appends an entry, assigning its `seq` (the value passed in is ignored), evicting the oldest entry when
    /// the ledger is full. Returns the assigned seq.
    pub fn record(&self, mut entry: LedgerEntry) -> u64 {
        let mut inner = self.lock();
        inner.recorded += 1;
        entry.seq = inner.recorded;
        while inner.entries.len() >= inner.capacity {
            let Some(old) = inner.entries.pop_front() else {
                break;
            };
            if let Some(hook) = &inner.on_evict {
                hook(&old);
            }
            inner.evicted += 1;
        }
        inner.entries.push_back(entry);
        inner.recorded
    }

    /// Every entry still held, oldest first.
    pub fn entries(&self) -> Vec<LedgerEntry> {
        self.lock().entries.iter().cloned().collect()
    }

    /// Entries with `seq > since` (so `since(0)` is everything held and `since(last_seen)` is what is new), and
    /// how many such entries were already evicted.
    pub fn since(&self, since: u64) -> Since {
        self.page(since, usize::MAX)
    }

    /// Like [`since`](Self::since), but at most `limit` entries.
    pub fn page(&self, since: u64, limit: usize) -> Since {
        Self::page_of(&self.lock(), since, limit)
    }

    fn page_of(inner: &Inner, since: u64, limit: usize) -> Since {
        let first_seq = inner.evicted + 1;
        // Entries hold seqs first_seq..=recorded, in order, without holes.
        let skip = since.saturating_sub(inner.evicted);
        let skip = usize::try_from(skip).unwrap_or(usize::MAX);
        let entries = inner
            .entries
            .iter()
            .skip(skip)
            .take(limit)
            .cloned()
            .collect();
        Since {
            entries,
            missed: inner.evicted.saturating_sub(since),
            first_seq,
            last_seq: inner.recorded,
            next_seq: inner.recorded + 1,
            evicted: inner.evicted,
            capacity: inner.capacity,
        }
    }

    /// Like [`since`](Self::since) for the ledger's only reader (an embedded run's join): the entries returned are
    /// handed over and no longer held, nor are older ones the reader has seen, so a ledger drained as it fills
    /// keeps nothing between drains. They count as evicted (seqs stay contiguous: `first_seq` moves on), without
    /// the eviction hook (the reader has them).
    pub fn take_since(&self, since: u64) -> Since {
        let mut inner = self.lock();
        // The counts as a page of nothing says them, then the entries moved out (not copied: they hold events).
        let mut page = Self::page_of(&inner, since, 0);
        let seen = usize::try_from(since.saturating_sub(inner.evicted)).unwrap_or(usize::MAX);
        let taken = inner.entries.len();
        page.entries = inner.entries.drain(..).skip(seen).collect();
        inner.evicted += taken as u64;
        page
    }

    /// Entries currently held (at most the capacity).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn capacity(&self) -> usize {
        self.lock().capacity
    }

    /// Entries ever recorded (held or evicted).
    pub fn recorded(&self) -> u64 {
        self.lock().recorded
    }

    /// Entries evicted so far.
    pub fn evicted(&self) -> u64 {
        self.lock().evicted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ledger::DEFAULT_MEMORY_MB;
    use crate::contract::{BackendKind, DenyReason, Route, Transport, Trigger, Verdict};
    use std::sync::atomic::{AtomicU64, Ordering};

    fn entry(name: &str) -> LedgerEntry {
        LedgerEntry {
            seq: 0,
            unix_ms: 1,
            authorizer: name.into(),
            attempt_id: None,
            transport: Route::of(Transport::Https),
            trigger: Trigger::Publish,
            signature_verified: true,
            event: serde_json::json!({}).into(),
            response: None,
            verdict: Verdict::Deny,
            deny_reason: Some(DenyReason::Timeout),
            duration_us: 5,
            backend: BackendKind::InProcess,
            billed_ms: 0,
            memory_mb: DEFAULT_MEMORY_MB,
            cold_start: false,
            throttled: false,
        }
    }

    fn seqs(s: &Since) -> Vec<u64> {
        s.entries.iter().map(|e| e.seq).collect()
    }

    /// The only reader takes what it reads: nothing stays held, later entries keep their seqs, and a reader
    /// that took everything has missed nothing.
    #[test]
    fn take_since_hands_entries_over_and_keeps_none() {
        let ledger = Ledger::with_capacity(10);
        for n in ["a", "b", "c"] {
            ledger.record(entry(n));
        }
        let first = ledger.take_since(1);
        assert_eq!((seqs(&first), first.missed), (vec![2, 3], 0));
        assert!(ledger.is_empty());
        assert_eq!((ledger.recorded(), ledger.evicted()), (3, 3));
        assert_eq!(ledger.record(entry("d")), 4);
        let next = ledger.take_since(3);
        assert_eq!((seqs(&next), next.missed, next.first_seq), (vec![4], 0, 4));
        assert!(ledger.is_empty());
    }

    #[test]
    fn seq_counts_from_one_and_since_is_exclusive() {
        let ledger = Ledger::new();
        assert!(ledger.is_empty());
        assert_eq!(ledger.capacity(), DEFAULT_CAPACITY);
        assert_eq!(ledger.record(entry("a")), 1);
        assert_eq!(ledger.record(entry("b")), 2);
        assert_eq!(ledger.record(entry("c")), 3);
        assert_eq!(ledger.len(), 3);
        let names: Vec<_> = ledger
            .since(1)
            .entries
            .into_iter()
            .map(|e| (e.seq, e.authorizer))
            .collect();
        assert_eq!(names, vec![(2, "b".to_string()), (3, "c".to_string())]);
        let all = ledger.since(0);
        assert_eq!(seqs(&all), [1, 2, 3]);
        assert_eq!(
            (
                all.missed,
                all.first_seq,
                all.last_seq,
                all.next_seq,
                all.evicted
            ),
            (0, 1, 3, 4, 0)
        );
        assert!(ledger.since(3).entries.is_empty());
        assert!(ledger.since(u64::MAX).entries.is_empty());
        assert_eq!(ledger.since(u64::MAX).missed, 0);
    }

    #[test]
    fn a_full_ring_evicts_the_oldest_and_keeps_seqs_continuous() {
        let ledger = Ledger::with_capacity(3);
        for i in 1..=5u64 {
            assert_eq!(ledger.record(entry("a")), i);
        }
        assert_eq!(ledger.len(), 3);
        assert_eq!((ledger.recorded(), ledger.evicted()), (5, 2));
        let all = ledger.since(0);
        assert_eq!(seqs(&all), [3, 4, 5]);
        assert_eq!(
            (
                all.missed,
                all.first_seq,
                all.last_seq,
                all.next_seq,
                all.evicted
            ),
            (2, 3, 5, 6, 2)
        );
        assert_eq!(
            ledger.entries().iter().map(|e| e.seq).collect::<Vec<_>>(),
            [3, 4, 5]
        );
    }

    #[test]
    fn since_reports_the_entries_evicted_before_the_caller_saw_them() {
        let ledger = Ledger::with_capacity(4);
        for _ in 0..10 {
            ledger.record(entry("a"));
        }
        // Held: 7..=10; evicted: 1..=6.
        let s = ledger.since(2);
        assert_eq!((seqs(&s), s.missed), (vec![7, 8, 9, 10], 4));
        let s = ledger.since(6);
        assert_eq!((seqs(&s), s.missed), (vec![7, 8, 9, 10], 0));
        let s = ledger.since(8);
        assert_eq!((seqs(&s), s.missed), (vec![9, 10], 0));
        let s = ledger.since(10);
        assert_eq!((seqs(&s), s.missed), (vec![], 0));
        let p = ledger.page(0, 2);
        assert_eq!((seqs(&p), p.missed), (vec![7, 8], 6));
        let p = ledger.page(8, 1);
        assert_eq!(seqs(&p), [9]);
        assert!(ledger.page(0, 0).entries.is_empty());
    }

    #[test]
    fn memory_stays_bounded_after_ten_times_the_capacity() {
        let capacity = 100;
        let ledger = Ledger::with_capacity(capacity);
        for _ in 0..10 * capacity {
            ledger.record(entry("a"));
            assert!(ledger.len() <= capacity);
        }
        assert_eq!(ledger.len(), capacity);
        assert_eq!(ledger.recorded(), 1000);
        assert_eq!(ledger.evicted(), 900);
        assert_eq!(ledger.since(0).entries.first().map(|e| e.seq), Some(901));
    }

    #[test]
    fn the_evict_hook_sees_every_evicted_entry_in_order() {
        let ledger = Ledger::with_capacity(2);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicU64::new(0));
        let (s, c) = (seen.clone(), count.clone());
        ledger.set_evict_hook(Some(Arc::new(move |e: &LedgerEntry| {
            s.lock().unwrap().push(e.seq);
            c.fetch_add(1, Ordering::Relaxed);
        })));
        for _ in 0..5 {
            ledger.record(entry("a"));
        }
        assert_eq!(*seen.lock().unwrap(), [1, 2, 3]);
        ledger.set_evict_hook(None);
        ledger.record(entry("a"));
        assert_eq!(count.load(Ordering::Relaxed), 3);
        assert_eq!(ledger.evicted(), 4);
    }

    #[test]
    fn capacity_zero_is_taken_as_one() {
        let ledger = Ledger::with_capacity(0);
        ledger.record(entry("a"));
        ledger.record(entry("b"));
        assert_eq!(ledger.entries().len(), 1);
        assert_eq!(ledger.entries()[0].authorizer, "b");
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
