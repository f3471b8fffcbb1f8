//! The log writer (`tracing` and the run's warnings): straight to stderr, except while the live status block
//! is drawn, when each write goes through the bar's `suspend` (the block is cleared, the line written, the
//! block redrawn below it) so a log line never lands inside the block. The tracing subscriber is global, so the
//! block in force is too: [`attach`] when it appears, [`detach`] when it ends.

use std::io::Write;
use std::sync::Mutex;

use indicatif::ProgressBar;

static BLOCK: Mutex<Option<ProgressBar>> = Mutex::new(None);

fn block() -> Option<ProgressBar> {
    BLOCK.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Logs go around `bar` until [`detach`].
pub fn attach(bar: &ProgressBar) {
    *BLOCK.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar.clone());
}

pub fn detach() {
    *BLOCK.lock().unwrap_or_else(|p| p.into_inner()) = None;
}

/// A writer to stderr around the block (tracing's `MakeWriter`: `with_writer(logs::writer)`).
pub struct Logs;

pub fn writer() -> Logs {
    Logs
}

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match block() {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// One line on stderr around the block (`eprintln!` for what may print while the block is drawn).
pub fn line(msg: &str) {
    let _ = Logs.write_all(format!("{msg}\n").as_bytes());
}
