//! A lane: one task driving a fixed set of devices, with its own [`Recorder`] (no state shared with other
//! lanes on the request path). Each attempt runs as its own task; the lane owns every device's planner cursor
//! (its RNG) and connection between attempts, sends what the [`Planner`] decides, and records outcomes as
//! attempts finish.
//!
//! Latency is measured from the attempt's intended start (open model: the pacer's schedule, so a device that
//! falls behind accrues the delay — coordinated-omission safe; closed model: when its slot became free).
//! Service time is measured from when the request actually started.
//!
//! With a backoff after throttling ([`super::backoff`], `[safety] backoff`), a device whose attempt was throttled
//! does not send the open-model attempts intended inside its backoff window: each is counted as `backed_off`
//! (never started) and the schedule moves on. (The closed model has no schedule to skip and does not back off.)

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng as _;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::backoff::{Backoff, BackoffSpec};
use super::connect::{Connector, Sender};
use super::exchange::Exchanged;
use super::pacer::{ClosedSlot, OpenSchedule};
use super::progress::Progress;
use super::request::{Placement, RequestBook};
use crate::attempt::planner::{Credentials, Cursor};
use crate::attempt::{Planner, Ticket};
use crate::contract::{Class, Transport};
use crate::metrics::{Failure, Outcome, Recorder, SeriesStore};
use crate::scenario::file::CredentialsIn;
use crate::shutdown::Shutdown;

/// What every lane shares (read-only).
pub struct Shared {
    /// HTTPS devices: ids `0..devices`.
    pub devices: u32,
    pub t0: Instant,
    pub deadline: Instant,
    pub warmup_end: Instant,
    pub request_timeout: Duration,
    /// Decides every attempt (shared with the MQTT fleet).
    pub planner: Arc<Planner>,
    pub credentials_in: CredentialsIn,
    pub book: RequestBook,
    pub connector: Connector,
    /// Fires when the drain after a stop runs out: attempts still in flight end as `timeout` (abandoned).
    pub abandon: Shutdown,
    /// How long that drain was (the abandoned attempts' message says it).
    pub drain: Duration,
    /// The backoff after a throttle and the run's seed (each device's draws); `None`: off.
    pub backoff: Option<(BackoffSpec, u64)>,
    /// The run's per-second series, which each lane's recorder feeds.
    pub series: Arc<SeriesStore>,
}

/// The lane's share of the work.
pub enum Work {
    Open {
        schedule: OpenSchedule,
        devices: Vec<u32>,
    },
    Closed {
        slots: Vec<ClosedSlot>,
    },
}

struct Device {
    /// Its id, RNG and attempts planned so far.
    cursor: Cursor,
    conn: Option<Sender>,
    /// Closed model: its slot.
    slot: usize,
    /// (class, intended start, sent, the pool token a valid attempt sent).
    in_flight: Option<(Class, Instant, Instant, Option<Ticket>)>,
    /// Open-model attempts skipped by a backoff (the schedule's index is started + skipped).
    skipped: u64,
    backoff: Option<Backoff>,
    /// Its own TLS configuration (its own session to resume) under `[tls] resumption`.
    tls: Option<super::connect::TlsConfig>,
}

impl Device {
    fn id(&self) -> u32 {
        self.cursor.id()
    }

    /// Attempts started so far.
    fn started(&self) -> u64 {
        self.cursor.planned()
    }

    /// The open-model schedule's index of the device's next attempt.
    fn next_k(&self) -> u64 {
        self.started() + self.skipped
    }
}

struct Slot {
    devices: Vec<usize>,
    cursor: usize,
    budget: Option<u64>,
}

struct Lane {
    shared: Arc<Shared>,
    devices: Vec<Device>,
    tasks: JoinSet<(usize, Exchanged, Instant)>,
    rec: Recorder,
    id_buf: String,
    /// This lane's tally of attempts, for the live status, `/metrics` and the abort guards (its own: nothing
    /// shared per attempt).
    ended: Arc<super::progress::Tally>,
}

