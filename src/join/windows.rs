//! Storm windows for the join: each storm, as it fires, opens a window of wall-clock time (Unix ms, as the
//! ledger stamps its entries), and the join counts the run's invocations stamped inside it as that storm's
//! (the reconnects it caused, and whatever else the run did meanwhile). Shared between the fleet that fires the
//! storms and the witness that joins the ledger: an entry stamped after a storm fired is joined after the storm
//! opened its window, so no window is ever looked up before it exists.

use std::sync::{Arc, Mutex};

/// One storm's window, `[start, end)` in Unix ms; `None`: not fired (yet).
type Span = Option<(u64, u64)>;

/// The storms' windows, per storm index.
#[derive(Debug, Clone, Default)]
pub struct Windows(Arc<Mutex<Vec<Span>>>);

impl Windows {
    fn spans(&self) -> std::sync::MutexGuard<'_, Vec<Span>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Storm `k` fired at `start_ms`; its window lasts `len_ms`.
    pub fn open(&self, k: usize, start_ms: u64, len_ms: u64) {
        let mut spans = self.spans();
        if spans.len() <= k {
            spans.resize(k + 1, None);
        }
        spans[k] = Some((start_ms, start_ms.saturating_add(len_ms)));
    }

    /// The storm whose window holds `unix_ms` (the latest when windows overlap).
    pub fn find(&self, unix_ms: u64) -> Option<usize> {
        self.spans()
            .iter()
            .enumerate()
            .rev()
            .find_map(|(k, s)| s.filter(|(a, b)| (*a..*b).contains(&unix_ms)).map(|_| k))
    }

    /// Storm `k`'s window in Unix ms, once it fired.
    pub fn span(&self, k: usize) -> Option<(u64, u64)> {
        self.spans().get(k).copied().flatten()
    }
}

impl PartialEq for Windows {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || *self.spans() == *other.spans()
    }
}

impl Eq for Windows {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_fall_in_the_window_of_the_storm_they_follow() {
        let w = Windows::default();
        assert_eq!(w.find(5), None);
        w.open(1, 2_000, 1_000);
        w.open(0, 1_000, 500);
        assert_eq!(w.find(999), None);
        assert_eq!(w.find(1_000), Some(0));
        assert_eq!(w.find(1_600), None, "between windows");
        assert_eq!(w.find(2_999), Some(1));
        assert_eq!(w.find(3_000), None, "the end is open");
        assert_eq!(w.span(1), Some((2_000, 3_000)));
        assert_eq!(w.clone(), w);
    }
}
