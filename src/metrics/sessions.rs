//! How kept MQTT sessions ended, per (transport, class) of the attempt that opened them, and what each storm
//! did to the fleet. A session that ends is not an attempt's outcome (its CONNECT was already counted
//! `allowed`), so these are counted beside the outcomes: every attempt still ends in exactly one outcome.
//!
//! A kick (another connection with the same client id took the session over, spec §7) is told apart from a
//! plain drop on the client side: MQTT 5 says so (DISCONNECT `0x8E`, Session taken over); MQTT 3.1.1 just closes,
//! so the fleet knows it from its own devices (another device of the run claimed the client id). A storm
//! (`[[mqtt.storms]]`) drops every session open when it fires.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::recorder::{new_hist, record};
use crate::contract::{Class, Transport};

/// Why a kept MQTT session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionEnd {
    /// The device ended it: the run's end, `mqtt.session_s`, a `target_devices` ramp, a stop.
    Closed,
    /// The server closed it (or the connection broke) for another reason.
    Dropped,
    /// Another connection with the same client id took it over.
    Kicked,
    /// A storm dropped it.
    Storm,
}

impl SessionEnd {
    pub const COUNT: usize = 4;
    pub const ALL: [SessionEnd; Self::COUNT] =
        [Self::Closed, Self::Dropped, Self::Kicked, Self::Storm];

    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Dropped => "dropped",
            Self::Kicked => "kicked",
            Self::Storm => "storm",
        }
    }
}

/// What one storm did: the sessions it dropped and how their devices came back.
#[derive(Debug, Clone, Default)]
pub struct StormTally {
    /// It fired (a run that ends first skips it).
    pub fired: bool,
    /// The sessions the target said it dropped (`None`: no answer).
    pub target_dropped: Option<u64>,
    /// Sessions the storm dropped.
    pub dropped: u64,
    /// CONNECTs those devices sent until they were back in (each one passing the gate is an invocation).
    pub attempts: u64,
    /// Devices back in (an allowed CONNECT) before the run ended.
    pub reconnected: u64,
    /// ... of which within the storm's window.
    pub in_window: u64,
    /// From the storm to each device's allowed CONNECT, µs.
    pub delay_us: Option<Histogram<u64>>,
}

impl StormTally {
    fn merge(&mut self, o: &StormTally) {
        self.fired |= o.fired;
        self.target_dropped = self.target_dropped.or(o.target_dropped);
        self.dropped += o.dropped;
        self.attempts += o.attempts;
        self.reconnected += o.reconnected;
        self.in_window += o.in_window;
        if let Some(h) = &o.delay_us {
            match &mut self.delay_us {
                Some(mine) => {
                    let _ = mine.add(h);
                }
                None => self.delay_us = Some(h.clone()),
            }
        }
    }
}

const CELLS: usize = Transport::COUNT * Class::COUNT;

fn cell(t: Transport, c: Class) -> usize {
    t.index() * Class::COUNT + c.index()
}

/// Session ends and storms, per recorder; merged losslessly.
#[derive(Debug, Clone)]
pub struct SessionTally {
    pub(super) ends: [[u64; SessionEnd::COUNT]; CELLS],
    /// CONNECTs sent by a device whose last session was kicked, until one is allowed (the kick's cost).
    pub(super) after_kick: [u64; CELLS],
    /// Per storm, in `[[mqtt.storms]]` order (grown on first use).
    pub(super) storms: Vec<StormTally>,
}

impl Default for SessionTally {
    fn default() -> Self {
        Self {
            ends: [[0; SessionEnd::COUNT]; CELLS],
            after_kick: [0; CELLS],
            storms: Vec::new(),
        }
    }
}

impl SessionTally {
    pub fn ended(&mut self, t: Transport, c: Class, e: SessionEnd) {
        self.ends[cell(t, c)][e.index()] += 1;
    }

    pub fn ends(&self, t: Transport, c: Class, e: SessionEnd) -> u64 {
        self.ends[cell(t, c)][e.index()]
    }

    /// A CONNECT sent after a kick (class: the reconnect's own).
    pub fn reconnect_after_kick(&mut self, t: Transport, c: Class) {
        self.after_kick[cell(t, c)] += 1;
    }

    pub fn after_kick(&self, t: Transport, c: Class) -> u64 {
        self.after_kick[cell(t, c)]
    }

    /// Storm `k`'s tally, created on first use.
    pub fn storm(&mut self, k: usize) -> &mut StormTally {
        if self.storms.len() <= k {
            self.storms.resize_with(k + 1, StormTally::default);
        }
        &mut self.storms[k]
    }

    /// A device the storm dropped is back in, `delay_us` after the storm; `in_window`: within its window.
    pub fn storm_reconnected(&mut self, k: usize, delay_us: u64, in_window: bool) {
        let s = self.storm(k);
        s.reconnected += 1;
        s.in_window += u64::from(in_window);
        record(s.delay_us.get_or_insert_with(new_hist), delay_us);
    }

    pub fn storms(&self) -> &[StormTally] {
        &self.storms
    }

    pub fn merge(&mut self, o: &SessionTally) {
        for (a, b) in self.ends.iter_mut().zip(&o.ends) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.after_kick.iter_mut().zip(&o.after_kick) {
            *a += b;
        }
        for (k, s) in o.storms.iter().enumerate() {
            self.storm(k).merge(s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_and_storms_merge_losslessly() {
        let (t, c) = (Transport::Mqtt, Class::Valid);
        let mut a = SessionTally::default();
        a.ended(t, c, SessionEnd::Kicked);
        a.reconnect_after_kick(t, c);
        a.storm(0).dropped += 2;
        a.storm_reconnected(0, 1_000, true);
        let mut b = SessionTally::default();
        b.ended(t, c, SessionEnd::Kicked);
        b.ended(t, c, SessionEnd::Storm);
        b.storm(1).dropped += 1;
        b.storm_reconnected(1, 9_000_000, false);
        b.storm_reconnected(0, 3_000, true);
        a.merge(&b);
        assert_eq!(a.ends(t, c, SessionEnd::Kicked), 2);
        assert_eq!(a.ends(t, c, SessionEnd::Storm), 1);
        assert_eq!(a.ends(Transport::MqttTls, c, SessionEnd::Kicked), 0);
        assert_eq!(a.after_kick(t, c), 1);
        let s = a.storms();
        assert_eq!(
            (s.len(), s[0].dropped, s[0].reconnected, s[0].in_window),
            (2, 2, 2, 2)
        );
        assert_eq!(s[0].delay_us.as_ref().unwrap().len(), 2);
        assert_eq!((s[1].dropped, s[1].reconnected, s[1].in_window), (1, 1, 0));
    }
}
