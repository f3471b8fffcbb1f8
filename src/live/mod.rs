//! What a run shows while it goes: the status on stderr ([`ticker`]: an in-place block on a terminal, a plain
//! line every few seconds elsewhere, nothing under `-q`), the generator's own Prometheus `/metrics`
//! ([`serve`], `run --metrics-addr`), and the log writer that keeps logs from garbling the block ([`logs`]).
//! All of them read one [`Board`]: the engines' relaxed counters ([`crate::load::progress`]), the join's live
//! count of invocations ([`crate::join::Live`]) and the load's clock. None of it is ever a verdict.

pub mod exposition;
pub mod logs;
pub mod serve;
pub mod status;
pub mod ticker;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::join::Live;
use crate::load::progress::{Detail, Progress};

/// What the live views read.
#[derive(Debug)]
pub struct Board {
    /// The engines' counters.
    pub progress: Arc<Progress>,
    /// The run's planned duration.
    pub planned: Duration,
    joined: OnceLock<Arc<Live>>,
    started: OnceLock<Instant>,
}

/// The board at one moment.
#[derive(Debug, Clone)]
pub struct Reading {
    pub detail: Detail,
    /// Invocations joined so far by class kind (valid, forged, replayed); `None` without a ledger to join.
    pub invocations: Option<[u64; 3]>,
    /// Since the load started (zero before).
    pub elapsed: Duration,
    pub planned: Duration,
}

impl Board {
    pub fn new(planned: Duration) -> Arc<Self> {
        Arc::new(Self {
            progress: Arc::new(Progress::default()),
            planned,
            joined: OnceLock::new(),
            started: OnceLock::new(),
        })
    }

    /// The join's live count, once the join starts.
    pub fn set_joined(&self, live: Arc<Live>) {
        let _ = self.joined.set(live);
    }

    /// The load starts now (the first call counts).
    pub fn start_clock(&self) {
        let _ = self.started.set(Instant::now());
    }

    pub fn read(&self) -> Reading {
        Reading {
            detail: self.progress.detail(),
            invocations: self.joined.get().map(|l| l.by_kind()),
            elapsed: self.started.get().map_or(Duration::ZERO, |t| t.elapsed()),
            planned: self.planned,
        }
    }
}
