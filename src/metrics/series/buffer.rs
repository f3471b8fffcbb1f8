//! A load task's current second of the time series: counts per (transport, outcome) and latency histograms per
//! cell for the attempts that ended in that second, folded into the shared [`SeriesStore`] once the task's next
//! attempt ends in a later second (or when the task ends). The request path only adds to arrays it owns; an
//! attempt that ends in an earlier second than the current one (finished out of order) goes straight to the
//! store.

use std::sync::Arc;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::store::{PAIRS, SeriesStore, pair};
use crate::contract::{Class, Transport};
use crate::metrics::Outcome;
use crate::metrics::recorder::{CELLS, cell, new_hist, record};

const NONE: u16 = u16::MAX;

pub struct SeriesBuffer {
    store: Arc<SeriesStore>,
    second: usize,
    counts: [u64; PAIRS],
    /// Per cell: its index in `hists`, or [`NONE`].
    slot_of: Vec<u16>,
    /// The histograms this task has used (reset, not freed, at each fold).
    hists: Vec<(u16, Histogram<u64>)>,
    pending: bool,
}

impl SeriesBuffer {
    pub fn new(store: Arc<SeriesStore>) -> Self {
        Self {
            store,
            second: 0,
            counts: [0; PAIRS],
            slot_of: vec![NONE; CELLS],
            hists: Vec::new(),
            pending: false,
        }
    }

    /// An attempt ended at `at`; `latency_us` is `None` when it is left out of the histograms (warm-up).
    pub fn end(
        &mut self,
        at: Instant,
        t: Transport,
        c: Class,
        o: Outcome,
        latency_us: Option<u64>,
    ) {
        let s = self.store.second_of(at);
        let i = cell(t, c, o);
        if s < self.second {
            self.store.add_one(s, pair(t, o), i as u16, latency_us);
            return;
        }
        if s > self.second {
            self.flush();
            self.second = s;
        }
        self.counts[pair(t, o)] += 1;
        self.pending = true;
        if let Some(us) = latency_us {
            if self.slot_of[i] == NONE {
                self.slot_of[i] = self.hists.len() as u16;
                self.hists.push((i as u16, new_hist()));
            }
            record(&mut self.hists[self.slot_of[i] as usize].1, us);
        }
    }

    /// Folds the current second into the store.
    pub fn flush(&mut self) {
        if !self.pending {
            return;
        }
        self.store.add(self.second, &self.counts, &self.hists);
        self.counts = [0; PAIRS];
        for (_, h) in &mut self.hists {
            h.reset();
        }
        self.pending = false;
    }
}

/// A copy starts empty on the same store: what the original has not folded in yet stays its own (never counted
/// twice).
impl Clone for SeriesBuffer {
    fn clone(&self) -> Self {
        Self::new(self.store.clone())
    }
}

impl std::fmt::Debug for SeriesBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesBuffer")
            .field("second", &self.second)
            .field("cells", &self.hists.len())
            .finish()
    }
}