/// Runs the lane until its work is done, the deadline passes or `shutdown` fires; in-flight attempts drain.
/// The recorder comes back boxed: a task's output is its poll's return type, copied on every poll of the lane
/// (once per attempt it joins), and a recorder by value is tens of kilobytes.
pub async fn run(
    shared: Arc<Shared>,
    work: Work,
    shutdown: Shutdown,
    progress: Arc<Progress>,
) -> Box<Recorder> {
    let mut lane = Lane {
        shared: shared.clone(),
        devices: Vec::new(),
        tasks: JoinSet::new(),
        rec: Recorder::with_series(shared.series.clone()),
        id_buf: String::with_capacity(64),
        ended: progress.lane_counter(),
    };
    match work {
        Work::Open { schedule, devices } => lane.run_open(schedule, devices, shutdown).await,
        Work::Closed { slots } => lane.run_closed(slots, shutdown).await,
    }
    lane.rec.flush_series();
    Box::new(lane.rec)
}

impl Lane {
    fn add_device(&mut self, id: u32, slot: usize) -> usize {
        let cursor = self.shared.planner.cursor(id, Transport::Https);
        let backoff = self
            .shared
            .backoff
            .map(|(spec, seed)| Backoff::new(spec, seed, id));
        self.devices.push(Device {
            cursor,
            conn: None,
            slot,
            in_flight: None,
            skipped: 0,
            backoff,
            tls: self.shared.connector.device_tls(),
        });
        self.devices.len() - 1
    }

    async fn run_open(&mut self, schedule: OpenSchedule, ids: Vec<u32>, shutdown: Shutdown) {
        let t0 = self.shared.t0;
        let mut heap = BinaryHeap::new();
        for id in ids {
            let li = self.add_device(id, 0);
            if let Some(off) = schedule.intended(id, 0) {
                heap.push(Reverse((t0 + off, li)));
            }
        }
        let mut stopping = false;
        loop {
            if heap.is_empty() && self.tasks.is_empty() {
                break;
            }
            let next = heap.peek().map(|r: &Reverse<(Instant, usize)>| r.0.0);
            tokio::select! {
                biased;
                _ = shutdown.wait(), if !stopping => {
                    stopping = true;
                    heap.clear();
                }
                Some(joined) = self.tasks.join_next() => {
                    if let Some(li) = self.complete(joined)
                        && !stopping
                        && let Some(off) = schedule.intended(self.devices[li].id(), self.devices[li].next_k())
                    {
                        heap.push(Reverse((t0 + off, li)));
                    }
                }
                _ = tokio::time::sleep_until(next.unwrap_or(t0)), if next.is_some() => {
                    let Some(Reverse((intended, li))) = heap.pop() else { continue };
                    let d = &mut self.devices[li];
                    if Instant::now() >= self.shared.deadline {
                        self.rec.missed += schedule.attempts_of(d.id()).saturating_sub(d.next_k());
                    } else if d.backoff.as_ref().is_some_and(|b| b.holds(intended)) {
                        // Inside the device's backoff window: not sent, counted; on to its next intended start.
                        d.skipped += 1;
                        self.rec.back_off(Transport::Https);
                        if let Some(off) = schedule.intended(d.id(), d.next_k()) {
                            heap.push(Reverse((t0 + off, li)));
                        }
                    } else {
                        self.launch(li, intended);
                    }
                }
            }
        }
    }

