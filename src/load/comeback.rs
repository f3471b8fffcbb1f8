//! How an MQTT device comes back after losing its session (pure): why the session ended ([`classify`]), the
//! wait before it reconnects (`[mqtt] reconnect`, a [`Backoff`] held after each loss and after each failed
//! reconnect, reset once a session has lasted [`RESET_AFTER`], as the AWS IoT Device SDKs do), and what its
//! reconnect attempts cost (CONNECTs after a kick, a storm's reconnects) — [`Comeback`].
//!
//! Kicks over MQTT 3.1.1 (the server just closes) are told from the client side by [`ClientIds`]: the device
//! that claimed a shared client id last holds it, so a session dropped while another device holds its id was
//! kicked by that device.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::backoff::{Backoff, BackoffSpec, Use};
use super::session::Ended;
use crate::metrics::{Outcome, SessionEnd};

/// A session that lasted this long resets the reconnect backoff (the CRT's MQTT 5 client default,
/// `min_connected_time_to_reset_reconnect_delay_ms` = 30000).
pub const RESET_AFTER: Duration = Duration::from_secs(30);

/// Why a kept session ended, from what the session saw, whether another device of the run holds the client
/// id now, and whether a storm fired while it was up.
pub fn classify(ended: Ended, claimed_by_other: bool, storm: bool) -> SessionEnd {
    match ended {
        Ended::Done => SessionEnd::Closed,
        Ended::TakenOver => SessionEnd::Kicked,
        Ended::Dropped if claimed_by_other => SessionEnd::Kicked,
        Ended::Dropped if storm => SessionEnd::Storm,
        Ended::Dropped => SessionEnd::Dropped,
    }
}

/// Who claimed each shared client id last (device + 1; 0: nobody). Empty when every device has its own id.
#[derive(Debug, Default)]
pub struct ClientIds {
    claims: Vec<AtomicU32>,
}

impl ClientIds {
    /// `ids` client ids shared by several devices; none when `shared` is false.
    pub fn new(ids: u32, shared: bool) -> Self {
        Self {
            claims: if shared {
                (0..ids).map(|_| AtomicU32::new(0)).collect()
            } else {
                Vec::new()
            },
        }
    }

    /// Before a CONNECT: `device` claims id `id` (a server admitting it kicks the holder); returns the previous
    /// claim, for [`Self::unclaim`].
    pub fn claim(&self, id: u32, device: u32) -> u32 {
        self.claims
            .get(id as usize)
            .map_or(0, |c| c.swap(device + 1, Ordering::AcqRel))
    }

    /// The CONNECT was not admitted: the claim goes back to `previous` unless someone claimed it since.
    pub fn unclaim(&self, id: u32, device: u32, previous: u32) {
        if let Some(c) = self.claims.get(id as usize) {
            let _ = c.compare_exchange(device + 1, previous, Ordering::AcqRel, Ordering::Acquire);
        }
    }

    /// Another device claimed `id` after `device` did.
    pub fn claimed_by_other(&self, id: u32, device: u32) -> bool {
        self.claims.get(id as usize).is_some_and(|c| {
            let holder = c.load(Ordering::Acquire);
            holder != 0 && holder != device + 1
        })
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
