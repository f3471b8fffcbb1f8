//! How a shard process ended, as the parent judges it (pure): with its report written (exit 0, 1 or 3, the
//! report's own exit code), with a setup error (exit 2: nothing ran, the whole run is a setup error), or crashed:
//! killed by a signal, or any other exit, or an exit code that promises a report with none in its folder. A
//! crashed shard fails the run, named; the others' evidence is still merged.

use std::process::ExitStatus;

/// The end of one shard process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Its report is in its folder; its exit code (0, 1 or 3).
    Reported(i32),
    /// Exit 2: a usage or setup error before any load.
    Setup,
    /// No report: how it ended, in words (`killed by SIGKILL`, `exited with code 101`).
    Crashed(String),
}

/// Judges `status`; `has_report`: whether its folder holds `report.json`.
pub fn judge(status: ExitStatus, has_report: bool) -> Ended {
    judge_parts(status.code(), signal_of(status), has_report)
}

#[cfg(unix)]
fn signal_of(status: ExitStatus) -> Option<i32> {
    std::os::unix::process::ExitStatusExt::signal(&status)
}

#[cfg(not(unix))]
fn signal_of(_: ExitStatus) -> Option<i32> {
    None
}

fn judge_parts(code: Option<i32>, signal: Option<i32>, has_report: bool) -> Ended {
    match (code, signal) {
        (Some(2), _) => Ended::Setup,
        (Some(c @ (0 | 1 | 3)), _) if has_report => Ended::Reported(c),
        (Some(c @ (0 | 1 | 3)), _) => {
            Ended::Crashed(format!("exited with code {c} but wrote no report"))
        }
        (Some(c), _) => Ended::Crashed(format!("exited with code {c}")),
        (None, Some(s)) => Ended::Crashed(format!("killed by {}", signal_name(s))),
        (None, None) => Ended::Crashed("ended without an exit code".into()),
    }
}

fn signal_name(signo: i32) -> String {
    nix::sys::signal::Signal::try_from(signo)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {signo}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_a_setup_error_and_the_ways_to_crash() {
        assert_eq!(judge_parts(Some(3), None, true), Ended::Reported(3));
        assert_eq!(judge_parts(Some(2), None, false), Ended::Setup);
        assert_eq!(
            judge_parts(Some(0), None, false),
            Ended::Crashed("exited with code 0 but wrote no report".into())
        );
        assert_eq!(
            judge_parts(Some(101), None, false),
            Ended::Crashed("exited with code 101".into())
        );
        assert_eq!(
            judge_parts(None, Some(9), false),
            Ended::Crashed("killed by SIGKILL".into())
        );
    }
}
