//! Invocations per second of the run, by class kind, for the report's `timeseries`: each joined entry is
//! counted in the second its ledger stamp (`unix_ms`) falls in, counted from the load's start on the wall
//! clock ([`Origin`], set by the load as it starts; the witness is started before it). A witness whose entries
//! carry no time (or a join without an origin) leaves it empty. At most [`MAX_SECONDS`] seconds; later
//! entries are left out and the series says it was truncated.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::contract::Class;
use crate::metrics::series::MAX_SECONDS;

/// The class kinds the series counts, in order.
pub const KINDS: [&str; 3] = ["valid", "forged", "replayed"];

fn kind_index(c: Class) -> usize {
    match c.kind() {
        "valid" => 0,
        "forged" => 1,
        _ => 2,
    }
}

/// The load's start, Unix ms; unset (0) until the load starts.
#[derive(Debug, Clone, Default)]
pub struct Origin(Arc<AtomicU64>);

impl Origin {
    /// An origin already known (a witness read after the load).
    pub fn at(unix_ms: u64) -> Self {
        let o = Self::default();
        o.set(unix_ms);
        o
    }

    pub fn set(&self, unix_ms: u64) {
        self.0.store(unix_ms, Ordering::Relaxed);
    }

    pub fn get(&self) -> Option<u64> {
        Some(self.0.load(Ordering::Relaxed)).filter(|&ms| ms > 0)
    }
}

impl PartialEq for Origin {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Origin {}

/// Invocations per second since the origin, by class kind ([`KINDS`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerSecond {
    counts: Vec<[u64; KINDS.len()]>,
    truncated: bool,
}

impl PerSecond {
    /// Counts an invocation stamped `unix_ms` by an attempt of class `c`.
    pub fn add(&mut self, origin_ms: u64, unix_ms: u64, c: Class) {
        let s = (unix_ms.saturating_sub(origin_ms) / 1000) as usize;
        if s >= MAX_SECONDS {
            self.truncated = true;
            return;
        }
        if self.counts.len() <= s {
            self.counts.resize(s + 1, [0; KINDS.len()]);
        }
        self.counts[s][kind_index(c)] += 1;
    }

    /// (second, kind, invocations) for every second and kind with any, in order.
    pub fn rows(&self) -> impl Iterator<Item = (usize, &'static str, u64)> + '_ {
        self.counts.iter().enumerate().flat_map(|(s, by_kind)| {
            KINDS
                .iter()
                .zip(by_kind)
                .filter(|(_, n)| **n > 0)
                .map(move |(k, n)| (s, *k, *n))
        })
    }

    /// Adds `other`'s counts `offset` seconds later (a merge aligning shards that started apart).
    pub fn add_shifted(&mut self, other: &PerSecond, offset: usize) {
        self.truncated |= other.truncated;
        for (s, by_kind) in other.counts.iter().enumerate() {
            let at = s + offset;
            if at >= MAX_SECONDS {
                self.truncated = true;
                continue;
            }
            if self.counts.len() <= at {
                self.counts.resize(at + 1, [0; KINDS.len()]);
            }
            for (a, b) in self.counts[at].iter_mut().zip(by_kind) {
                *a += b;
            }
        }
    }

    /// The counts per second ([`KINDS`] order) and whether later ones were left out, to save them.
    pub fn parts(&self) -> (&[[u64; KINDS.len()]], bool) {
        (&self.counts, self.truncated)
    }

    /// The series [`Self::parts`] gave.
    pub fn from_parts(counts: Vec<[u64; KINDS.len()]>, truncated: bool) -> Self {
        Self { counts, truncated }
    }

    /// Seconds covered (up to the last with an invocation).
    pub fn seconds(&self) -> usize {
        self.counts.len()
    }

    /// Invocations stamped after [`MAX_SECONDS`] were left out.
    pub fn truncated(&self) -> bool {
        self.truncated
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;

    #[test]
    fn counts_by_second_and_kind_from_the_origin() {
        let origin = Origin::default();
        assert_eq!(origin.get(), None);
        origin.set(10_000);
        let mut p = PerSecond::default();
        let o = origin.get().unwrap();
        p.add(o, 10_000, Class::Valid);
        p.add(o, 10_999, Class::Valid);
        p.add(o, 9_000, Class::Replayed); // stamped a hair before the origin: second 0
        p.add(o, 12_500, Class::Forged(Forgery::BitFlip));
        p.add(o, 12_600, Class::Expired);
        assert_eq!(
            p.rows().collect::<Vec<_>>(),
            [
                (0, "valid", 2),
                (0, "replayed", 1),
                (2, "forged", 1),
                (2, "replayed", 1)
            ]
        );
        assert_eq!((p.seconds(), p.truncated()), (3, false));
        p.add(o, 10_000 + MAX_SECONDS as u64 * 1000, Class::Valid);
        assert!(p.truncated());
        assert_eq!(p.seconds(), 3);
    }
}
