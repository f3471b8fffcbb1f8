//! How an MQTT device comes back after losing its session (pure): why the session ended ([`classify`]), the
//! wait before it reconnects (`[mqtt] reconnect`, a [`Backoff`] held after each loss and after each failed
//! reconnect, reset once a session has lasted [`RESET_AFTER`], as the AWS IoT Device SDKs do), and what its
//! reconnect attempts cost (CONNECTs after a kick, a storm's reconnects) — [`Comeback`].
//!
//! Kicks over MQTT 3.1.1 (the server just closes) are told from the client side by [`ClientIds`]: a session
//! dropped after another device's CONNECT with the same client id was admitted was kicked by it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::backoff::{Backoff, BackoffSpec, Use};
use super::session::Ended;
use crate::metrics::{Outcome, SessionEnd};

/// A session that lasted this long resets the reconnect backoff (the CRT's MQTT 5 client default,
/// `min_connected_time_to_reset_reconnect_delay_ms` = 30000).
pub const RESET_AFTER: Duration = Duration::from_secs(30);

/// Why a kept session ended, from what the session saw, whether a storm fired while it was up (a storm drops
/// every session up), and whether another device's CONNECT with the same client id was admitted after it.
pub fn classify(ended: Ended, storm: bool, kicked_by_other: bool) -> SessionEnd {
    match ended {
        Ended::Done => SessionEnd::Closed,
        Ended::TakenOver => SessionEnd::Kicked,
        Ended::Dropped if storm => SessionEnd::Storm,
        Ended::Dropped if kicked_by_other => SessionEnd::Kicked,
        Ended::Dropped => SessionEnd::Dropped,
    }
}

/// What the fleet knows of each shared client id: how many CONNECTs with it the server admitted so far, and how
/// many are in flight. Empty when every device has its own id.
///
/// One connection holds an id, so a session dropped without a word (MQTT 3.1.1) was kicked when another
/// CONNECT with its id was admitted since its own CONNECT was sent: [`Self::mark`] notes the admissions so far
/// when a CONNECT is sent, and a dropped device counts those since, waiting for the CONNECTs still in flight
/// with its id ([`Self::kicked_since`]): the kicker's CONNACK may reach the fleet after the kicked connection's
/// close does, and two CONNECTs sent together may be admitted in either order.
#[derive(Debug, Default)]
pub struct ClientIds {
    ids: Vec<IdState>,
}

#[derive(Debug, Default)]
struct IdState {
    admitted: AtomicU64,
    in_flight: AtomicU32,
}

/// A CONNECT in flight with a shared client id (counted until dropped).
pub struct InFlight<'a>(Option<&'a AtomicU32>);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(n) = self.0 {
            n.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

impl ClientIds {
    /// `ids` client ids shared by several devices; none when `shared` is false.
    pub fn new(ids: u32, shared: bool) -> Self {
        Self {
            ids: if shared {
                (0..ids).map(|_| IdState::default()).collect()
            } else {
                Vec::new()
            },
        }
    }

    pub fn shared(&self) -> bool {
        !self.ids.is_empty()
    }

    /// A CONNECT with id `id` is about to be sent.
    pub fn sending(&self, id: u32) -> InFlight<'_> {
        let n = self.ids.get(id as usize).map(|s| &s.in_flight);
        if let Some(n) = n {
            n.fetch_add(1, Ordering::AcqRel);
        }
        InFlight(n)
    }

    /// The admissions with id `id` so far (noted when a CONNECT is sent).
    pub fn mark(&self, id: u32) -> u64 {
        self.ids
            .get(id as usize)
            .map_or(0, |s| s.admitted.load(Ordering::Acquire))
    }

    /// A CONNECT with id `id` was admitted.
    pub fn admitted(&self, id: u32) {
        if let Some(s) = self.ids.get(id as usize) {
            s.admitted.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Another CONNECT with `id` was admitted besides the session's own, since its CONNECT was sent (`mark`);
    /// the CONNECTs in flight with it are waited for (up to `patience`): one of them may be the kicker.
    pub async fn kicked_since(&self, id: u32, mark: u64, patience: Duration) -> bool {
        let Some(s) = self.ids.get(id as usize) else {
            return false;
        };
        let until = Instant::now() + patience;
        loop {
            if s.admitted.load(Ordering::Acquire) > mark + 1 {
                return true;
            }
            if s.in_flight.load(Ordering::Acquire) == 0 || Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// What a reconnect attempt counts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counted {
    /// A CONNECT sent after a kick.
    pub after_kick: bool,
    /// A CONNECT of a device the storm (index) dropped.
    pub storm: Option<usize>,
    /// The device is back in after storm (index), this long after it fired.
    pub back_from_storm: Option<(usize, Duration)>,
}

/// One device's way back.
#[derive(Debug, Clone)]
pub struct Comeback {
    backoff: Option<Backoff>,
    /// Lost its session and not back in yet.
    reconnecting: bool,
    after_kick: bool,
    /// The storm that dropped it (index, when it fired), until it is back in.
    storm: Option<(usize, Instant)>,
}

impl Comeback {
    pub fn new(spec: Option<BackoffSpec>, seed: u64, device: u32) -> Self {
        Self {
            backoff: spec.map(|s| Backoff::for_use(s, seed, device, Use::Reconnect)),
            reconnecting: false,
            after_kick: false,
            storm: None,
        }
    }

    /// The session ended `end` at `now` after `lasted`; `storm`: the storm that dropped it.
    pub fn lost(
        &mut self,
        end: SessionEnd,
        lasted: Duration,
        storm: Option<(usize, Instant)>,
        now: Instant,
    ) {
        if (lasted >= RESET_AFTER || end == SessionEnd::Closed)
            && let Some(b) = &mut self.backoff
        {
            b.reset();
        }
        if end == SessionEnd::Closed {
            return;
        }
        self.reconnecting = true;
        self.after_kick = end == SessionEnd::Kicked;
        self.storm = storm.filter(|_| end == SessionEnd::Storm);
        if let Some(b) = &mut self.backoff {
            b.hold(now);
        }
    }

    /// The next CONNECT waits until then; `None`: no wait.
    pub fn until(&self) -> Option<Instant> {
        self.backoff.as_ref().and_then(Backoff::until)
    }

    /// A CONNECT ended `outcome` at `now`: what it counts for. Back in ends the way back; a failed reconnect
    /// backs off further.
    pub fn attempted(&mut self, outcome: Outcome, now: Instant) -> Counted {
        if !self.reconnecting {
            return Counted::default();
        }
        let counted = Counted {
            after_kick: self.after_kick,
            storm: self.storm.map(|(k, _)| k),
            back_from_storm: None,
        };
        if outcome == Outcome::Allowed {
            self.reconnecting = false;
            self.after_kick = false;
            return Counted {
                back_from_storm: self
                    .storm
                    .take()
                    .map(|(k, at)| (k, now.saturating_duration_since(at))),
                ..counted
            };
        }
        if let Some(b) = &mut self.backoff {
            b.hold(now);
        }
        counted
    }
}

#[cfg(test)]
#[path = "comeback_tests.rs"]
mod tests;
