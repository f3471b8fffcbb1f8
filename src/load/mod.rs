//! The load generator (DESIGN.md `load/`): devices, the pacers and the transports: HTTPS publish (lanes of
//! attempts) and MQTT over TLS, TCP and WebSocket (a fleet of devices that keep their connections).
//!
//! Devices are split between lanes (a few per core); each lane is one task with its own [`Recorder`]. After
//! the deadline, the attempt bound or a shutdown, lanes stop starting attempts, drain the ones in flight, and
//! their recorders are merged.

pub mod codec;
pub mod connect;
pub mod connect_pacer;
pub mod exchange;
pub mod fdlimit;
pub mod fleet;
pub mod groups;
pub mod lane;
pub mod link;
pub mod mqtt_targets;
pub mod pacer;
pub mod request;
pub mod session;
pub mod username;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::metrics::Recorder;
use crate::scenario::Model;
use crate::shutdown::Shutdown;

pub use connect::Connector;
pub use request::{RequestBook, RequestShape};

/// What the load needs besides the shared, read-only parts in [`lane::Shared`] (whose `t0`, `deadline` and
/// `warmup_end` are set by [`run`]).
pub struct LoadSpec {
    pub model: Model,
    pub duration: Duration,
    pub max_attempts: Option<u64>,
    pub warmup: Duration,
    /// Print progress to stderr once per second.
    pub progress: bool,
}

/// What a load run produced.
pub struct LoadResult {
    pub recorder: Recorder,
    pub elapsed: Duration,
    /// A shutdown (SIGINT/SIGTERM) ended the run early.
    pub interrupted: bool,
}

/// Lanes: enough tasks to use every core, never more than devices.
fn lane_count(devices: u32) -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    (cores * 2).clamp(1, devices.max(1))
}

/// Runs the load. `make_shared` receives (t0, deadline, warmup_end) and builds the shared part.
pub async fn run(
    spec: LoadSpec,
    make_shared: impl FnOnce(Instant, Instant, Instant) -> lane::Shared,
    shutdown: Shutdown,
) -> LoadResult {
    let t0 = Instant::now();
    let shared = Arc::new(make_shared(t0, t0 + spec.duration, t0 + spec.warmup));
    let n = shared.devices;
    let lanes = lane_count(n);
    let mut works: Vec<lane::Work> = match spec.model {
        Model::Open { rate_per_s } => {
            let schedule = pacer::OpenSchedule {
                rate_per_s,
                devices: n,
                duration: spec.duration,
                max_attempts: spec.max_attempts,
            };
            (0..lanes)
                .map(|l| lane::Work::Open {
                    schedule,
                    devices: (l..n).step_by(lanes as usize).collect(),
                })
                .collect()
        }
        Model::Closed { concurrency } => {
            let mut per_lane: Vec<Vec<pacer::ClosedSlot>> =
                (0..lanes).map(|_| Vec::new()).collect();
            for (j, slot) in pacer::closed_slots(n, concurrency, spec.max_attempts)
                .into_iter()
                .enumerate()
            {
                per_lane[j % lanes as usize].push(slot);
            }
            per_lane
                .into_iter()
                .map(|slots| lane::Work::Closed { slots })
                .collect()
        }
    };
    let counters: Vec<Arc<AtomicU64>> = (0..works.len())
        .map(|_| Arc::new(AtomicU64::new(0)))
        .collect();
    let mut handles = Vec::new();
    for (work, done) in works.drain(..).zip(&counters) {
        handles.push(tokio::spawn(lane::run(
            shared.clone(),
            work,
            shutdown.clone(),
            done.clone(),
        )));
    }
    let progress = spec.progress.then(|| {
        let counters = counters.clone();
        tokio::spawn(async move {
            let mut tick =
                tokio::time::interval_at(t0 + Duration::from_secs(1), Duration::from_secs(1));
            let mut last = 0;
            loop {
                let at = tick.tick().await;
                let total: u64 = counters.iter().map(|c| c.load(Ordering::Relaxed)).sum();
                eprintln!(
                    "  {:>5.0}s  {total:>9} attempts  {:>7}/s",
                    (at - t0).as_secs_f64(),
                    total - last
                );
                last = total;
            }
        })
    });
    let mut recorder = Recorder::new();
    for h in handles {
        match h.await {
            Ok(r) => recorder.merge(&r),
            Err(e) => tracing::error!("a load lane failed: {e}"),
        }
    }
    if let Some(p) = progress {
        p.abort();
    }
    LoadResult {
        recorder,
        elapsed: t0.elapsed(),
        interrupted: shutdown.is_triggered(),
    }
}
