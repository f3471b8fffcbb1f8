//! MQTT connect pacing (spec §7: 500 connects/s per account, 1/s per client id): a global rate shared by
//! every MQTT device, as slots on a fixed grid from the run's start. A device claims the next free slot, never
//! one in the past (an idle spell does not bank a burst), and waits for it; the slot is the attempt's
//! intended start, so connect latency counts the wait the pacing imposed on nobody but the generator.
//! The per-client-id rule is the device's own: at least `[safety] client_id_gap_s` between its CONNECTs (AWS
//! documents 1 s; engineers see about 10 s per client id from one host, the remote default).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

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
    next: AtomicU64,
    /// Between two CONNECTs of one client id.
    pub client_gap: Duration,
}

impl ConnectPacer {
    pub fn new(t0: Instant, connects_per_s: f64, client_gap: Duration) -> Self {
        Self {
            t0,
            interval: Duration::from_secs_f64(1.0 / connects_per_s),
            next: AtomicU64::new(0),
            client_gap,
        }
    }

    fn at(&self, slot: u64) -> Instant {
        self.t0
            + self
                .interval
                .saturating_mul(u32::try_from(slot).unwrap_or(u32::MAX))
    }

    /// Claims the next slot not before `not_before`; returns its instant (the caller sleeps until then).
    pub fn claim_at(&self, not_before: Instant) -> Instant {
        let since = not_before.saturating_duration_since(self.t0);
        let now_slot = (since.as_nanos() / self.interval.as_nanos().max(1)) as u64;
        let mut cur = self.next.load(Ordering::Relaxed);
        loop {
            let (slot, new) = claim(cur, now_slot);
            match self
                .next
                .compare_exchange_weak(cur, new, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return self.at(slot).max(self.at(now_slot)),
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
        let p = ConnectPacer::new(t0, 100.0, PER_CLIENT_GAP);
        let a = p.claim_at(t0);
        let b = p.claim_at(t0);
        let c = p.claim_at(t0);
        assert_eq!(a, t0);
        assert_eq!(b - a, Duration::from_millis(10));
        assert_eq!(c - b, Duration::from_millis(10));
        tokio::time::advance(Duration::from_secs(5)).await;
        let d = p.claim_at(Instant::now());
        assert_eq!(d, t0 + Duration::from_secs(5));
        let e = p.claim_at(t0 + Duration::from_secs(5) + PER_CLIENT_GAP);
        assert_eq!(e, t0 + Duration::from_secs(6));
    }
}
