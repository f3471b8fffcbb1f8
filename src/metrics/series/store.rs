//! The run's one per-second store: for every second since the run's `t0`, the attempts that ended in it per
//! (transport, outcome), and their latency histograms per (transport, class, outcome) cell. Tasks never write
//! here per attempt: each keeps its current second in a [`super::SeriesBuffer`] and folds it in once, when its
//! next attempt ends in a later second (one lock per task per second).
//!
//! Memory stays bounded however long the run: a second's histograms stay open (merged, in memory) only while
//! tasks may still fold into it; [`SeriesStore::seal_before`] (called once a second by the load, off the
//! request path) encodes every older second's histograms to HdrHistogram's compressed V2 form (deflate), what
//! `latency.hlog` holds anyway. A task that folds into a second already sealed (it was idle, or an attempt
//! finished out of order) opens it again; the next sealing adds another encoded piece, and reading merges the
//! pieces, so nothing is lost. Measured (`series::tests::sealed_memory_per_second`): a sealed second of 5,000
//! attempts over 50 cells with latencies spread over 1–100 ms takes 10.7 KB (≈ 210 B per cell; a cell with one
//! attempt 39 B), against ≈ 64 KB per cell while open (a histogram up to 100 ms): a 10-minute run at that rate
//! keeps about 6.4 MB, plus the open seconds (the last two or three) and each task's own current second. The counts take 288 B per second. At most [`MAX_SECONDS`] seconds are
//! kept apart; everything later is folded into one last slot (`truncated`), so merging every slot still
//! gives each cell's whole-run histogram exactly.
//!
//! A run's store spills ([`SeriesStore::spill_to`]): the sealed pieces go to a file in the run folder, unlinked
//! as soon as it is open (nothing is left behind, however the run ends), and the store keeps 12 bytes per piece
//! to find it again, so a long run's memory does not grow with its seconds. A piece the file cannot take stays
//! in memory.

use std::fs::File;
use std::os::unix::fs::FileExt as _;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use tokio::time::Instant;

use crate::contract::Transport;
use crate::metrics::Outcome;
use crate::metrics::recorder::new_hist;

/// Seconds kept one by one (an hour); later ones share the slot at this index.
pub const MAX_SECONDS: usize = 3600;

/// Every (transport, outcome), as an index ([`pair`]).
pub const PAIRS: usize = Transport::COUNT * Outcome::COUNT;

/// The index of (transport, outcome) among [`PAIRS`].
pub fn pair(t: Transport, o: Outcome) -> usize {
    t.index() * Outcome::COUNT + o.index()
}

/// Histograms per cell ([`crate::metrics::recorder::cell`] index).
pub type Cells = Vec<(u16, Histogram<u64>)>;

/// An encoded piece (V2 deflate): in memory, or at `offset` in the spill file.
enum Piece {
    Held(Vec<u8>),
    Spilled { offset: u64, len: u32 },
}

impl Piece {
    fn len(&self) -> usize {
        match self {
            Self::Held(b) => b.len(),
            Self::Spilled { len, .. } => *len as usize,
        }
    }
}

/// The file sealed pieces spill to, and how far it is written.
struct Spill {
    file: File,
    end: u64,
}

impl Spill {
    /// Appends `bytes`; where they start.
    fn append(&mut self, bytes: &[u8]) -> std::io::Result<u64> {
        // Positioned: a write that failed halfway leaves no doubt where the next piece goes.
        let at = self.end;
        self.file.write_all_at(bytes, at)?;
        self.end += bytes.len() as u64;
        Ok(at)
    }
}

/// One second (or, at [`MAX_SECONDS`], everything after).
struct Slot {
    counts: [u64; PAIRS],
    /// Histograms folded in since the slot was last sealed, per cell.
    open: Cells,
    /// Encoded pieces, per cell; a cell may have several.
    sealed: Vec<(u16, Piece)>,
}

impl Slot {
    fn new() -> Self {
        Self {
            counts: [0; PAIRS],
            open: Vec::new(),
            sealed: Vec::new(),
        }
    }

    fn open_hist(&mut self, cell: u16) -> &mut Histogram<u64> {
        let i = match self.open.iter().position(|(c, _)| *c == cell) {
            Some(i) => i,
            None => {
                self.open.push((cell, new_hist()));
                self.open.len() - 1
            }
        };
        &mut self.open[i].1
    }
}

struct Inner {
    slots: Vec<Slot>,
    /// The latest second anything ended in (uncapped).
    highest: Option<usize>,
    /// Slots with open histograms.
    dirty: Vec<usize>,
}