    async fn run_closed(&mut self, slots: Vec<ClosedSlot>, shutdown: Shutdown) {
        let mut states = Vec::with_capacity(slots.len());
        for (j, s) in slots.into_iter().enumerate() {
            let devices = s.devices.iter().map(|&id| self.add_device(id, j)).collect();
            states.push(Slot {
                devices,
                cursor: 0,
                budget: s.budget,
            });
        }
        let mut stopping = false;
        for slot in &mut states {
            self.next_in_slot(slot);
        }
        loop {
            if self.tasks.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                _ = shutdown.wait(), if !stopping => stopping = true,
                Some(joined) = self.tasks.join_next() => {
                    if let Some(li) = self.complete(joined)
                        && !stopping
                    {
                        let j = self.devices[li].slot;
                        self.next_in_slot(&mut states[j]);
                    }
                }
            }
        }
    }

    fn next_in_slot(&mut self, slot: &mut Slot) {
        if slot.devices.is_empty() || slot.budget == Some(0) {
            return;
        }
        let now = Instant::now();
        if now >= self.shared.deadline {
            return;
        }
        let li = slot.devices[slot.cursor];
        slot.cursor = (slot.cursor + 1) % slot.devices.len();
        if let Some(b) = &mut slot.budget {
            *b -= 1;
        }
        self.launch(li, now);
    }

    /// Starts the device's next attempt, as the planner decides it; the placement is the lane's own draw.
    fn launch(&mut self, li: usize, intended: Instant) {
        let sh = &self.shared;
        let d = &mut self.devices[li];
        let a = sh.planner.next(&mut d.cursor);
        let placement = match sh.credentials_in {
            CredentialsIn::Headers => Placement::Headers,
            CredentialsIn::Query => Placement::Query,
            CredentialsIn::Mixed => {
                if d.cursor.rng().random_bool(0.5) {
                    Placement::Query
                } else {
                    Placement::Headers
                }
            }
        };
        sh.planner.id_into(&a, &mut self.id_buf);
        let req = match a.credentials {
            Credentials::Catalogue { set, replay_set } => {
                Some(
                    sh.book
                        .wire(set, a.class, replay_set, placement, &self.id_buf),
                )
            }
            Credentials::Pooled(c) => match sh.book.wire_with(c, placement, &self.id_buf) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::error!("device {}: {e}", a.device);
                    None
                }
            },
            // Nothing to send (pool used up, or nothing answered yet to replay).
            Credentials::Exhausted => None,
        };
        self.rec.start(Transport::Https, a.class);
        self.ended.start(Transport::Https);
        let conn = d.conn.take();
        let own_tls = d.tls.clone();
        let sent = Instant::now();
        d.in_flight = Some((a.class, intended, sent, a.ticket));
        let shared = self.shared.clone();
        // Boxed: the task then holds a pointer, and tokio moves only that into the task and out of it at its end,
        // not the attempt's whole state (its timer, the exchange, the drain's wait) three times per attempt.
        self.tasks.spawn(Box::pin(async move {
            let Some(req) = req else {
                // Nothing to send. A short pause keeps a closed-model slot whose devices are all used up
                // from spinning until the deadline.
                tokio::time::sleep(Duration::from_millis(1)).await;
                return (li, (conn, Outcome::Exhausted, None), Instant::now());
            };
            let exchange = super::exchange::exchange(
                &shared.connector,
                own_tls,
                conn,
                req,
                shared.request_timeout,
            );
            let done = tokio::select! {
                done = exchange => done,
                _ = shared.abandon.wait() => {
                    (None, Outcome::Timeout, Some(Failure::abandoned(shared.drain)))
                }
            };
            (li, done, Instant::now())
        }));
    }

    /// Records a finished attempt; returns its device's lane index.
    fn complete(
        &mut self,
        joined: Result<(usize, Exchanged, Instant), tokio::task::JoinError>,
    ) -> Option<usize> {
        let (li, (conn, outcome, failure), end) = match joined {
            Ok(r) => r,
            Err(e) => {
                // Left unrecorded on purpose: the counts-conserve verdict reports the missing outcome.
                tracing::error!("an attempt task failed: {e}");
                return None;
            }
        };
        let d = &mut self.devices[li];
        d.conn = conn;
        let (class, intended, sent, ticket) = d.in_flight.take()?;
        if let Some(b) = &mut d.backoff {
            b.after(outcome, end);
        }
        if let Some(t) = ticket
            && outcome == Outcome::Allowed
        {
            self.shared.planner.allowed(t);
        }
        let latency = end.saturating_duration_since(intended).as_micros() as u64;
        let service = end.saturating_duration_since(sent).as_micros() as u64;
        let histograms = intended >= self.shared.warmup_end;
        self.rec.end_at(
            end,
            (Transport::Https, class, outcome),
            (latency, service),
            histograms,
        );
        if let Some(f) = failure {
            self.rec.error(Transport::Https, f);
        }
        self.ended.end(
            Transport::Https,
            class,
            outcome,
            histograms.then_some(latency),
        );
        Some(li)
    }
}
