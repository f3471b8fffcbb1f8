use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::*;
use crate::contract::{Class, Forgery, Transport};
use crate::metrics::recorder::{CELLS, cell, cell_parts};
use crate::metrics::{Outcome, Recorder};

const HTTPS: Transport = Transport::Https;

/// (second, attempts, (cell, latencies recorded) per cell).
type SecondSummary = (usize, u64, Vec<(u16, u64)>);

fn seconds_of(store: &SeriesStore) -> Vec<SecondSummary> {
    let mut out = Vec::new();
    store
        .each_second(|s| {
            let cells = s.cells.iter().map(|(c, h)| (*c, h.len())).collect();
            out.push((s.index, s.counts.iter().sum(), cells));
        })
        .unwrap();
    out
}

#[test]
fn cells_round_trip() {
    for i in 0..CELLS {
        let (t, c, o) = cell_parts(i);
        assert_eq!(cell(t, c, o), i);
    }
}

/// Two tasks' seconds, one attempt that finished out of order, a second sealed before a late fold and the warm-up
/// left out of the histograms: each second's counts and histograms add up to the whole-run recorder's.
#[test]
fn seconds_add_up_to_the_whole_run() {
    let t0 = Instant::now();
    let store = Arc::new(SeriesStore::new(t0, 1_000));
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let (mut a, mut b) = (
        Recorder::with_series(store.clone()),
        Recorder::with_series(store.clone()),
    );
    let valid = (HTTPS, Class::Valid, Outcome::Allowed);
    let forged = (HTTPS, Class::Forged(Forgery::BitFlip), Outcome::Forbidden);
    a.end_at(at(100), valid, (10, 10), false);
    a.end_at(at(900), valid, (20, 20), true);
    b.end_at(at(950), forged, (30, 30), true);
    a.end_at(at(1_100), valid, (40, 40), true);
    a.end_at(at(999), valid, (50, 50), true); // out of order: straight into second 0
    assert!(store.seal_before(1) > 0, "second 0 sealed");
    b.end_at(at(2_500), forged, (60, 60), true); // b folds its second 0 after it was sealed
    a.flush_series();
    b.flush_series();
    assert!(
        store.seal_before(1) > 0,
        "b's late second 0: a second piece"
    );
    let mut whole = Recorder::new();
    whole.merge(&a);
    whole.merge(&b);
    let (v, f) = (
        cell(HTTPS, Class::Valid, Outcome::Allowed) as u16,
        cell(forged.0, forged.1, forged.2) as u16,
    );
    assert_eq!(
        seconds_of(&store),
        [
            (0, 4, vec![(v, 2), (f, 1)]),
            (1, 1, vec![(v, 1)]),
            (2, 1, vec![(f, 1)])
        ]
    );
    assert_eq!(store.seconds(), 3);
    assert!(!store.truncated());
    let mut merged: Vec<Histogram<u64>> =
        vec![Histogram::new(3).unwrap(), Histogram::new(3).unwrap()];
    store
        .each_second(|s| {
            for (c, h) in s.cells {
                merged[usize::from(*c == f)].add(h).unwrap();
            }
        })
        .unwrap();
    assert_eq!(
        &merged[0],
        whole.latency(valid.0, valid.1, valid.2).unwrap()
    );
    assert_eq!(
        &merged[1],
        whole.latency(forged.0, forged.1, forged.2).unwrap()
    );
}

/// Seconds past the bound share its last slot, and the store says it was truncated.
#[test]
fn seconds_past_the_bound_share_the_last_slot() {
    let t0 = Instant::now();
    let store = Arc::new(SeriesStore::new(t0, 0));
    let mut r = Recorder::with_series(store.clone());
    for s in [
        0,
        MAX_SECONDS as u64 - 1,
        MAX_SECONDS as u64,
        MAX_SECONDS as u64 + 7,
    ] {
        r.end_at(
            t0 + Duration::from_secs(s),
            (HTTPS, Class::Valid, Outcome::Allowed),
            (5, 5),
            true,
        );
    }
    r.flush_series();
    let got: Vec<(usize, u64)> = seconds_of(&store)
        .into_iter()
        .map(|(i, n, _)| (i, n))
        .collect();
    assert_eq!(got, [(0, 1), (MAX_SECONDS - 1, 1), (MAX_SECONDS, 2)]);
    assert_eq!(store.seconds(), MAX_SECONDS);
    assert!(store.truncated());
}

