//! The fuzz loop (async shell): starts the embedded emulator ([`super::setup`]), sends case after case (each
//! generated from (seed, index)), judges each ([`super::judge`], [`super::oracle`]), probes liveness and memory
//! every few cases, minimizes and writes each finding as a [`Reproducer`], and returns the [`Summary`] the
//! command renders.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use super::case::{TARGETS, generate, target_index};
use super::exec::{Endpoints, Sent};
pub use super::judge::{attempt_id, judge_case};
use super::judge::{minimize, probe};
pub use super::options::Options;
use super::oracle::{self, FindingKind, Issued};
use super::render::render;
use super::reproducer::Reproducer;
use crate::emulator::Ledger;
use crate::shutdown::Shutdown;

/// Cases sent per transport.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TransportStats {
    pub transport: &'static str,
    pub cases: u64,
    pub with_valid_prefix: u64,
    /// Wall time spent in this transport's cases, seconds.
    pub seconds: f64,
    pub cases_per_second: f64,
    /// Cases whose connection could not be opened (TCP or TLS refused): counted, not findings.
    pub not_connected: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub case_index: Option<u64>,
    pub transport: Option<&'static str>,
    pub detail: String,
    /// The reproducer file, when the finding belongs to a case.
    pub reproducer: Option<PathBuf>,
    /// Bytes before and after minimization.
    pub bytes: Option<(usize, usize)>,
}

/// What a fuzz run found; the report file is this as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub seed: u64,
    pub cases_planned: u64,
    pub cases_run: u64,
    pub seconds: f64,
    pub cases_per_second: f64,
    pub transports: Vec<TransportStats>,
    pub probes: u64,
    /// Authorizer invocations in the run (valid prefixes and probes: shows the valid paths were exercised).
    pub invocations: u64,
    pub peak_rss_kib: Option<u64>,
    pub max_rss_kib: u64,
    pub findings: Vec<Finding>,
    pub interrupted: bool,
    /// `pass` or `fail`.
    pub verdict: &'static str,
    pub run_dir: PathBuf,
}

/// Runs `opts.cases` cases against a fresh embedded emulator.
pub async fn run(opts: &Options, shutdown: &Shutdown) -> anyhow::Result<Summary> {
    let emu_shutdown = Shutdown::new();
    let (running, ep) = opts.setup.start(&opts.run_dir, &emu_shutdown).await?;
    let mut fuzz = Fuzz::new(opts, ep, running.ledger().clone());
    let mut interrupted = false;
    while fuzz.index < opts.cases {
        if shutdown.is_triggered() {
            interrupted = true;
            break;
        }
        let sent = fuzz.case().await?;
        let index = fuzz.index;
        let probe_due = index.is_multiple_of(opts.probe_every.max(1)) || index == opts.cases;
        if probe_due || matches!(sent, Sent::NotConnected(_)) {
            fuzz.probe().await;
        }
        if fuzz.findings.len() >= opts.max_findings {
            break;
        }
    }
    emu_shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(10), running.join()).await;
    Ok(fuzz.summary(interrupted))
}

/// The fuzz loop's state: the emulator's endpoints, the per-transport counters and the findings so far.
struct Fuzz<'a> {
    opts: &'a Options,
    ep: Endpoints,
    ledger: Ledger,
    issued: Issued,
    stats: Vec<TransportStats>,
    findings: Vec<Finding>,
    probes: u64,
    peak_rss: Option<u64>,
    started: Instant,
    /// Cases sent so far (the next case's index).
    index: u64,
}

impl<'a> Fuzz<'a> {
    /// A loop with nothing sent yet; the clock starts now.
    fn new(opts: &'a Options, ep: Endpoints, ledger: Ledger) -> Self {
        let stats = TARGETS
            .iter()
            .map(|t| TransportStats {
                transport: t.name(),
                ..Default::default()
            })
            .collect();
        Self {
            opts,
            ep,
            ledger,
            issued: Issued::default(),
            stats,
            findings: Vec::new(),
            probes: 0,
            peak_rss: oracle::rss_kib(),
            started: Instant::now(),
            index: 0,
        }
    }

