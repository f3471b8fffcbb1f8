//! MQTT connect pacing (spec §7: 500 connects/s per account, 1/s per client id): a global rate shared by
//! every MQTT device, as slots on a fixed grid from the run's start. A device claims the next free slot, never
//! one in the past (an idle spell does not bank a burst), and waits for it; the slot is the attempt's
//! intended start, so connect latency counts the wait the pacing imposed on nobody but the generator.
//! With `[[run.stages]]` setting `target_connects_per_s`, slot k is at N⁻¹(k), N the ramp's cumulative connects
//! ([`Ramp`]), instead of k / rate.
//! The per-client-id rule is the device's own: at least `[safety] client_id_gap_s` between its CONNECTs (AWS
//! documents 1 s; engineers see about 10 s per client id from one host, the remote default).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::ramp::Ramp;

/// AWS's documented minimum gap between two CONNECTs with the same client id (the loopback default).
pub use crate::contract::limits::CONNECT_GAP_PER_CLIENT_ID as PER_CLIENT_GAP;

/// The per-client-id rule: a device whose last CONNECT went out at `last` may send the next one `gap` later,
/// never before `now`.
pub fn not_before(last: Option<Instant>, now: Instant, gap: Duration) -> Instant {
    last.map_or(now, |l| (l + gap).max(now))
}

/// The pure slot rule: with `next` the first unclaimed slot and `now_slot` the slot of the present, the
/// claimed slot and the new `next`.
pub fn claim(next: u64, now_slot: u64) -> (u64, u64) {
    let slot = next.max(now_slot);
    (slot, slot + 1)
}

/// The shared grid.
#[derive(Debug)]
pub struct ConnectPacer {
    t0: Instant,
    interval: Duration,
    /// The staged connect rate; `None`: `interval` apart.
    ramp: Option<Arc<Ramp>>,
    next: AtomicU64,
    /// Between two CONNECTs of one client id.
    pub client_gap: Duration,
}

impl ConnectPacer {
    pub fn new(
        t0: Instant,
        connects_per_s: f64,
        ramp: Option<Arc<Ramp>>,
        client_gap: Duration,
    ) -> Self {
        Self {
            t0,
            interval: Duration::from_secs_f64(1.0 / connects_per_s),
            ramp,
            next: AtomicU64::new(0),
            client_gap,
        }
    }

    /// The staged connect rate, if any.
    pub fn ramp(&self) -> Option<&Arc<Ramp>> {
        self.ramp.as_ref()
    }

    /// When slot `slot` is; `None`: never (a staged rate that ends at 0).
    fn at(&self, slot: u64) -> Option<Instant> {
        match &self.ramp {
            None => Some(
                self.t0
                    + self
                        .interval
                        .saturating_mul(u32::try_from(slot).unwrap_or(u32::MAX)),
            ),
            Some(r) => r
                .inverse(slot as f64)
                .map(|s| self.t0 + Duration::from_secs_f64(s.min(1e9))),
        }
    }

    /// The slot of an instant `since` the start (the last one not after it).
    fn slot_of(&self, since: Duration) -> u64 {
        match &self.ramp {
            None => (since.as_nanos() / self.interval.as_nanos().max(1)) as u64,
            Some(r) => r.cumulative(since.as_secs_f64()).floor() as u64,
        }
    }

    /// Claims the next slot not before `not_before`; returns its instant (the caller sleeps until then), or
    /// `None` when no slot is left (a staged rate that ended at 0).
    pub fn claim_at(&self, not_before: Instant) -> Option<Instant> {
        let since = not_before.saturating_duration_since(self.t0);
        let now_slot = self.slot_of(since);
        let mut cur = self.next.load(Ordering::Relaxed);
        loop {
            let (slot, new) = claim(cur, now_slot);
            match self
                .next
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return self.at(slot),
                Err(actual) => cur = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_never_in_the_past_and_never_shared() {
        assert_eq!(claim(0, 0), (0, 1));
        assert_eq!(claim(5, 2), (5, 6), "behind the grid: the next free slot");
        assert_eq!(claim(5, 90), (90, 91), "after idling: no banked burst");
    }

    #[test]
    fn a_client_id_connects_at_most_once_a_second() {
        let t = Instant::now();
        assert_eq!(not_before(None, t, PER_CLIENT_GAP), t);
        assert_eq!(not_before(Some(t), t, PER_CLIENT_GAP), t + PER_CLIENT_GAP);
        let later = t + Duration::from_secs(3);
        assert_eq!(not_before(Some(t), later, PER_CLIENT_GAP), later);
        // A remote target's default: ten seconds per client id.
        let ten = Duration::from_secs(10);
        assert_eq!(not_before(Some(t), later, ten), t + ten);
    }

    #[tokio::test(start_paused = true)]
    async fn the_grid_spaces_connects_at_the_rate() {
        let t0 = Instant::now();
        let p = ConnectPacer::new(t0, 100.0, None, PER_CLIENT_GAP);
        let claim = |at| p.claim_at(at).unwrap();
        let a = claim(t0);
        let b = claim(t0);
        let c = claim(t0);
        assert_eq!(a, t0);
        assert_eq!(b - a, Duration::from_millis(10));
        assert_eq!(c - b, Duration::from_millis(10));
        tokio::time::advance(Duration::from_secs(5)).await;
        let d = claim(Instant::now());
        assert_eq!(d, t0 + Duration::from_secs(5));
        let e = claim(t0 + Duration::from_secs(5) + PER_CLIENT_GAP);
        assert_eq!(e, t0 + Duration::from_secs(6));
    }

    #[tokio::test(start_paused = true)]
    async fn staged_connects_follow_the_ramp_and_stop_where_it_ends_at_zero() {
        let t0 = Instant::now();
        // 0 → 100 connects/s over 10 s, then back to 0 over 10 s: 500 + 500 slots.
        let ramp = Ramp::from_stages(&[(10.0, 100.0), (10.0, 0.0)]);
        let p = ConnectPacer::new(t0, 100.0, Some(Arc::new(ramp.clone())), PER_CLIENT_GAP);
        let mut per_second = [0u64; 20];
        while let Some(at) = p.claim_at(t0) {
            per_second[(at - t0).as_secs() as usize] += 1;
        }
        assert_eq!(per_second.iter().sum::<u64>(), 1000);
        for (k, &n) in per_second.iter().enumerate() {
            let want = ramp.cumulative(k as f64 + 1.0).ceil() - ramp.cumulative(k as f64).ceil();
            assert!(
                (n as f64 - want).abs() <= 1.0,
                "second {k}: {n} slots, the ramp {want}"
            );
        }
        assert!(per_second[0] < per_second[9] && per_second[19] < per_second[10]);
    }
}
