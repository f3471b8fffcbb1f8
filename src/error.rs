//! Exit codes shared by every subcommand.
//!
//! 0: everything held (or `verify` found the signature valid); 1: a verdict failed (an invariant was violated,
//! or `verify` found the signature invalid); 2: usage or setup errors (bad flags, files, scenarios, keys); 3: a
//! run a signal (SIGINT/SIGTERM) or `--stop-file` stopped early, its report written and marked interrupted.

/// What the process exits with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok,
    Failed,
    Usage,
    /// `run`: a signal or the stop file ended the run before its end (an `[abort]` guard's stop is `Failed`).
    Interrupted,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        match e {
            Exit::Ok => 0.into(),
            Exit::Failed => 1.into(),
            Exit::Usage => 2.into(),
            Exit::Interrupted => 3.into(),
        }
    }
}
