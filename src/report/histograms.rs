//! The run folder's raw latency histograms (issue 13): `histograms/<row>.hgrm`, one percentile distribution per
//! report row that has a latency histogram, in milliseconds; and `latency.hlog`, an HdrHistogram interval log
//! (V2 deflate-compressed, base64) with one tagged interval per second per row (from the load's per-second
//! [`SeriesStore`]: `StartTime`/`BaseTime` the load's start, each interval `[s, s + 1)` seconds after it), in
//! the recorded microseconds, that HdrHistogram's own tools (`HistogramLogProcessor`, the Python `hdrh`
//! package) read and merge: a row's intervals add up to its whole-run histogram exactly. The row key is
//! `transport.class[.variant].outcome`, as the report's rows name them.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use super::hgrm::percentile_distribution;
use crate::contract::{Class, Transport};
use crate::metrics::recorder::cell_parts;
use crate::metrics::series::MAX_SECONDS;
use crate::metrics::{Outcome, Recorder, SeriesStore};

/// Recorded values are µs; `.hgrm` values and the log's interval maxima print in ms.
const US_PER_MS: f64 = 1000.0;

/// The rows' latency histograms with their keys, in the report's row order.
pub fn rows(rec: &Recorder) -> Vec<(String, &Histogram<u64>)> {
    let mut rows = Vec::new();
    for t in Transport::ALL {
        for c in Class::ALL {
            for o in Outcome::ALL {
                if let Some(h) = rec.latency(t, c, o) {
                    rows.push((key(t.as_str(), c.kind(), c.variant(), o.as_str()), h));
                }
            }
        }
    }
    rows
}

/// `transport.class[.variant].outcome`, each part reduced to `[A-Za-z0-9_-]` (anything else becomes `_`), so
/// the key is a safe file name and a valid interval-log tag (no `,`, space or newline).
pub fn key(transport: &str, class: &str, variant: Option<&str>, outcome: &str) -> String {
    [Some(transport), Some(class), variant, Some(outcome)]
        .into_iter()
        .flatten()
        .map(sanitize)
        .collect::<Vec<_>>()
        .join(".")
}

fn sanitize(part: &str) -> String {
    let s: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "_".into() } else { s }
}

