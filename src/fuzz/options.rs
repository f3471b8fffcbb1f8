//! How a fuzz run is bounded and where its files go: the options the loop ([`super::runner`]) and the judging
//! of each case ([`super::judge`]) both read.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::setup::Setup;

/// How a fuzz run is bounded and where its files go.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub cases: u64,
    /// A case's connection must be closed by the emulator within this (after the client's half-close).
    pub case_deadline: Duration,
    /// Liveness and memory probes every this many cases (and at the end).
    pub probe_every: u64,
    pub max_rss_kib: u64,
    /// Time spent minimizing each finding.
    pub minimize_budget: Duration,
    /// Stop after this many findings.
    pub max_findings: usize,
    /// Reproducers and the report go here (created).
    pub run_dir: PathBuf,
    /// Progress lines on stderr.
    pub progress: bool,
    /// The authorizers attacked and the key of valid prefixes (default: the built-in fixture).
    pub setup: Arc<Setup>,
}

impl Options {
    pub fn new(seed: u64, cases: u64, run_dir: PathBuf) -> Self {
        Self {
            seed,
            cases,
            case_deadline: Duration::from_secs(5),
            probe_every: 500,
            max_rss_kib: 1024 * 1024,
            minimize_budget: Duration::from_secs(20),
            max_findings: 20,
            run_dir,
            progress: false,
            setup: Arc::new(Setup::builtin()),
        }
    }
}
