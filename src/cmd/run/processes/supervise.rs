//! Watching the shard processes until every one has ended. The first SIGINT/SIGTERM to the parent is forwarded,
//! once, to every shard (one that has not yet said where its `/metrics` listens, and so may not listen for
//! signals yet, gets it as soon as it does): each drains (at most 5 s) and writes its interrupted report. A
//! second signal kills every shard and exits at once (130/143, no report), as a single run does. A shard that
//! exits 2 (a setup error) kills the others: the run is a setup error naming it and quoting its error. A shard
//! that crashes is named on stderr and the others go on; the caller merges what was reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use tokio::process::Child;
use tokio::sync::mpsc;

use super::child::{self, Spawned};
use super::ending::{self, Ended};
use crate::cmd::run::stop::{DRAIN, exit_code};

/// How often signals still owed to shards that were not listening yet are delivered.
const FORWARD_EVERY: Duration = Duration::from_millis(100);

/// One shard as the supervisor tracks it.
struct Tracked {
    spawned: Spawned,
    running: Arc<AtomicBool>,
    signalled: bool,
    ended: Option<Ended>,
}

/// The shards' ends, in shard order, once all have ended; `Err` when one had a setup error (the others killed).
pub async fn watch(
    shards: Vec<(Spawned, Child, Arc<AtomicBool>)>,
    mut signals: Signals,
    progress: bool,
) -> anyhow::Result<Vec<Ended>> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut tracked = Vec::with_capacity(shards.len());
    for (i, (spawned, mut child, running)) in shards.into_iter().enumerate() {
        let tx = tx.clone();
        // The task owns the process (killed on drop, so also when the runtime ends on any exit path).
        tokio::spawn(async move {
            let status = child.wait().await;
            let _ = tx.send((i, status));
        });
        tracked.push(Tracked {
            spawned,
            running,
            signalled: false,
            ended: None,
        });
    }
    let mut forward = tokio::time::interval(FORWARD_EVERY);
    let mut stop: Option<Signal> = None;
    while tracked.iter().any(|t| t.ended.is_none()) {
        tokio::select! {
            Some((i, status)) = rx.recv() => {
                let t = &mut tracked[i];
                t.running.store(false, Ordering::Relaxed);
                let _ = tokio::time::timeout(Duration::from_secs(2), &mut t.spawned.stderr).await;
                let has_report = t.spawned.dir.join("report.json").is_file();
                let ended = match status {
                    Ok(s) => ending::judge(s, has_report),
                    Err(e) => Ended::Crashed(format!("could not be waited for: {e}")),
                };
                match &ended {
                    Ended::Setup => return Err(setup_failed(&mut tracked, i, &mut rx).await),
                    Ended::Crashed(how) => eprintln!(
                        "shard {} {how}: the run fails; the other shards go on and what they report is merged",
                        t.spawned.shard
                    ),
                    Ended::Reported(_) => {}
                }
                tracked[i].ended = Some(ended);
            }
            signo = signals.next() => {
                if stop.is_some() {
                    kill_all(&tracked);
                    eprintln!("{}: killed the shards, exiting at once; no report was written", signo.as_str());
                    std::process::exit(exit_code(signo as i32));
                }
                stop = Some(signo);
                if progress {
                    crate::live::logs::line(&format!(
                        "{}: stopping the shards; each drains (up to {} s) and writes its report, then they are \
                         merged; a second signal kills them and exits at once without a report",
                        signo.as_str(),
                        DRAIN.as_secs()
                    ));
                }
                deliver(&mut tracked, signo);
            }
            _ = forward.tick() => if let Some(s) = stop { deliver(&mut tracked, s) },
        }
    }
    Ok(tracked.into_iter().filter_map(|t| t.ended).collect())
}

/// Sends `signo` once to each running shard that listens for it.
fn deliver(tracked: &mut [Tracked], signo: Signal) {
    for t in tracked.iter_mut() {
        if t.ended.is_none() && !t.signalled && t.spawned.metrics.get().is_some() {
            t.signalled = true;
            let _ = kill(t.spawned.pid, signo);
        }
    }
}

/// SIGKILL to every shard not yet ended.
fn kill_all(tracked: &[Tracked]) {
    for t in tracked.iter().filter(|t| t.ended.is_none()) {
        let _ = kill(t.spawned.pid, Signal::SIGKILL);
    }
}

/// Shard `i` exited 2: kills the others, waits for them (briefly) and says what shard `i` said.
async fn setup_failed(
    tracked: &mut [Tracked],
    i: usize,
    rx: &mut mpsc::UnboundedReceiver<(usize, std::io::Result<std::process::ExitStatus>)>,
) -> anyhow::Error {
    tracked[i].ended = Some(Ended::Setup);
    kill_all(tracked);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tracked.iter().any(|t| t.ended.is_none()) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some((j, _))) => tracked[j].ended = Some(Ended::Crashed("killed".into())),
            _ => break,
        }
    }
    let s = &tracked[i].spawned;
    anyhow::anyhow!(
        "shard {} exited 2 (a setup error), so the other shards were stopped: {} (its folder: {})",
        s.shard,
        child::errors(&s.dir),
        s.dir.display()
    )
}

/// SIGINT and SIGTERM to the parent.
pub struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
}

impl Signals {
    pub fn new() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.int.recv() => Signal::SIGINT,
            _ = self.term.recv() => Signal::SIGTERM,
        }
    }
}
