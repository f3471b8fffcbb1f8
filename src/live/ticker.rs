//! The live status on stderr while the load runs. On a terminal: one block that updates in place
//! (indicatif: the clock and a bar of elapsed over planned time, then [`status::block`]'s lines), redrawn four
//! times a second and left in its last state when the load ends. Elsewhere (CI logs, a pipe): one
//! [`status::plain`] line every [`PLAIN_EVERY`]. Under `-q`: nothing.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinHandle;

use super::{Board, logs, status};

/// How often the plain line is printed.
pub const PLAIN_EVERY: Duration = Duration::from_secs(5);
/// How often the block is redrawn.
const BLOCK_EVERY: Duration = Duration::from_millis(250);
/// The window the block's attempts/s is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(1);

/// How the status shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-q`: nothing.
    Quiet,
    /// A plain line every [`PLAIN_EVERY`].
    Plain,
    /// The block, in place.
    Terminal,
}

impl Mode {
    /// Quiet under `-q`, the block when stderr is a terminal that can draw it, plain lines otherwise (a pipe,
    /// a file, or a terminal without cursor control: `TERM` unset or `dumb`, where indicatif would hide it).
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            Self::Quiet
        } else if std::io::stderr().is_terminal() && !ProgressDrawTarget::stderr().is_hidden() {
            Self::Terminal
        } else {
            Self::Plain
        }
    }
}

/// The running status; [`Ticker::finish`] ends it.
pub struct Ticker {
    task: JoinHandle<()>,
    bar: Option<(ProgressBar, Arc<Board>)>,
}

/// Starts the status (none under [`Mode::Quiet`]).
pub fn start(mode: Mode, board: Arc<Board>) -> Option<Ticker> {
    match mode {
        Mode::Quiet => None,
        Mode::Plain => Some(Ticker {
            task: tokio::spawn(plain(board)),
            bar: None,
        }),
        Mode::Terminal => {
            let bar = new_bar(&board);
            logs::attach(&bar);
            Some(Ticker {
                task: tokio::spawn(redraw(bar.clone(), board.clone())),
                bar: Some((bar, board)),
            })
        }
    }
}

impl Ticker {
    /// Stops the status; the block is drawn once more with the final counts and left on screen.
    pub fn finish(self) {
        self.task.abort();
        if let Some((bar, board)) = self.bar {
            update(&bar, &board, None);
            bar.finish();
            logs::detach();
        }
    }
}

fn new_bar(board: &Board) -> ProgressBar {
    let len = board.planned.as_millis().max(1) as u64;
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix} [{bar:40.cyan/blue}] {percent:>3}%\n{msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// Draws the board; `rate`: attempts/s lately (`None`: keep the last one shown).
fn update(bar: &ProgressBar, board: &Board, rate: Option<f64>) -> u64 {
    let r = board.read();
    bar.set_position((r.elapsed.as_millis() as u64).min(bar.length().unwrap_or(u64::MAX)));
    bar.set_prefix(status::clock(&r));
    let rate =
        rate.unwrap_or_else(|| r.detail.ended_total() as f64 / r.elapsed.as_secs_f64().max(1e-3));
    bar.set_message(status::block(&r, rate));
    r.detail.ended_total()
}

async fn redraw(bar: ProgressBar, board: Arc<Board>) {
    let mut tick = tokio::time::interval(BLOCK_EVERY);
    let (mut mark, mut mark_at) = (0, tokio::time::Instant::now());
    let mut rate = 0.0;
    loop {
        tick.tick().await;
        let ended = update(&bar, &board, Some(rate));
        let since = mark_at.elapsed();
        if since >= RATE_WINDOW {
            rate = ended.saturating_sub(mark) as f64 / since.as_secs_f64();
            (mark, mark_at) = (ended, tokio::time::Instant::now());
        }
    }
}

async fn plain(board: Arc<Board>) {
    let start = tokio::time::Instant::now() + PLAIN_EVERY;
    let mut tick = tokio::time::interval_at(start, PLAIN_EVERY);
    let mut last = 0;
    loop {
        tick.tick().await;
        let r = board.read();
        let ended = r.detail.ended_total();
        let rate = ended.saturating_sub(last) as f64 / PLAIN_EVERY.as_secs_f64();
        last = ended;
        eprintln!("{}", status::plain(&r, rate));
    }
}
