//! A per-task recorder: counters and HdrHistograms (µs) per (transport, class, outcome) in enum-indexed
//! arrays. Each load task owns one; they are merged at the end. No per-sample storage. A task's recorder may
//! also feed the run's per-second series ([`Recorder::with_series`], [`Recorder::end_at`]).

use std::sync::Arc;

use hdrhistogram::Histogram;
use tokio::time::Instant;

use super::series::{SeriesBuffer, SeriesStore};
use super::{ErrorTable, Failure, Outcome, Phase, PubEvent, SessionTally};
use crate::contract::Class;
use crate::contract::Transport;

/// Every (transport, class, outcome), as an index.
pub const CELLS: usize = Transport::COUNT * Class::COUNT * Outcome::COUNT;
pub(super) const STARTS: usize = Transport::COUNT * Class::COUNT;
pub(super) const PHASES: usize = STARTS * Phase::COUNT;
pub(super) const PUBS: usize = STARTS * PubEvent::COUNT;

/// The index of (transport, class, outcome) among [`CELLS`]: transport major, then class, then outcome (the
/// report's row order).
pub fn cell(t: Transport, c: Class, o: Outcome) -> usize {
    (t.index() * Class::COUNT + c.index()) * Outcome::COUNT + o.index()
}

/// The (transport, class, outcome) of a [`cell`] index below [`CELLS`].
pub fn cell_parts(i: usize) -> (Transport, Class, Outcome) {
    let o = Outcome::ALL[i % Outcome::COUNT];
    let c = Class::ALL[(i / Outcome::COUNT) % Class::COUNT];
    let t = Transport::ALL[i / (Outcome::COUNT * Class::COUNT)];
    (t, c, o)
}

fn start_cell(t: Transport, c: Class) -> usize {
    t.index() * Class::COUNT + c.index()
}

fn phase_cell(t: Transport, c: Class, p: Phase) -> usize {
    start_cell(t, c) * Phase::COUNT + p.index()
}

fn pub_cell(t: Transport, c: Class, e: PubEvent) -> usize {
    start_cell(t, c) * PubEvent::COUNT + e.index()
}

/// Histograms are created on first use and grow with the largest value (3 significant digits).
pub fn new_hist() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant digits is a valid histogram precision")
}

