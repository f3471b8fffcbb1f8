//! A [`Recorder`] in a form that survives a file (the run folder's `evidence.json`, read back by `tokenstorm
//! merge`): every counter as it is, every histogram as HdrHistogram V2 + DEFLATE in base64 (what
//! `latency.hlog` holds too), so reading it back gives the same recorder, bit for bit. Every histogram was made
//! by [`super::recorder::new_hist`] (3 significant digits, auto-resizing), so shards' histograms add exactly.
//! The first error of each kind keeps its wall-clock time (an `Instant` means nothing in another process).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, anyhow, bail};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

use super::recorder::{CELLS, PHASES, PUBS, STARTS};
use super::{ErrorKind, ErrorTable, FirstError, Recorder, SessionTally, StormTally};
use crate::contract::{Class, Transport};

/// A recorder, saved.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedRecorder {
    pub started: Vec<u64>,
    pub ended: Vec<u64>,
    /// (cell, histogram) for the cells that have one ([`super::recorder::cell`] order).
    pub latency: Vec<(usize, String)>,
    pub service: Vec<(usize, String)>,
    pub phases: Vec<(usize, String)>,
    pub pubs: Vec<u64>,
    pub missed: u64,
    pub lag: Option<String>,
    pub backed_off: Vec<u64>,
    /// Failures per (transport, kind), transport major.
    pub error_counts: Vec<u64>,
    /// Per error kind, the first failure.
    pub first_errors: Vec<Option<SavedFirstError>>,
    /// Session ends per (transport, class), each [closed, dropped, kicked, storm].
    pub session_ends: Vec<Vec<u64>>,
    pub after_kick: Vec<u64>,
    pub storms: Vec<SavedStorm>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedFirstError {
    pub at_unix_ms: u64,
    pub transport: usize,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedStorm {
    pub fired: bool,
    pub target_dropped: Option<u64>,
    pub dropped: u64,
    pub attempts: u64,
    pub reconnected: u64,
    pub in_window: u64,
    pub delay_us: Option<String>,
}

/// A histogram as base64 of its V2 + DEFLATE encoding.
pub fn encode(h: &Histogram<u64>) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut bytes)
        .map_err(|e| anyhow!("cannot encode a histogram: {e:?}"))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The histogram [`encode`] wrote; `what` names it in the error.
pub fn decode(text: &str, what: &str) -> anyhow::Result<Histogram<u64>> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .with_context(|| format!("{what}: not base64"))?;
    let h: Histogram<u64> = Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| anyhow!("{what}: not an HdrHistogram V2 encoding: {e:?}"))?;
    growable(&h)
}

/// A decoded histogram as [`new_hist`] makes them: the decoder's does not grow, so adding a larger one into
/// it would fail (and a merge would lose it). Same precision: the copy is exact.
pub fn growable(h: &Histogram<u64>) -> anyhow::Result<Histogram<u64>> {
    let mut g = super::recorder::new_hist();
    g.add(h)
        .map_err(|e| anyhow!("a histogram of another precision: {e:?}"))?;
    Ok(g)
}

fn encode_cells(cells: &[Option<Histogram<u64>>]) -> anyhow::Result<Vec<(usize, String)>> {
    let mut out = Vec::new();
    for (i, h) in cells.iter().enumerate() {
        if let Some(h) = h {
            out.push((i, encode(h)?));
        }
    }
    Ok(out)
}

fn decode_cells(
    saved: &[(usize, String)],
    len: usize,
    what: &str,
) -> anyhow::Result<Vec<Option<Histogram<u64>>>> {
    let mut cells = vec![None; len];
    for (i, text) in saved {
        let slot = cells
            .get_mut(*i)
            .ok_or_else(|| anyhow!("{what}: cell {i} is out of range (0..{len})"))?;
        *slot = Some(decode(text, &format!("{what}[{i}]"))?);
    }
    Ok(cells)
}

/// `v` as an array of exactly `N`, or an error naming the field.
fn exact<const N: usize>(v: &[u64], what: &str) -> anyhow::Result<[u64; N]> {
    v.try_into()
        .map_err(|_| anyhow!("{what}: {} numbers where {N} belong", v.len()))
}

