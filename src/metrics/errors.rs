//! The error table a [`super::Recorder`] keeps: unanswered attempts counted per (transport, [`ErrorKind`]) in a
//! fixed array, and the first message of each kind with its transport and when it happened. Only failures
//! touch it (a successful attempt costs nothing), and a message is kept once per kind: the rest are dropped.
//! Merging adds the counts and keeps the earliest first message of each kind.

use std::time::Instant;

use super::error_kind::{ErrorKind, Failure};
use crate::contract::Transport;

const CELLS: usize = Transport::COUNT * ErrorKind::COUNT;

fn cell(t: Transport, k: ErrorKind) -> usize {
    t.index() * ErrorKind::COUNT + k.index()
}

/// The first failure of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstError {
    pub at: Instant,
    pub transport: Transport,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct ErrorTable {
    pub(super) counts: [u64; CELLS],
    pub(super) first: [Option<FirstError>; ErrorKind::COUNT],
}

impl ErrorTable {
    /// Counts one failure over `t`; keeps its message when it is the first of its kind.
    pub fn record(&mut self, t: Transport, f: Failure) {
        self.counts[cell(t, f.kind)] += 1;
        let first = &mut self.first[f.kind.index()];
        if first.is_none() {
            *first = Some(FirstError {
                at: Instant::now(),
                transport: t,
                message: f.message,
            });
        }
    }

    pub fn count(&self, t: Transport, k: ErrorKind) -> u64 {
        self.counts[cell(t, k)]
    }

    /// Failures of one kind over every transport.
    pub fn kind_total(&self, k: ErrorKind) -> u64 {
        Transport::ALL.into_iter().map(|t| self.count(t, k)).sum()
    }

    /// Failures over one transport, every kind.
    pub fn transport_total(&self, t: Transport) -> u64 {
        ErrorKind::ALL.into_iter().map(|k| self.count(t, k)).sum()
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn first(&self, k: ErrorKind) -> Option<&FirstError> {
        self.first[k.index()].as_ref()
    }

    /// The earliest failure of any kind.
    pub fn earliest(&self) -> Option<&FirstError> {
        self.first.iter().flatten().min_by_key(|f| f.at)
    }

    /// Adds `other`'s counts; keeps the earlier first message of each kind.
    pub fn merge(&mut self, other: &ErrorTable) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
        for (a, b) in self.first.iter_mut().zip(&other.first) {
            if let Some(b) = b
                && a.as_ref().is_none_or(|a| b.at < a.at)
            {
                *a = Some(b.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_kind_and_keeps_the_earliest_first_message() {
        let tls = |m: &str| Failure::new(ErrorKind::Tls, m);
        let mut early = ErrorTable::default();
        early.record(Transport::MqttTls, tls("TLS: first"));
        let t0 = early.first(ErrorKind::Tls).unwrap().at;
        while Instant::now() == t0 {
            std::hint::spin_loop();
        }
        let mut late = ErrorTable::default();
        late.record(Transport::Https, tls("TLS: later"));
        late.record(Transport::Https, tls("TLS: dropped"));
        late.record(
            Transport::Https,
            Failure::new(ErrorKind::Connect, "connect: x"),
        );
        assert_eq!(late.first(ErrorKind::Tls).unwrap().message, "TLS: later");
        // Merged either way round, the earlier message wins.
        let mut a = late.clone();
        a.merge(&early);
        let mut b = early.clone();
        b.merge(&late);
        for m in [&a, &b] {
            let f = m.first(ErrorKind::Tls).unwrap();
            assert_eq!(f.message, "TLS: first");
            assert_eq!(f.transport, Transport::MqttTls);
            assert_eq!(m.kind_total(ErrorKind::Tls), 3);
            assert_eq!(m.count(Transport::Https, ErrorKind::Tls), 2);
            assert_eq!(m.transport_total(Transport::Https), 3);
            assert_eq!(m.total(), 4);
            assert_eq!(m.first(ErrorKind::Connect).unwrap().message, "connect: x");
            assert_eq!(m.earliest().unwrap().message, "TLS: first");
            assert!(m.first(ErrorKind::Dns).is_none());
        }
    }
}