impl Inner {
    fn slot(&mut self, second: usize) -> &mut Slot {
        self.highest = Some(self.highest.map_or(second, |h| h.max(second)));
        let i = second.min(MAX_SECONDS);
        while self.slots.len() <= i {
            self.slots.push(Slot::new());
        }
        &mut self.slots[i]
    }

    fn mark(&mut self, second: usize) {
        let i = second.min(MAX_SECONDS);
        if !self.dirty.contains(&i) {
            self.dirty.push(i);
        }
    }
}

/// One second as read back: its counts and its cells' histograms (merged, in cell order).
pub struct Second<'a> {
    /// The second since `t0`; [`MAX_SECONDS`] holds every later one too.
    pub index: usize,
    pub counts: &'a [u64; PAIRS],
    pub cells: &'a [(u16, Histogram<u64>)],
}

/// The run's per-second store, shared by every load task.
pub struct SeriesStore {
    t0: Instant,
    t0_unix_ms: u64,
    inner: Mutex<Inner>,
    /// Held by a sealing for its whole length (its histograms are out of `inner` while it encodes them) and by
    /// readers, so a reader never misses them; tasks folding in never take it. It holds the spill file, if any.
    sealing: Mutex<Option<Spill>>,
}

impl SeriesStore {
    /// A store for a run that started at `t0` (the wall clock then: `t0_unix_ms`).
    pub fn new(t0: Instant, t0_unix_ms: u64) -> Self {
        Self {
            t0,
            t0_unix_ms,
            inner: Mutex::new(Inner {
                slots: Vec::new(),
                highest: None,
                dirty: Vec::new(),
            }),
            sealing: Mutex::new(None),
        }
    }

    /// Spills sealed pieces to a new file in `dir` (removed from the folder at once: it lives as long as the
    /// store). `Err` when it cannot be created: the store keeps them in memory, as without a spill.
    pub fn spill_to(&self, dir: &Path) -> std::io::Result<()> {
        let path = dir.join(format!(".series-{}.spill", std::process::id()));
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::fs::remove_file(&path)?;
        *self.sealing.lock().unwrap_or_else(|p| p.into_inner()) = Some(Spill { file, end: 0 });
        Ok(())
    }