/// Writes `histograms/*.hgrm` (from the whole-run recorder) and `latency.hlog` (from the load's `series`; the
/// load lasted `elapsed`) into `run_dir`.
pub fn write(
    rec: &Recorder,
    series: &SeriesStore,
    elapsed: Duration,
    run_dir: &Path,
) -> anyhow::Result<()> {
    let rows = rows(rec);
    let dir = run_dir.join("histograms");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for (key, h) in &rows {
        let path = dir.join(format!("{key}.hgrm"));
        std::fs::write(&path, percentile_distribution(h, US_PER_MS))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    let path = run_dir.join("latency.hlog");
    std::fs::write(&path, interval_log(series, elapsed)?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The interval log text: comments naming the units, StartTime/BaseTime at the load's start, then per second
/// (in order) one interval `[s, s + 1)` per row with latencies in it, tagged with the row key; past
/// [`MAX_SECONDS`], one interval from there to `elapsed`.
pub fn interval_log(series: &SeriesStore, elapsed: Duration) -> anyhow::Result<Vec<u8>> {
    let start: SystemTime = UNIX_EPOCH + Duration::from_millis(series.t0_unix_ms());
    let mut out = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment("tokenstorm latency per report row (tag transport.class[.variant].outcome)")
        .add_comment("values in microseconds; Interval_Max in milliseconds")
        .with_start_time(start)
        .with_base_time(start)
        .with_max_value_divisor(US_PER_MS)
        .begin_log_with(&mut out, &mut serializer)?;
    let mut failed = None;
    series.each_second(|s| {
        let at = Duration::from_secs(s.index as u64);
        let span = if s.index >= MAX_SECONDS {
            elapsed.saturating_sub(at).max(Duration::from_secs(1))
        } else {
            Duration::from_secs(1)
        };
        for (cell, h) in s.cells {
            let (t, c, o) = cell_parts(usize::from(*cell));
            let key = key(t.as_str(), c.kind(), c.variant(), o.as_str());
            let written = Tag::new(&key)
                .with_context(|| format!("row key {key:?} is no valid log tag"))
                .and_then(|tag| {
                    writer
                        .write_histogram(h, at, span, Some(tag))
                        .map_err(|e| anyhow::anyhow!("cannot encode the {key} histogram: {e}"))
                });
            if let Err(e) = written {
                failed.get_or_insert(e);
            }
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    #[test]
    fn keys_name_the_row_and_are_safe_file_names() {
        assert_eq!(
            key("https", "valid", None, "allowed"),
            "https.valid.allowed"
        );
        assert_eq!(
            key("mqtt_tls", "forged", Some("bit_flip"), "denied"),
            "mqtt_tls.forged.bit_flip.denied"
        );
        assert_eq!(key("a/b", "c d", Some(""), "e,f"), "a_b.c_d._.e_f");
    }

    /// One `.hgrm` per row with a histogram; the log has one interval per second per row, relative to the load's
    /// start, and they decode back to the recorded histograms.
    #[test]
    fn writes_one_file_per_row_and_a_log_per_second_that_decodes_back() {
        let t0 = tokio::time::Instant::now();
        let store = std::sync::Arc::new(SeriesStore::new(t0, 1_700_000_000_000));
        let mut rec = Recorder::with_series(store.clone());
        let forged = Class::Forged(Forgery::BitFlip);
        for (ms, c, o, us) in [
            (100, Class::Valid, Outcome::Allowed, 1500),
            (2_100, Class::Valid, Outcome::Allowed, 2500),
            (2_200, forged, Outcome::Forbidden, 700),
        ] {
            rec.start(Transport::Https, c);
            let at = t0 + Duration::from_millis(ms);
            rec.end_at(at, (Transport::Https, c, o), (us, us), true);
        }
        rec.flush_series();
        store.seal_before(1);
        let dir = tempfile::tempdir().unwrap();
        write(&rec, &store, Duration::from_secs(3), dir.path()).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path().join("histograms"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "https.forged.bit_flip.forbidden.hgrm",
                "https.valid.allowed.hgrm"
            ]
        );
        let log = std::fs::read(dir.path().join("latency.hlog")).unwrap();
        let text = String::from_utf8(log.clone()).unwrap();
        assert!(text.contains("#[StartTime: 1700000000.000"));
        assert!(text.contains("#[BaseTime: 1700000000.000"));
        let mut decoded = Vec::new();
        for entry in IntervalLogIterator::new(&log) {
            if let LogEntry::Interval(i) = entry.unwrap() {
                let bytes = base64_decode(i.encoded_histogram());
                let h: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut bytes.as_slice())
                    .unwrap();
                let tag = i.tag().unwrap().as_str().to_string();
                decoded.push((i.start_timestamp().as_secs(), tag, h.len(), h.max()));
                assert_eq!(i.duration(), Duration::from_secs(1));
            }
        }
        let valid = |us| {
            Histogram::<u64>::new_from(
                rec.latency(Transport::Https, Class::Valid, Outcome::Allowed)
                    .unwrap(),
            )
            .highest_equivalent(us)
        };
        assert_eq!(
            decoded,
            [
                (0, "https.valid.allowed".into(), 1, valid(1500)),
                (2, "https.valid.allowed".into(), 1, valid(2500)),
                (2, "https.forged.bit_flip.forbidden".into(), 1, valid(700)),
            ]
        );
    }

    /// Past the bound, one last interval per row runs from it to the end of the load, so nothing is left out.
    #[test]
    fn seconds_past_the_bound_are_one_last_interval() {
        let t0 = tokio::time::Instant::now();
        let store = std::sync::Arc::new(SeriesStore::new(t0, 1_700_000_000_000));
        let mut rec = Recorder::with_series(store.clone());
        let valid = (Transport::Https, Class::Valid, Outcome::Allowed);
        let bound = MAX_SECONDS as u64;
        for s in [0, bound + 2, bound + 5] {
            rec.end_at(t0 + Duration::from_secs(s), valid, (100, 100), true);
        }
        rec.flush_series();
        let log = interval_log(&store, Duration::from_secs(bound + 10)).unwrap();
        let spans: Vec<(u64, u64, u64)> = IntervalLogIterator::new(&log)
            .filter_map(|e| match e.unwrap() {
                LogEntry::Interval(i) => {
                    let bytes = base64_decode(i.encoded_histogram());
                    let h: Histogram<u64> = Deserializer::new()
                        .deserialize(&mut bytes.as_slice())
                        .unwrap();
                    Some((
                        i.start_timestamp().as_secs(),
                        i.duration().as_secs(),
                        h.len(),
                    ))
                }
                _ => None,
            })
            .collect();
        assert_eq!(spans, [(0, 1, 1), (bound, 10, 2)]);
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.decode(s).unwrap()
    }
}
