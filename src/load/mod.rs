//! The load generator (DESIGN.md `load/`): devices, the pacers and the transports: HTTPS publish (lanes of
//! attempts) and MQTT over TLS, TCP and WebSocket (a fleet of devices that keep their connections).
//!
//! What each attempt sends (class, variant, replay victim, credential) is decided by one pure
//! [`crate::attempt::Planner`] for every transport; lanes and the fleet only carry it out.
//!
//! Devices are split between lanes (a few per core); each lane is one task with its own [`Recorder`]. After
//! the deadline, the attempt bound or a shutdown, lanes stop starting attempts, drain the ones in flight, and
//! their recorders are merged. Each recorder also feeds the run's one per-second store
//! ([`crate::metrics::series`]), folding its current second in once a second.

pub mod backoff;
pub mod codec;
pub mod comeback;
pub mod connect;
pub mod connect_pacer;
pub mod device;
pub mod exchange;
pub mod fdlimit;
pub mod fleet;
pub mod groups;
pub mod http1;
pub mod lane;
pub mod link;
pub mod mqtt_targets;
pub mod pacer;
pub mod planned;
pub mod progress;
pub mod ramp;
pub mod request;
pub mod session;
pub mod shard;
pub mod source;
pub mod storm;
pub mod usage;
pub mod username;

use std::sync::Arc;
use std::time::Duration;

use crate::metrics::{Recorder, SeriesStore};
use crate::scenario::Model;
use crate::shutdown::Shutdown;

pub use connect::Connector;
pub use request::{RequestBook, RequestShape};

/// How the HTTPS lanes share the work (the clock and the rest are in [`lane::Shared`]).
pub struct LoadSpec {
    pub model: Model,
    pub duration: Duration,
    pub max_attempts: Option<u64>,
    /// The open model's ramp (`[[run.stages]]` or a remote run's implicit one); `None`: a constant rate.
    pub ramp: Option<Arc<ramp::Ramp>>,
    /// The part of the plan this process runs (`run --shard`; [`shard::Shard::WHOLE`] unsharded).
    pub shard: shard::Shard,
}

/// What a load run produced.
pub struct LoadResult {
    pub recorder: Recorder,
    pub elapsed: Duration,
    /// A shutdown (SIGINT/SIGTERM or `--stop-file`) ended the run early.
    pub interrupted: bool,
    /// What ended in each second, for the report's `timeseries` and `latency.hlog`.
    pub series: Arc<SeriesStore>,
}

/// Lanes: enough tasks to use every core, never more than devices.
fn lane_count(devices: u32) -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    (cores * 2).clamp(1, devices.max(1))
}

/// Runs the HTTPS lanes over `shared.devices` devices, from `shared.t0` until their work is done, the deadline
/// or `shutdown`; each ended attempt is counted in `progress`.
pub async fn run(
    spec: LoadSpec,
    shared: Arc<lane::Shared>,
    shutdown: Shutdown,
    progress: Arc<progress::Progress>,
) -> LoadResult {
    let t0 = shared.t0;
    let n = shared.devices;
    let shard = spec.shard;
    let works: Vec<lane::Work> = match spec.model {
        Model::Open { rate_per_s } => {
            let schedule = pacer::OpenSchedule::new(
                rate_per_s,
                spec.ramp.clone(),
                n,
                spec.duration,
                spec.max_attempts,
            );
            // The one global schedule: this shard's devices keep their places in it.
            let mine: Vec<u32> = (0..n).filter(|&d| shard.owns(d)).collect();
            let lanes = lane_count(mine.len() as u32) as usize;
            (0..lanes)
                .map(|l| lane::Work::Open {
                    schedule: schedule.clone(),
                    devices: mine.iter().copied().skip(l).step_by(lanes).collect(),
                })
                .collect()
        }
        Model::Closed { concurrency } => {
            let mine: Vec<pacer::ClosedSlot> =
                pacer::closed_slots(n, concurrency, spec.max_attempts)
                    .into_iter()
                    .enumerate()
                    .filter(|&(j, _)| shard.owns(j as u32))
                    .map(|(_, slot)| slot)
                    .collect();
            let lanes = lane_count(mine.len() as u32) as usize;
            let mut per_lane: Vec<Vec<pacer::ClosedSlot>> =
                (0..lanes).map(|_| Vec::new()).collect();
            for (j, slot) in mine.into_iter().enumerate() {
                per_lane[j % lanes].push(slot);
            }
            per_lane
                .into_iter()
                .map(|slots| lane::Work::Closed { slots })
                .collect()
        }
    };
    progress.https_running(true);
    let handles: Vec<_> = works
        .into_iter()
        .map(|work| {
            tokio::spawn(lane::run(
                shared.clone(),
                work,
                shutdown.clone(),
                progress.clone(),
            ))
        })
        .collect();
    let mut recorder = Recorder::new();
    for h in handles {
        match h.await {
            Ok(r) => recorder.merge(&r),
            Err(e) => tracing::error!("a load lane failed: {e}"),
        }
    }
    progress.https_running(false);
    LoadResult {
        recorder,
        elapsed: t0.elapsed(),
        interrupted: shutdown.is_triggered(),
        series: shared.series.clone(),
    }
}
