//! Reading a shard's `latency.hlog` back ([`crate::report::histograms::interval_log`] wrote it): per second since
//! the load's start, each report row's latency histogram, keyed by the recorder's cell. The per-second counts
//! are in `evidence.json`; the histograms are only here, so the log is not stored twice.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context as _, anyhow};
use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

use crate::metrics::recorder::{CELLS, cell_parts};
use crate::report::histograms::key;

/// One interval: (second since the load's start, cell, histogram).
pub type Interval = (usize, u16, Histogram<u64>);

/// Every interval of `dir/latency.hlog`; `Err` names the file and what does not parse.
pub fn read(dir: &Path) -> anyhow::Result<Vec<Interval>> {
    let path = dir.join("latency.hlog");
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let cells: HashMap<String, u16> = (0..CELLS)
        .map(|i| {
            let (t, c, o) = cell_parts(i);
            (key(t.as_str(), c.kind(), c.variant(), o.as_str()), i as u16)
        })
        .collect();
    let mut out = Vec::new();
    for entry in IntervalLogIterator::new(&bytes) {
        let entry = entry.map_err(|e| anyhow!("{}: not an interval log: {e:?}", path.display()))?;
        let LogEntry::Interval(i) = entry else {
            continue;
        };
        let tag = i.tag().map(|t| t.as_str().to_string()).unwrap_or_default();
        let cell = *cells
            .get(&tag)
            .ok_or_else(|| anyhow!("{}: the tag {tag:?} names no report row", path.display()))?;
        let h = crate::metrics::saved::decode(
            i.encoded_histogram(),
            &format!("{}: interval {tag}", path.display()),
        )?;
        out.push((i.start_timestamp().as_secs() as usize, cell, h));
    }
    Ok(out)
}