    /// Sends and judges the next case, minimizing and writing a reproducer when it is a finding.
    async fn case(&mut self) -> anyhow::Result<Sent> {
        let (opts, index) = (self.opts, self.index);
        let case = generate(opts.seed, index);
        let transport = case.transport();
        let bytes = render(&case, &self.ep.target);
        let attempt = case.valid_prefix().then(|| attempt_id(opts.seed, index));
        let t0 = Instant::now();
        let (sent, verdict) = judge_case(
            &self.ep,
            &self.ledger,
            &mut self.issued,
            transport,
            attempt.as_deref(),
            &bytes,
            opts.case_deadline,
        )
        .await;
        let s = &mut self.stats[target_index(transport)];
        s.cases += 1;
        s.with_valid_prefix += u64::from(attempt.is_some());
        s.seconds += t0.elapsed().as_secs_f64();
        s.not_connected += u64::from(matches!(sent, Sent::NotConnected(_)));
        if let Some((kind, detail)) = verdict {
            let small = minimize(
                &self.ep,
                &self.ledger,
                transport,
                attempt.as_deref(),
                &bytes,
                kind,
                opts,
            )
            .await;
            let rep = Reproducer::new(
                opts.seed,
                index,
                transport,
                attempt.is_some(),
                kind,
                detail.clone(),
                &small,
                (small.len() < bytes.len()).then_some(&bytes[..]),
            );
            let path = rep.write(&opts.run_dir)?;
            self.findings.push(Finding {
                kind,
                case_index: Some(index),
                transport: Some(transport.name()),
                detail,
                reproducer: Some(path),
                bytes: Some((bytes.len(), small.len())),
            });
        }
        self.index += 1;
        Ok(sent)
    }

    /// Probes liveness and resident memory after the cases so far, and prints progress when asked.
    async fn probe(&mut self) {
        let (opts, index) = (self.opts, self.index);
        self.probes += 1;
        if let Err(why) = probe(
            &self.ep,
            &self.ledger,
            &mut self.issued,
            &format!("probe-{index}"),
            opts.case_deadline,
        )
        .await
        {
            self.findings.push(run_finding(
                FindingKind::Hang,
                index,
                format!("liveness probe failed: {why}"),
            ));
        }
        let rss = oracle::rss_kib();
        self.peak_rss = self.peak_rss.max(rss);
        if let Some(kib) = rss.filter(|&k| k > opts.max_rss_kib)
            && !self
                .findings
                .iter()
                .any(|f: &Finding| f.kind == FindingKind::Memory)
        {
            self.findings.push(run_finding(
                FindingKind::Memory,
                index,
                format!(
                    "resident memory {kib} KiB passed the bound {} KiB",
                    opts.max_rss_kib
                ),
            ));
        }
        if opts.progress && index % (opts.probe_every.max(1) * 10) == 0 {
            eprintln!(
                "fuzz: {index}/{} cases, {:.0} cases/s, {} finding(s)",
                opts.cases,
                index as f64 / self.started.elapsed().as_secs_f64().max(1e-9),
                self.findings.len()
            );
        }
    }

    /// The run's summary, timed up to now (after the emulator has stopped).
    fn summary(mut self, interrupted: bool) -> Summary {
        let opts = self.opts;
        let seconds = self.started.elapsed().as_secs_f64();
        for s in &mut self.stats {
            s.cases_per_second = if s.seconds > 0.0 {
                s.cases as f64 / s.seconds
            } else {
                0.0
            };
        }
        Summary {
            seed: opts.seed,
            cases_planned: opts.cases,
            cases_run: self.index,
            seconds,
            cases_per_second: self.index as f64 / seconds.max(1e-9),
            transports: self.stats,
            probes: self.probes,
            invocations: self.ledger.recorded(),
            peak_rss_kib: self.peak_rss,
            max_rss_kib: opts.max_rss_kib,
            verdict: if self.findings.is_empty() && !interrupted {
                "pass"
            } else {
                "fail"
            },
            findings: self.findings,
            interrupted,
            run_dir: opts.run_dir.clone(),
        }
    }
}

/// A finding about the whole run (not one case), after `after` cases.
fn run_finding(kind: FindingKind, after: u64, detail: String) -> Finding {
    Finding {
        kind,
        case_index: None,
        transport: None,
        detail: format!("after {after} cases: {detail}"),
        reproducer: None,
        bytes: None,
    }
}

/// Replays a reproducer against a fresh embedded emulator: `Some` when the finding still reproduces.
pub async fn replay(
    rep: &Reproducer,
    opts: &Options,
) -> anyhow::Result<Option<(FindingKind, String)>> {
    let emu_shutdown = Shutdown::new();
    let (running, ep) = opts.setup.start(&opts.run_dir, &emu_shutdown).await?;
    let bytes = rep.bytes()?;
    let attempt = rep
        .valid_prefix
        .then(|| attempt_id(rep.seed, rep.case_index));
    let ledger = running.ledger().clone();
    let mut issued = Issued::default();
    let (_, verdict) = judge_case(
        &ep,
        &ledger,
        &mut issued,
        rep.transport,
        attempt.as_deref(),
        &bytes,
        opts.case_deadline,
    )
    .await;
    let verdict = match verdict {
        Some(v) => Some(v),
        None => probe(
            &ep,
            &ledger,
            &mut issued,
            "replay-probe",
            opts.case_deadline,
        )
        .await
        .err()
        .map(|why| (FindingKind::Hang, format!("liveness probe failed: {why}"))),
    };
    emu_shutdown.trigger();
    let _ = tokio::time::timeout(Duration::from_secs(10), running.join()).await;
    Ok(verdict)
}