fn unix_ms_of(at: Instant) -> u64 {
    let ago = Instant::now().saturating_duration_since(at);
    SystemTime::now()
        .checked_sub(ago)
        .unwrap_or(UNIX_EPOCH)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

fn instant_of(unix_ms: u64) -> Instant {
    let now_ms = unix_ms_of(Instant::now());
    let ago = Duration::from_millis(now_ms.saturating_sub(unix_ms));
    Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
}

impl SavedRecorder {
    /// `rec`, saved.
    pub fn of(rec: &Recorder) -> anyhow::Result<Self> {
        let e = &rec.errors;
        let s = &rec.sessions;
        Ok(Self {
            started: rec.started.to_vec(),
            ended: rec.ended.to_vec(),
            latency: encode_cells(&rec.latency)?,
            service: encode_cells(&rec.service)?,
            phases: encode_cells(&rec.phases)?,
            pubs: rec.pubs.clone(),
            missed: rec.missed,
            lag: rec.lag.as_ref().map(encode).transpose()?,
            backed_off: rec.backed_off.to_vec(),
            error_counts: e.counts.to_vec(),
            first_errors: e
                .first
                .iter()
                .map(|f| {
                    f.as_ref().map(|f| SavedFirstError {
                        at_unix_ms: unix_ms_of(f.at),
                        transport: f.transport.index(),
                        message: f.message.clone(),
                    })
                })
                .collect(),
            session_ends: s.ends.iter().map(|e| e.to_vec()).collect(),
            after_kick: s.after_kick.to_vec(),
            storms: s
                .storms
                .iter()
                .map(SavedStorm::of)
                .collect::<Result<_, _>>()?,
        })
    }

    /// The recorder saved; `Err` names the field that does not fit this build's shape.
    pub fn restore(&self) -> anyhow::Result<Recorder> {
        let mut rec = Recorder::new();
        rec.started = exact::<STARTS>(&self.started, "recorder.started")?;
        rec.ended = exact::<CELLS>(&self.ended, "recorder.ended")?;
        rec.latency = decode_cells(&self.latency, CELLS, "recorder.latency")?;
        rec.service = decode_cells(&self.service, CELLS, "recorder.service")?;
        rec.phases = decode_cells(&self.phases, PHASES, "recorder.phases")?;
        if self.pubs.len() != PUBS {
            bail!(
                "recorder.pubs: {} numbers where {PUBS} belong",
                self.pubs.len()
            );
        }
        rec.pubs = self.pubs.clone();
        rec.missed = self.missed;
        rec.lag = self
            .lag
            .as_deref()
            .map(|t| decode(t, "recorder.lag"))
            .transpose()?;
        rec.backed_off = exact::<{ Transport::COUNT }>(&self.backed_off, "recorder.backed_off")?;
        rec.errors = self.errors()?;
        rec.sessions = self.sessions()?;
        Ok(rec)
    }

    fn errors(&self) -> anyhow::Result<ErrorTable> {
        let mut t = ErrorTable {
            counts: exact(&self.error_counts, "recorder.error_counts")?,
            ..ErrorTable::default()
        };
        if self.first_errors.len() != ErrorKind::COUNT {
            bail!(
                "recorder.first_errors: {} entries where {} belong",
                self.first_errors.len(),
                ErrorKind::COUNT
            );
        }
        for (slot, saved) in t.first.iter_mut().zip(&self.first_errors) {
            if let Some(f) = saved {
                let transport = *Transport::ALL.get(f.transport).ok_or_else(|| {
                    anyhow!(
                        "recorder.first_errors: transport {} is unknown",
                        f.transport
                    )
                })?;
                *slot = Some(FirstError {
                    at: instant_of(f.at_unix_ms),
                    transport,
                    message: f.message.clone(),
                });
            }
        }
        Ok(t)
    }

    fn sessions(&self) -> anyhow::Result<SessionTally> {
        let mut s = SessionTally::default();
        let cells = Transport::COUNT * Class::COUNT;
        if self.session_ends.len() != cells {
            bail!(
                "recorder.session_ends: {} rows where {cells} belong",
                self.session_ends.len()
            );
        }
        for (slot, row) in s.ends.iter_mut().zip(&self.session_ends) {
            *slot = exact(row, "recorder.session_ends")?;
        }
        s.after_kick = exact(&self.after_kick, "recorder.after_kick")?;
        s.storms = self
            .storms
            .iter()
            .enumerate()
            .map(|(k, st)| st.restore(k))
            .collect::<Result<_, _>>()?;
        Ok(s)
    }
}

impl SavedStorm {
    fn of(t: &StormTally) -> anyhow::Result<Self> {
        Ok(Self {
            fired: t.fired,
            target_dropped: t.target_dropped,
            dropped: t.dropped,
            attempts: t.attempts,
            reconnected: t.reconnected,
            in_window: t.in_window,
            delay_us: t.delay_us.as_ref().map(encode).transpose()?,
        })
    }

    fn restore(&self, k: usize) -> anyhow::Result<StormTally> {
        Ok(StormTally {
            fired: self.fired,
            target_dropped: self.target_dropped,
            dropped: self.dropped,
            attempts: self.attempts,
            reconnected: self.reconnected,
            in_window: self.in_window,
            delay_us: self
                .delay_us
                .as_deref()
                .map(|t| decode(t, &format!("recorder.storms[{k}].delay_us")))
                .transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;
    use crate::metrics::{Failure, Outcome, Phase, PubEvent, SessionEnd};

    /// Saved through JSON and read back, a recorder renders the same: every counter and histogram equal.
    #[test]
    fn a_recorder_survives_json_exactly() {
        let t = Transport::MqttTls;
        let f = Class::Forged(Forgery::BitFlip);
        let mut r = Recorder::new();
        for i in 1..=50u64 {
            r.start(t, Class::Valid);
            r.end(t, Class::Valid, Outcome::Allowed, i * 37, i * 11, true);
            r.phase(t, f, Phase::ConnectConnack, i * 3);
        }
        r.start(t, f);
        r.end(t, f, Outcome::Refused, 900, 800, true);
        r.publish(t, Class::Valid, PubEvent::Sent);
        r.missed = 4;
        r.back_off(t);
        r.error(t, Failure::timeout(Duration::from_secs(5)));
        r.sessions.ended(t, Class::Valid, SessionEnd::Kicked);
        r.sessions.storm_reconnected(1, 1234, true);
        let json = serde_json::to_string(&SavedRecorder::of(&r).unwrap()).unwrap();
        let back: SavedRecorder = serde_json::from_str(&json).unwrap();
        let b = back.restore().unwrap();
        assert_eq!(b.started, r.started);
        assert_eq!(b.ended, r.ended);
        assert_eq!(b.latency, r.latency);
        assert_eq!(b.service, r.service);
        assert_eq!(b.phases, r.phases);
        assert_eq!(b.lag, r.lag);
        assert_eq!((b.pubs, b.missed, b.backed_off), (r.pubs, 4, r.backed_off));
        assert_eq!(b.errors.counts, r.errors.counts);
        assert_eq!(
            b.errors.first(ErrorKind::Timeout).map(|f| &f.message),
            r.errors.first(ErrorKind::Timeout).map(|f| &f.message)
        );
        assert_eq!(b.sessions.ends, r.sessions.ends);
        assert_eq!(b.sessions.storms.len(), 2);
        assert_eq!(b.sessions.storms[1].delay_us, r.sessions.storms[1].delay_us);
    }

    /// A restored recorder still grows: a shard's larger latencies merge into it without loss (the decoder's
    /// own histograms do not grow, and `Histogram::add` into one would fail).
    #[test]
    fn a_restored_recorder_takes_larger_values_in_a_merge() {
        let t = Transport::Https;
        let mut small = Recorder::new();
        small.end(t, Class::Valid, Outcome::Allowed, 100, 100, true);
        let mut big = Recorder::new();
        big.end(
            t,
            Class::Valid,
            Outcome::Allowed,
            90_000_000,
            90_000_000,
            true,
        );
        let mut merged = SavedRecorder::of(&small).unwrap().restore().unwrap();
        merged.merge(&SavedRecorder::of(&big).unwrap().restore().unwrap());
        let h = merged.latency(t, Class::Valid, Outcome::Allowed).unwrap();
        assert_eq!(h.len(), 2);
        assert!(h.equivalent(h.max(), 90_000_000));
    }

    #[test]
    fn a_field_of_the_wrong_shape_is_named() {
        let mut s = SavedRecorder::of(&Recorder::new()).unwrap();
        s.ended.pop();
        let e = s.restore().unwrap_err().to_string();
        assert!(e.contains("recorder.ended"), "{e}");
        let mut s = SavedRecorder::of(&Recorder::new()).unwrap();
        s.lag = Some("!!".into());
        let e = s.restore().unwrap_err().to_string();
        assert!(e.contains("recorder.lag"), "{e}");
    }
}