/// The memory a sealed second takes (printed with `--nocapture`; the figures are in `store.rs`'s comment): 5,000
/// attempts over 50 cells, latencies spread over 1–100 ms.
#[test]
fn sealed_memory_per_second() {
    let t0 = Instant::now();
    let store = Arc::new(SeriesStore::new(t0, 0));
    let mut r = Recorder::with_series(store.clone());
    let mut x: u64 = 7;
    for n in 0..5_000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let c = Class::ALL[(n % 50) as usize];
        let us = 1_000 + (x >> 33) % 99_000;
        r.end_at(
            t0 + Duration::from_micros(n * 150),
            (HTTPS, c, Outcome::Allowed),
            (us, us),
            true,
        );
    }
    r.flush_series();
    let bytes = store.seal_before(1);
    eprintln!("a sealed second of 5000 attempts over 50 cells: {bytes} bytes");
    assert_eq!(bytes, store.sealed_bytes());
    assert!(bytes < 64 * 1024, "{bytes}");
    let mut one = Recorder::with_series(store.clone());
    one.end_at(
        t0 + Duration::from_secs(3),
        (HTTPS, Class::Valid, Outcome::Allowed),
        (2_000, 2_000),
        true,
    );
    one.flush_series();
    eprintln!("a cell with one attempt: {} bytes", store.seal_before(4));
}

/// A spilling store reads back exactly what one that keeps its pieces in memory does, holds none of them in
/// memory, and leaves no file in the folder.
#[test]
fn a_spilled_store_reads_back_what_a_held_one_does() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let (held, spilled) = (
        Arc::new(SeriesStore::new(t0, 1_000)),
        Arc::new(SeriesStore::new(t0, 1_000)),
    );
    spilled.spill_to(dir.path()).unwrap();
    assert!(spilled.spills() && !held.spills());
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let valid = (HTTPS, Class::Valid, Outcome::Allowed);
    let forged = (HTTPS, Class::Forged(Forgery::BitFlip), Outcome::Forbidden);
    for store in [&held, &spilled] {
        let mut r = Recorder::with_series(store.clone());
        for i in 0..3_000u64 {
            let class = if i % 3 == 0 { forged } else { valid };
            r.end_at(at(i * 2), class, (100 + i * 37 % 5_000, 1), true);
            if i % 700 == 0 {
                r.flush_series();
                store.seal_before((i / 500) as usize);
            }
        }
        r.flush_series();
        store.seal_before(usize::MAX);
    }
    assert_eq!(seconds_of(&held), seconds_of(&spilled));
    assert_eq!(held.sealed_bytes(), spilled.sealed_bytes());
    assert!(held.held_bytes() > 0);
    assert_eq!(spilled.held_bytes(), 0, "every sealed piece is in the file");
    let hists = |s: &SeriesStore| {
        let mut out = Vec::new();
        s.each_second(|sec| out.push(sec.cells.to_vec())).unwrap();
        out
    };
    assert_eq!(hists(&held), hists(&spilled));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "the spill file is unlinked"
    );
}

/// A folder the spill cannot be made in is an error the caller reports; the store still works in memory.
#[test]
fn a_spill_that_cannot_be_made_leaves_the_store_in_memory() {
    let store = SeriesStore::new(Instant::now(), 0);
    assert!(
        store
            .spill_to(std::path::Path::new("/nonexistent/tokenstorm"))
            .is_err()
    );
    assert!(!store.spills());
    store.add_one(0, 0, 0, Some(10));
    store.seal_before(1);
    assert!(store.held_bytes() > 0);
}
