//! The run's stop controls: the first SIGINT/SIGTERM, or `--stop-file PATH` appearing (polled every 250 ms),
//! stops the load the same way (attempts in flight drain, at most [`DRAIN`], and the report is written, marked
//! interrupted, with `stopped_by` saying which). A signal while the run is already stopping exits at once with
//! the shell's code for that signal (130 SIGINT, 143 SIGTERM), without a report: a user who asks twice wants
//! out now, and what the tasks hold cannot be gathered without waiting for them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::shutdown::{Shutdown, StoppedBy};

/// The longest the attempts in flight may take after a stop before they are abandoned.
pub const DRAIN: Duration = Duration::from_secs(5);

/// How often the stop file is looked for: often enough for a CI job, cheap (one `stat`).
const POLL: Duration = Duration::from_millis(250);

/// The run's stop: `shutdown` fires on the first stop request, `abandon` [`DRAIN`] later; `by` says which
/// request came first.
#[derive(Clone, Default)]
pub struct Stop {
    pub shutdown: Shutdown,
    pub abandon: Shutdown,
    by: Arc<OnceLock<StoppedBy>>,
}

impl Stop {
    /// A stop that nothing requested yet (no listeners: see [`watch`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests the stop; the first request names the cause. Returns whether this was the first.
    pub fn request(&self, by: StoppedBy) -> bool {
        let first = self.by.set(by).is_ok();
        if first {
            self.shutdown.trigger();
            let abandon = self.abandon.clone();
            tokio::spawn(async move {
                tokio::time::sleep(DRAIN).await;
                abandon.trigger();
            });
        }
        first
    }

    pub fn stopped_by(&self) -> Option<StoppedBy> {
        self.by.get().copied()
    }
}

/// `--stop-file` must not exist when the run starts: a leftover from an earlier job would stop this one at once.
pub fn check_stop_file(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        anyhow::bail!(
            "--stop-file {}: the file already exists; remove it before the run (the run stops when it appears)",
            path.display()
        );
    }
    Ok(())
}

/// Listens for SIGINT/SIGTERM and polls `stop_file`, requesting the stop; a signal while stopping exits at once.
/// Needs a Tokio runtime.
pub fn watch(stop: &Stop, stop_file: Option<PathBuf>, progress: bool) {
    #[cfg(unix)]
    {
        let s = stop.clone();
        tokio::spawn(async move { signals(s, progress).await });
    }
    #[cfg(not(unix))]
    {
        let s = stop.clone();
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                on_signal(&s, 2, progress);
            }
        });
    }
    if let Some(path) = stop_file {
        tokio::spawn(poll_file(stop.clone(), path, progress));
    }
}

/// Requests the stop when `path` appears; ends once the run is stopping, whatever stopped it.
async fn poll_file(stop: Stop, path: PathBuf, progress: bool) {
    let mut tick = tokio::time::interval(POLL);
    while !stop.shutdown.is_triggered() {
        tick.tick().await;
        if path.exists() {
            if stop.request(StoppedBy::StopFile) && progress {
                crate::live::logs::line(&format!(
                    "{} appeared: stopping; attempts in flight drain (up to {} s)",
                    path.display(),
                    DRAIN.as_secs()
                ));
            }
            return;
        }
    }
}

#[cfg(unix)]
async fn signals(stop: Stop, progress: bool) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        tracing::error!("cannot listen for SIGINT/SIGTERM; the run stops at its end only");
        return;
    };
    loop {
        let signo = tokio::select! {
            Some(()) = int.recv() => 2,
            Some(()) = term.recv() => 15,
            else => return,
        };
        on_signal(&stop, signo, progress);
    }
}

/// The first signal stops the run; one while it is already stopping exits the process at once.
fn on_signal(stop: &Stop, signo: i32, progress: bool) {
    if stop.request(StoppedBy::Signal) {
        if progress {
            crate::live::logs::line(&format!(
                "{}: stopping; attempts in flight drain (up to {} s); a second signal exits at once without a report",
                signal_name(signo),
                DRAIN.as_secs()
            ));
        }
        return;
    }
    eprintln!(
        "{}: exiting at once; the report was not written",
        signal_name(signo)
    );
    std::process::exit(exit_code(signo));
}

/// The shell's convention for a process ended by a signal: 128 + its number.
pub fn exit_code(signo: i32) -> i32 {
    128 + signo
}

fn signal_name(signo: i32) -> &'static str {
    match signo {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "signal",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_exit_with_the_shells_codes() {
        assert_eq!(exit_code(2), 130);
        assert_eq!(exit_code(15), 143);
    }

    #[test]
    fn stopped_by_is_snake_case_in_json() {
        let j = serde_json::to_string(&[StoppedBy::Signal, StoppedBy::StopFile]).unwrap();
        assert_eq!(j, r#"["signal","stop_file"]"#);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_request_names_the_cause_and_abandon_follows_after_the_drain() {
        let stop = Stop::new();
        assert_eq!(stop.stopped_by(), None);
        assert!(stop.request(StoppedBy::StopFile));
        assert!(!stop.request(StoppedBy::Signal));
        assert_eq!(stop.stopped_by(), Some(StoppedBy::StopFile));
        assert!(stop.shutdown.is_triggered());
        assert!(!stop.abandon.is_triggered());
        tokio::time::sleep(DRAIN - Duration::from_millis(1)).await;
        assert!(!stop.abandon.is_triggered());
        tokio::time::sleep(Duration::from_millis(2)).await;
        assert!(stop.abandon.is_triggered());
    }

    #[tokio::test(start_paused = true)]
    async fn the_stop_file_stops_the_run_when_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stop");
        check_stop_file(&path).unwrap();
        let stop = Stop::new();
        tokio::spawn(poll_file(stop.clone(), path.clone(), false));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert!(!stop.shutdown.is_triggered());
        std::fs::write(&path, "").unwrap();
        tokio::time::sleep(POLL * 2).await;
        assert_eq!(stop.stopped_by(), Some(StoppedBy::StopFile));
        let e = check_stop_file(&path).unwrap_err().to_string();
        assert!(e.contains("already exists"), "{e}");
    }
}
