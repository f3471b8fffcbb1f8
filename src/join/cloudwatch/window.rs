//! The time window a run's CloudWatch records are read over: `[floor_minute(start), ceil_minute(end + 5 s) + 60 s)`.
//! Lambda metrics are per minute (`Period = 60`), so the window is whole minutes: from the minute the load
//! started to one minute past the minute it ended in, the 5 s covering invocations the authorizer finishes
//! after the generator stopped waiting. Log events are filtered over the same span in milliseconds.

use serde::{Deserialize, Serialize};

/// A half-open span of whole minutes, Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start_unix_s: i64,
    pub end_unix_s: i64,
}

/// Slack after the load for invocations still running when it stopped.
const TAIL_MS: u64 = 5_000;

impl Window {
    /// The window of a load that ran from `start_unix_ms` to `end_unix_ms`.
    pub fn of_run(start_unix_ms: u64, end_unix_ms: u64) -> Self {
        const MINUTE_MS: u64 = 60_000;
        let floor = start_unix_ms / MINUTE_MS * MINUTE_MS;
        let ceil = (end_unix_ms.max(start_unix_ms) + TAIL_MS).div_ceil(MINUTE_MS) * MINUTE_MS;
        Self {
            start_unix_s: (floor / 1000) as i64,
            end_unix_s: ((ceil + MINUTE_MS) / 1000) as i64,
        }
    }

    pub fn start_unix_ms(&self) -> i64 {
        self.start_unix_s * 1000
    }

    pub fn end_unix_ms(&self) -> i64 {
        self.end_unix_s * 1000
    }

    /// Whole minutes covered (the number of `Period = 60` data points at most).
    pub fn minutes(&self) -> i64 {
        (self.end_unix_s - self.start_unix_s) / 60
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_796_288_400_000; // a whole minute (2026-12-03 09:40:00 UTC)

    #[test]
    fn the_window_is_whole_minutes_around_the_load_plus_one() {
        // 09:40:12.345 → 09:40:40: [09:40, ceil(09:40:45) = 09:41 + 1 min = 09:42).
        let w = Window::of_run(T + 12_345, T + 40_000);
        assert_eq!(w.start_unix_s, (T / 1000) as i64);
        assert_eq!(w.end_unix_s - w.start_unix_s, 120);
        assert_eq!(w.minutes(), 2);
        // Ending at 09:40:55: 09:41:00 exactly is already a whole minute → 09:42.
        assert_eq!(Window::of_run(T, T + 55_000).minutes(), 2);
        // Ending at 09:40:55.001: the 5 s cross 09:41 → ceil 09:42, + 1 min.
        assert_eq!(Window::of_run(T, T + 55_001).minutes(), 3);
        // Starting on a minute keeps it; the ms forms agree.
        let w = Window::of_run(T, T);
        assert_eq!(
            (w.start_unix_ms(), w.end_unix_ms()),
            (T as i64, (T + 120_000) as i64)
        );
        // An end before the start (a clock step) is read as an empty load.
        assert_eq!(
            Window::of_run(T + 1, T - 10_000),
            Window::of_run(T + 1, T + 1)
        );
    }
}
