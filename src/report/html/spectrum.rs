//! The percentile spectrum: latency against HdrHistogram's `1/(1−p)` axis, one chart per transport and one line
//! per (class, outcome), forged variants folded together. Each row's distribution is read back from the run
//! folder's `histograms/<row>.hgrm` (the full table the run wrote before report.json) and rebuilt as a histogram,
//! so rows merge exactly at the table's resolution; without that file the row's report.json percentiles
//! (p50/p90/p99/p99.9/max) stand in, and the chart says so.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;
use hdrhistogram::Histogram;

use super::model::{Percentiles, Row};
use super::page::{esc, para};
use super::svg::{Chart, Series, XAxis, line_chart};
use crate::report::hgrm;
use crate::report::histograms::key;

/// `.hgrm` values print in ms; histograms here hold µs as recorded.
const US_PER_MS: f64 = 1000.0;

/// The lines of one (transport, class, outcome): merged over variants.
struct Line {
    transport: String,
    class: String,
    outcome: String,
    hist: Histogram<u64>,
}

/// The section body: one chart per transport (in the report's row order), or a note when no row has latencies.
pub fn render(rows: &[Row], run_dir: &Path) -> anyhow::Result<String> {
    let mut lines: Vec<Line> = Vec::new();
    let mut approximate = 0usize;
    for row in rows {
        let Some(pct) = &row.latency_us else { continue };
        let name = key(
            &row.transport,
            &row.class,
            row.variant.as_deref(),
            &row.outcome,
        );
        let path = run_dir.join("histograms").join(format!("{name}.hgrm"));
        let hist = match std::fs::read_to_string(&path) {
            Ok(text) => from_hgrm(&text).with_context(|| format!("{}", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                approximate += 1;
                from_percentiles(pct)?
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        merge_into(&mut lines, row, hist)?;
    }
    if lines.is_empty() {
        return Ok(para("note", "No latencies recorded in this report."));
    }
    let mut s = String::new();
    if approximate > 0 {
        s.push_str(&para(
            "note",
            &format!(
                "{approximate} row(s) have no histograms/*.hgrm file: their lines join report.json's \
                 p50/p90/p99/p99.9/max points only."
            ),
        ));
    }
    let decades = decades(&lines);
    let mut transports: Vec<&str> = Vec::new();
    for l in &lines {
        if !transports.contains(&l.transport.as_str()) {
            transports.push(&l.transport);
        }
    }
    for t in transports {
        let series: Vec<Series> = lines
            .iter()
            .filter(|l| l.transport == t)
            .map(|l| Series {
                name: format!("{} {} (n={})", l.class, l.outcome, l.hist.len()),
                points: points(&l.hist),
            })
            .collect();
        let title = format!("{t}: latency by percentile");
        let _ = writeln!(s, "<h3>{}</h3>", esc(t));
        s.push_str(&line_chart(&Chart {
            title: &title,
            x: XAxis::Percentile { decades },
            y_label: "latency (ms)",
            series: &series,
        }));
    }
    Ok(s)
}

/// Adds `hist` to the line of its (transport, class, outcome), creating the line in first-seen order.
fn merge_into(lines: &mut Vec<Line>, row: &Row, hist: Histogram<u64>) -> anyhow::Result<()> {
    let same = |l: &&mut Line| {
        l.transport == row.transport && l.class == row.class && l.outcome == row.outcome
    };
    match lines.iter_mut().find(same) {
        Some(l) => l
            .hist
            .add(&hist)
            .map_err(|e| anyhow::anyhow!("cannot merge histograms: {e:?}"))?,
        None => lines.push(Line {
            transport: row.transport.clone(),
            class: row.class.clone(),
            outcome: row.outcome.clone(),
            hist,
        }),
    }
    Ok(())
}

/// Auto-resizing with 3 significant digits, as every recorded histogram is (`metrics::recorder`).
fn empty() -> anyhow::Result<Histogram<u64>> {
    Histogram::new(3).map_err(|e| anyhow::anyhow!("cannot create a histogram: {e:?}"))
}

/// A histogram with each `.hgrm` row's count increment at that row's value.
fn from_hgrm(text: &str) -> anyhow::Result<Histogram<u64>> {
    let mut h = empty()?;
    let mut before = 0u64;
    for tick in hgrm::parse(text).map_err(anyhow::Error::msg)? {
        let n = tick.total.saturating_sub(before);
        before = before.max(tick.total);
        if n > 0 {
            record(&mut h, (tick.value * US_PER_MS).round() as u64, n)?;
        }
    }
    Ok(h)
}

/// Records `n` values of `us`, growing the histogram as needed.
fn record(h: &mut Histogram<u64>, us: u64, n: u64) -> anyhow::Result<()> {
    h.record_n(us, n)
        .map_err(|e| anyhow::anyhow!("cannot record {us} µs: {e:?}"))
}

/// A histogram whose percentiles are the report's: half the count at p50, up to 90 % at p90, and so on.
fn from_percentiles(p: &Percentiles) -> anyhow::Result<Histogram<u64>> {
    let mut h = empty()?;
    let c = p.count;
    let at = |q: f64| ((c as f64) * q).ceil() as u64;
    let mut before = 0u64;
    let marks = [
        (p.min, c.min(1)),
        (p.p50, at(0.5)),
        (p.p90, at(0.9)),
        (p.p99, at(0.99)),
        (p.p999, at(0.999)),
        (p.max, c),
    ];
    for (value, upto) in marks {
        let n = upto.saturating_sub(before);
        if n > 0 {
            record(&mut h, value, n)?;
            before = upto;
        }
    }
    Ok(h)
}

/// The line's points: (log10(1/(1−p)), ms) for every percentile below 100 % at five ticks per half distance.
fn points(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    h.iter_quantiles(5)
        .map(|v| (v.quantile_iterated_to(), v.value_iterated_to()))
        .filter(|(q, _)| *q < 1.0)
        .map(|(q, v)| {
            (
                (1.0 / (1.0 - q)).log10(),
                h.highest_equivalent(v) as f64 / US_PER_MS,
            )
        })
        .collect()
}

/// Nines enough for the largest count (a line of n values reaches about 1 − 1/n), between 2 and 6.
fn decades(lines: &[Line]) -> u32 {
    let n = lines.iter().map(|l| l.hist.len()).max().unwrap_or(1).max(1);
    ((n as f64).log10().ceil() as u32).clamp(2, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(variant: Option<&str>, p: Percentiles) -> Row {
        Row {
            transport: "https".into(),
            class: "forged".into(),
            variant: variant.map(str::to_string),
            outcome: "forbidden".into(),
            count: p.count,
            latency_us: Some(p),
        }
    }

    fn pct(count: u64, base: u64) -> Percentiles {
        Percentiles {
            count,
            min: base,
            p50: base * 2,
            p90: base * 3,
            p99: base * 4,
            p999: base * 5,
            max: base * 6,
        }
    }

    /// Without .hgrm files the report's percentiles stand in: the rebuilt histogram has their count and
    /// quantiles, and variants of one (transport, class, outcome) fold into one line.
    #[test]
    fn percentiles_stand_in_and_variants_fold() {
        let h = from_percentiles(&pct(1000, 1000)).unwrap();
        assert_eq!(h.len(), 1000);
        assert_eq!(h.value_at_quantile(0.5), h.highest_equivalent(2000));
        assert_eq!(h.value_at_quantile(0.99), h.highest_equivalent(4000));
        assert_eq!(h.max(), h.highest_equivalent(6000));
        let dir = tempfile::tempdir().unwrap();
        let rows = [row(Some("a"), pct(10, 1000)), row(Some("b"), pct(30, 2000))];
        let html = render(&rows, dir.path()).unwrap();
        assert_eq!(html.matches("<polyline").count(), 1);
        assert!(html.contains("forged forbidden (n=40)"), "{html}");
        assert!(html.contains("2 row(s) have no histograms/*.hgrm file"));
    }

    /// A `.hgrm` file wins over the percentiles and rebuilds the distribution it was written from.
    #[test]
    fn hgrm_files_rebuild_the_distribution() {
        let mut rec = empty().unwrap();
        for v in 1..=500u64 {
            rec.record(v * 37).unwrap();
        }
        let text = hgrm::percentile_distribution(&rec, US_PER_MS);
        let back = from_hgrm(&text).unwrap();
        assert_eq!(back.len(), rec.len());
        for q in [0.5, 0.9, 0.99] {
            let (a, b) = (back.value_at_quantile(q), rec.value_at_quantile(q));
            assert!(a.abs_diff(b) <= b / 100, "q {q}: {a} vs {b}");
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("histograms")).unwrap();
        std::fs::write(
            dir.path().join("histograms/https.forged.a.forbidden.hgrm"),
            &text,
        )
        .unwrap();
        let html = render(&[row(Some("a"), pct(3, 1))], dir.path()).unwrap();
        assert!(html.contains("(n=500)") && !html.contains("have no histograms"));
        std::fs::write(
            dir.path().join("histograms/https.forged.a.forbidden.hgrm"),
            "x y\n",
        )
        .unwrap();
        let err = render(&[row(Some("a"), pct(3, 1))], dir.path()).unwrap_err();
        assert!(
            format!("{err:#}").contains("https.forged.a.forbidden.hgrm"),
            "{err:#}"
        );
    }
}