    /// Whether sealed pieces go to a file.
    #[cfg(test)]
    pub fn spills(&self) -> bool {
        self.sealing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The run's start on the wall clock, Unix ms.
    pub fn t0_unix_ms(&self) -> u64 {
        self.t0_unix_ms
    }

    /// The second since `t0` that `at` falls in.
    pub fn second_of(&self, at: Instant) -> usize {
        at.saturating_duration_since(self.t0).as_secs() as usize
    }

    /// Folds a task's second in: its counts per (transport, outcome) and its histograms per cell.
    pub fn add(&self, second: usize, counts: &[u64; PAIRS], hists: &[(u16, Histogram<u64>)]) {
        let mut inner = self.lock();
        let slot = inner.slot(second);
        for (a, b) in slot.counts.iter_mut().zip(counts) {
            *a += b;
        }
        let mut opened = false;
        for (cell, h) in hists.iter().filter(|(_, h)| !h.is_empty()) {
            let _ = slot.open_hist(*cell).add(h);
            opened = true;
        }
        if opened {
            inner.mark(second);
        }
    }

    /// One attempt that ended in `second`, straight into the store (a task's attempt that finished after the
    /// task had moved on to a later second: rare).
    pub fn add_one(&self, second: usize, pair: usize, cell: u16, latency_us: Option<u64>) {
        let mut inner = self.lock();
        let slot = inner.slot(second);
        slot.counts[pair] += 1;
        if let Some(us) = latency_us {
            crate::metrics::recorder::record(slot.open_hist(cell), us);
            inner.mark(second);
        }
    }

    /// Encodes the open histograms of every second before `second` (V2 deflate); the encoding runs outside the
    /// lock. Returns how many bytes it added.
    pub fn seal_before(&self, second: usize) -> usize {
        let mut spill = self.sealing.lock().unwrap_or_else(|p| p.into_inner());
        let taken: Vec<(usize, Cells)> = {
            let mut inner = self.lock();
            let (old, young): (Vec<usize>, Vec<usize>) =
                inner.dirty.iter().partition(|&&i| i < second);
            inner.dirty = young;
            old.into_iter()
                .map(|i| (i, std::mem::take(&mut inner.slots[i].open)))
                .collect()
        };
        let mut serializer = V2DeflateSerializer::new();
        let mut added = 0;
        let mut encoded = Vec::with_capacity(taken.len());
        for (i, hists) in taken {
            let mut pieces = Vec::with_capacity(hists.len());
            let mut kept = Vec::new();
            for (cell, h) in hists {
                let mut bytes = Vec::new();
                match serializer.serialize(&h, &mut bytes) {
                    Ok(_) => {
                        added += bytes.len();
                        pieces.push((cell, spilled(spill.as_mut(), bytes)));
                    }
                    // Never expected; kept open rather than lost.
                    Err(e) => {
                        tracing::warn!("cannot encode a per-second histogram: {e:?}");
                        kept.push((cell, h));
                    }
                }
            }
            encoded.push((i, pieces, kept));
        }
        let mut inner = self.lock();
        for (i, pieces, kept) in encoded {
            let slot = &mut inner.slots[i];
            slot.sealed.extend(pieces);
            for (cell, h) in kept {
                let _ = slot.open_hist(cell).add(&h);
            }
            if !inner.slots[i].open.is_empty() {
                inner.mark(i);
            }
        }
        added
    }

    /// Bytes the sealed pieces take.
    pub fn sealed_bytes(&self) -> usize {
        self.sum_pieces(Piece::len)
    }

    /// Bytes of sealed pieces held in memory (not spilled).
    #[cfg(test)]
    pub fn held_bytes(&self) -> usize {
        self.sum_pieces(|p| match p {
            Piece::Held(b) => b.len(),
            Piece::Spilled { .. } => 0,
        })
    }

    fn sum_pieces(&self, size: impl Fn(&Piece) -> usize) -> usize {
        let inner = self.lock();
        inner
            .slots
            .iter()
            .flat_map(|s| &s.sealed)
            .map(|(_, p)| size(p))
            .sum()
    }

    /// Seconds covered: up to the latest that had an ended attempt, at most [`MAX_SECONDS`].
    pub fn seconds(&self) -> usize {
        self.lock().highest.map_or(0, |h| (h + 1).min(MAX_SECONDS))
    }

    /// Attempts ended after [`MAX_SECONDS`] (kept together in the last slot).
    pub fn truncated(&self) -> bool {
        self.lock().highest.is_some_and(|h| h >= MAX_SECONDS)
    }

    /// Every second that had an ended attempt, in order, with its cells' histograms decoded and merged (one
    /// second in memory at a time). `Err` when a sealed piece does not decode (it was encoded here: a bug).
    pub fn each_second(&self, mut f: impl FnMut(Second<'_>)) -> anyhow::Result<()> {
        let spill = self.sealing.lock().unwrap_or_else(|p| p.into_inner());
        let inner = self.lock();
        let mut deserializer = Deserializer::new();
        let mut read = Vec::new();
        for (index, slot) in inner.slots.iter().enumerate() {
            if slot.counts.iter().all(|&n| n == 0) && slot.open.is_empty() && slot.sealed.is_empty()
            {
                continue;
            }
            let mut cells: Cells = Vec::new();
            let mut merge =
                |cell: u16, h: &Histogram<u64>| match cells.iter_mut().find(|(c, _)| *c == cell) {
                    Some((_, m)) => {
                        let _ = m.add(h);
                    }
                    None => {
                        let mut m = new_hist();
                        let _ = m.add(h);
                        cells.push((cell, m));
                    }
                };
            for (cell, piece) in &slot.sealed {
                let bytes = match piece {
                    Piece::Held(b) => b.as_slice(),
                    Piece::Spilled { offset, len } => {
                        let file = &spill
                            .as_ref()
                            .ok_or_else(|| {
                                anyhow::anyhow!("second {index}: the spill file is gone")
                            })?
                            .file;
                        read.resize(*len as usize, 0);
                        file.read_exact_at(&mut read, *offset).map_err(|e| {
                            anyhow::anyhow!(
                                "second {index}: cannot read the series spill file: {e}"
                            )
                        })?;
                        read.as_slice()
                    }
                };
                let h: Histogram<u64> = deserializer.deserialize(&mut &*bytes).map_err(|e| {
                    anyhow::anyhow!("second {index}: cannot decode a histogram: {e:?}")
                })?;
                merge(*cell, &h);
            }
            for (cell, h) in &slot.open {
                merge(*cell, h);
            }
            cells.sort_by_key(|(c, _)| *c);
            f(Second {
                index,
                counts: &slot.counts,
                cells: &cells,
            });
        }
        Ok(())
    }
}

/// `bytes` appended to the spill file when there is one and it takes them, else held.
fn spilled(spill: Option<&mut Spill>, bytes: Vec<u8>) -> Piece {
    let Some(spill) = spill else {
        return Piece::Held(bytes);
    };
    let Ok(len) = u32::try_from(bytes.len()) else {
        return Piece::Held(bytes);
    };
    match spill.append(&bytes) {
        Ok(offset) => Piece::Spilled { offset, len },
        Err(e) => {
            tracing::warn!("cannot spill a per-second histogram, kept in memory: {e}");
            Piece::Held(bytes)
        }
    }
}
