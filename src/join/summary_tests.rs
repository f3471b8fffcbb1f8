//! The ledger join's counts: by attempt id and run, holes as missed, refreshes and cache hits apart.

use super::*;
use crate::contract::Forgery;

fn row(id: Option<&str>, verdict: &str) -> LedgerRow {
    LedgerRow::new(0, id, verdict)
}

/// A refresh is an invocation without an attempt; an HTTP cache hit an attempt without an invocation.
#[test]
fn refreshes_and_cache_hits_part_attempts_from_invocations() {
    let mut refresh = row(Some("r1-valid-0-0"), "allow");
    refresh.trigger = Some(Trigger::Refresh);
    let rows = vec![row(Some("r1-valid-0-0"), "allow"), refresh];
    let s = LedgerSummary::new("t", "r1", rows);
    let v = s.class(Class::Valid);
    assert_eq!((v.invocations, v.refreshes, v.reached()), (2, 1, 1));
    // Over HTTPS (no refreshes there): 3 attempts allowed, 1 invocation, so 2 answered from the cache.
    let s = LedgerSummary::new("t", "r1", vec![row(Some("r1-valid-0-0"), "allow")]);
    let mut rec = crate::metrics::Recorder::new();
    for _ in 0..3 {
        rec.start(Transport::Https, Class::Valid);
        let allowed = crate::metrics::Outcome::Allowed;
        rec.end(Transport::Https, Class::Valid, allowed, 1, 1, true);
    }
    assert_eq!(s.cache_hits(&rec, Class::Valid), 2);
}

#[test]
fn joins_by_attempt_id_and_run() {
    let rows = vec![
        row(Some("r1-valid-0-0"), "allow"),
        row(Some("r1-valid-1-0"), "deny"),
        row(Some("r1-replayed-2-0"), "allow"),
        row(Some("r1-forged.bit_flip-3-0"), "allow"),
        row(Some("r2-valid-0-0"), "allow"),
        row(None, "allow"),
        row(Some("garbage"), "deny"),
    ];
    let s = LedgerSummary::new("in-process", "r1", rows);
    assert_eq!(s.total, 7);
    assert_eq!(s.foreign, 3);
    assert_eq!(s.ours(), 4);
    let v = s.class(Class::Valid);
    assert_eq!((v.invocations, v.allowed, v.denied), (2, 1, 1));
    // In-process, 0 µs measured: billed the 1 ms minimum at 128 MB.
    assert_eq!((v.billed, v.billed_ms, v.mb_ms), (2, 2, 256));
    assert_eq!(s.class(Class::Replayed).invocations, 1);
    assert_eq!(s.class(Class::Forged(Forgery::BitFlip)).invocations, 1);
    assert_eq!(s.forged(), 1);
    assert_eq!(
        s.forged_examples,
        vec!["r1-forged.bit_flip-3-0".to_string()]
    );
}

#[test]
fn the_backend_s_billed_duration_counts_and_throttles_are_free() {
    let mut r = LedgerRow::new(1, Some("r-valid-0-0"), "allow");
    r.duration_us = 1_234;
    assert_eq!(
        r.billing(),
        Some((2, 128)),
        "none reported: 1.234 ms → 2 ms"
    );
    r.billed_ms = Some(0);
    assert_eq!(r.billing(), Some((2, 128)), "0 reported: measured");
    r.billed_ms = Some(100);
    r.memory_mb = Some(256);
    assert_eq!(r.billing(), Some((100, 256)));
    r.throttled = true;
    assert_eq!(r.billing(), None);

    let mut s = LedgerSummary::starting_after("t", "r", 0);
    let mut cold = LedgerRow::new(1, Some("r-replayed-1-0"), "deny");
    cold.backend = Some(BackendKind::RuntimeApi);
    cold.billed_ms = Some(30);
    cold.memory_mb = Some(1024);
    cold.cold_start = true;
    s.absorb(cold);
    let mut throttled = LedgerRow::new(2, Some("r-replayed-1-1"), "deny");
    throttled.throttled = true;
    s.absorb(throttled);
    let c = s.class(Class::Replayed);
    assert_eq!(
        (
            c.invocations,
            c.billed,
            c.billed_ms,
            c.mb_ms,
            c.cold_starts,
            c.throttled
        ),
        (2, 1, 30, 30 * 1024, 1, 1)
    );
}