/// Records a value, growing the histogram as needed (at most one hour; longer values are clamped).
pub(super) fn record(h: &mut Histogram<u64>, us: u64) {
    let v = us.clamp(1, 3_600_000_000);
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

#[derive(Debug, Clone)]
pub struct Recorder {
    pub(super) started: [u64; STARTS],
    pub(super) ended: [u64; CELLS],
    /// From the intended start (open model) or the actual start (closed model) to the response.
    pub(super) latency: Vec<Option<Histogram<u64>>>,
    /// From the moment the request was actually sent to the response.
    pub(super) service: Vec<Option<Histogram<u64>>>,
    /// Connection phases and message latencies per (transport, class, phase).
    pub(super) phases: Vec<Option<Histogram<u64>>>,
    /// MQTT publish and delivery counts per (transport, class, event).
    pub(super) pubs: Vec<u64>,
    /// Attempts the schedule wanted that could not start before the deadline (the device was behind).
    pub missed: u64,
    /// Schedule lag: from the intended to the actual start (latency − service), every transport; what
    /// `generator_kept_up` judges the generator's pace by.
    pub(super) lag: Option<Histogram<u64>>,
    /// Per transport: HTTPS attempts skipped, MQTT CONNECTs held, by a backoff after a throttle.
    pub(super) backed_off: [u64; Transport::COUNT],
    /// Why attempts went unanswered (transport errors and timeouts), by kind.
    pub(super) errors: ErrorTable,
    /// How kept MQTT sessions ended (kicks, drops, storms) and what each storm did.
    pub sessions: SessionTally,
    /// This task's current second of the run's series; `None`: not part of one (merged recorders, tests).
    series: Option<SeriesBuffer>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            started: [0; STARTS],
            ended: [0; CELLS],
            latency: vec![None; CELLS],
            service: vec![None; CELLS],
            phases: vec![None; PHASES],
            pubs: vec![0; PUBS],
            missed: 0,
            lag: None,
            backed_off: [0; Transport::COUNT],
            errors: ErrorTable::default(),
            sessions: SessionTally::default(),
            series: None,
        }
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder whose [`Self::end_at`] also feeds `store`, the run's per-second series.
    pub fn with_series(store: Arc<SeriesStore>) -> Self {
        Self {
            series: Some(SeriesBuffer::new(store)),
            ..Self::default()
        }
    }

    /// An attempt ended at `at`: recorded as by [`Self::end`] (`us`: latency and service time, µs), and in the
    /// second it ended in when the recorder feeds a series.
    pub fn end_at(
        &mut self,
        at: Instant,
        (t, c, o): (Transport, Class, Outcome),
        us: (u64, u64),
        histograms: bool,
    ) {
        self.end(t, c, o, us.0, us.1, histograms);
        if let Some(s) = &mut self.series {
            s.end(at, t, c, o, histograms.then_some(us.0));
        }
    }

    /// Folds what this recorder holds of its current second into the series (before it is merged away).
    pub fn flush_series(&mut self) {
        if let Some(s) = &mut self.series {
            s.flush();
        }
    }

    /// An attempt was started (before its outcome is known).
    pub fn start(&mut self, t: Transport, c: Class) {
        self.started[start_cell(t, c)] += 1;
    }

    /// An attempt ended. `histograms: false` (warm-up) counts it without recording its latencies.
    pub fn end(
        &mut self,
        t: Transport,
        c: Class,
        o: Outcome,
        latency_us: u64,
        service_us: u64,
        histograms: bool,
    ) {
        let i = cell(t, c, o);
        self.ended[i] += 1;
        if histograms {
            record(self.latency[i].get_or_insert_with(new_hist), latency_us);
            record(self.service[i].get_or_insert_with(new_hist), service_us);
            let lag = latency_us.saturating_sub(service_us);
            record(self.lag.get_or_insert_with(new_hist), lag);
        }
    }

    /// Why an attempt ended `transport_error` or `timeout` (recorded beside [`Self::end`]).
    pub fn error(&mut self, t: Transport, f: Failure) {
        self.errors.record(t, f);
    }

    /// The unanswered attempts by kind, with the first message of each.
    pub fn errors(&self) -> &ErrorTable {
        &self.errors
    }

    /// A timed phase of a connection or message (recorded whatever the attempt's outcome).
    pub fn phase(&mut self, t: Transport, c: Class, p: Phase, us: u64) {
        record(
            self.phases[phase_cell(t, c, p)].get_or_insert_with(new_hist),
            us,
        );
    }

    /// Counts an MQTT publish event.
    pub fn publish(&mut self, t: Transport, c: Class, e: PubEvent) {
        self.pubs[pub_cell(t, c, e)] += 1;
    }

    pub fn phase_hist(&self, t: Transport, c: Class, p: Phase) -> Option<&Histogram<u64>> {
        self.phases[phase_cell(t, c, p)].as_ref()
    }

    pub fn pub_count(&self, t: Transport, c: Class, e: PubEvent) -> u64 {
        self.pubs[pub_cell(t, c, e)]
    }

    /// Attempts started over one transport (all classes).
    pub fn transport_started(&self, t: Transport) -> u64 {
        Class::ALL.into_iter().map(|c| self.started(t, c)).sum()
    }

    /// Folds another recorder into this one (lossless).
    pub fn merge(&mut self, other: &Recorder) {
        for (a, b) in self.started.iter_mut().zip(other.started) {
            *a += b;
        }
        for (a, b) in self.ended.iter_mut().zip(other.ended) {
            *a += b;
        }
        for (a, b) in self.pubs.iter_mut().zip(&other.pubs) {
            *a += b;
        }
        for (mine, theirs) in [
            (&mut self.latency, &other.latency),
            (&mut self.service, &other.service),
            (&mut self.phases, &other.phases),
        ] {
            for (a, b) in mine.iter_mut().zip(theirs) {
                if let Some(b) = b {
                    match a {
                        Some(a) => {
                            let _ = a.add(b);
                        }
                        None => *a = Some(b.clone()),
                    }
                }
            }
        }
        self.missed += other.missed;
        if let Some(b) = &other.lag {
            match &mut self.lag {
                Some(a) => {
                    let _ = a.add(b);
                }
                None => self.lag = Some(b.clone()),
            }
        }
        for (a, b) in self.backed_off.iter_mut().zip(other.backed_off) {
            *a += b;
        }
        self.errors.merge(&other.errors);
        self.sessions.merge(&other.sessions);
    }

    /// A backoff after a throttle skipped an HTTPS attempt or held an MQTT CONNECT.
    pub fn back_off(&mut self, t: Transport) {
        self.backed_off[t.index()] += 1;
    }

    pub fn backed_off(&self, t: Transport) -> u64 {
        self.backed_off[t.index()]
    }

    pub fn started(&self, t: Transport, c: Class) -> u64 {
        self.started[start_cell(t, c)]
    }

    pub fn ended(&self, t: Transport, c: Class, o: Outcome) -> u64 {
        self.ended[cell(t, c, o)]
    }

    /// Attempts of this class that ended, over all outcomes.
    pub fn ended_total(&self, t: Transport, c: Class) -> u64 {
        Outcome::ALL.into_iter().map(|o| self.ended(t, c, o)).sum()
    }

    /// Attempts of this class that ended refused (403, a refusing CONNACK, closed without CONNACK).
    pub fn ended_refused(&self, t: Transport, c: Class) -> u64 {
        Outcome::ALL
            .into_iter()
            .filter(|o| o.is_refusal())
            .map(|o| self.ended(t, c, o))
            .sum()
    }

    pub fn total_started(&self) -> u64 {
        self.started.iter().sum()
    }

    pub fn total_ended(&self) -> u64 {
        self.ended.iter().sum()
    }

    pub fn latency(&self, t: Transport, c: Class, o: Outcome) -> Option<&Histogram<u64>> {
        self.latency[cell(t, c, o)].as_ref()
    }

    pub fn service(&self, t: Transport, c: Class, o: Outcome) -> Option<&Histogram<u64>> {
        self.service[cell(t, c, o)].as_ref()
    }

    /// The schedule lag of every attempt after the warm-up (µs; a zero lag is recorded as 1 µs).
    pub fn lag(&self) -> Option<&Histogram<u64>> {
        self.lag.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;

    #[test]
    fn records_and_merges_losslessly() {
        let t = Transport::Https;
        let f = Class::Forged(Forgery::BitFlip);
        let mut a = Recorder::new();
        let mut b = Recorder::new();
        for i in 1..=100 {
            a.start(t, Class::Valid);
            a.end(t, Class::Valid, Outcome::Allowed, i * 10, i, true);
        }
        b.start(t, f);
        b.end(t, f, Outcome::Forbidden, 5_000, 4_000, true);
        b.start(t, Class::Valid);
        b.end(t, Class::Valid, Outcome::Timeout, 7, 7, false);
        b.missed = 3;
        b.error(t, Failure::timeout(std::time::Duration::from_secs(5)));
        a.merge(&b);
        assert_eq!(a.errors().kind_total(crate::metrics::ErrorKind::Timeout), 1);
        assert_eq!(a.started(t, Class::Valid), 101);
        assert_eq!(a.ended_total(t, Class::Valid), 101);
        assert_eq!(a.ended(t, Class::Valid, Outcome::Timeout), 1);
        assert!(
            a.latency(t, Class::Valid, Outcome::Timeout).is_none(),
            "warm-up attempts skip histograms"
        );
        assert_eq!(a.total_started(), 102);
        assert_eq!(a.total_ended(), 102);
        assert_eq!(a.missed, 3);
        let h = a.latency(t, Class::Valid, Outcome::Allowed).unwrap();
        assert_eq!(h.len(), 100);
        assert_eq!(h.max(), 1000);
        assert_eq!(h.value_at_quantile(0.5), 500);
        // Lag = latency − service: 9 µs per step for the valid ones, 1 000 µs for the forged one.
        let lag = a.lag().unwrap();
        assert_eq!(lag.len(), 101);
        assert!(lag.equivalent(lag.max(), 1_000), "{}", lag.max());
        let m = Transport::MqttTls;
        let mut b2 = Recorder::new();
        b2.phase(m, f, Phase::ConnectConnack, 900);
        b2.publish(m, Class::Valid, PubEvent::Sent);
        let mut c = Recorder::new();
        c.phase(m, f, Phase::ConnectConnack, 100);
        c.publish(m, Class::Valid, PubEvent::Sent);
        a.merge(&b2);
        a.merge(&c);
        assert_eq!(a.phase_hist(m, f, Phase::ConnectConnack).unwrap().len(), 2);
        assert!(a.phase_hist(t, f, Phase::ConnectConnack).is_none());
        assert_eq!(a.pub_count(m, Class::Valid, PubEvent::Sent), 2);
        let hf = a.latency(t, f, Outcome::Forbidden).unwrap();
        assert!(hf.equivalent(hf.max(), 5_000), "{}", hf.max());
    }
}
