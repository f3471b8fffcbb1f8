//! Counters for authorizer functions, per authorizer (names fixed at start) and from bounded label sets:
//! `tokenstorm_authorizer_results_total{authorizer,result}` (every invocation's result: `allow`, a deny
//! reason class, or an invocation failure), `tokenstorm_function_cold_starts_total{authorizer}`,
//! `tokenstorm_function_restarts_total{authorizer}`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::contract::DenyReason;
use crate::emulator::function::INVOKE_ERROR_LABELS;

/// Every `result` label: the outcome of an invocation for its request.
pub const RESULTS: [&str; 11] = [
    "allow",
    "not_authenticated",
    "policy_deny",
    INVOKE_ERROR_LABELS[0],
    INVOKE_ERROR_LABELS[1],
    INVOKE_ERROR_LABELS[2],
    INVOKE_ERROR_LABELS[3],
    INVOKE_ERROR_LABELS[4],
    INVOKE_ERROR_LABELS[5],
    INVOKE_ERROR_LABELS[6],
    "other",
];

pub struct FunctionMetrics {
    names: Vec<String>,
    results: Vec<AtomicU64>,
    cold_starts: Vec<AtomicU64>,
    restarts: Vec<AtomicU64>,
    init_us: Vec<AtomicU64>,
    inits: Vec<AtomicU64>,
}

fn counters(n: usize) -> Vec<AtomicU64> {
    (0..n).map(|_| AtomicU64::new(0)).collect()
}

impl FunctionMetrics {
    pub fn new(names: Vec<String>) -> Self {
        let n = names.len();
        Self {
            names,
            results: counters(n * RESULTS.len()),
            cold_starts: counters(n),
            restarts: counters(n),
            init_us: counters(n),
            inits: counters(n),
        }
    }

    /// Maps a ledger deny reason (or none: allowed) to its `result` label.
    pub fn result_label(deny_reason: Option<&DenyReason>) -> &'static str {
        let Some(reason) = deny_reason else {
            return "allow";
        };
        if reason.is_policy() {
            return "policy_deny";
        }
        let head = reason.label();
        RESULTS
            .iter()
            .find(|r| **r == head)
            .copied()
            .unwrap_or("other")
    }

    pub fn record_result(&self, authorizer: usize, deny_reason: Option<&DenyReason>) {
        let label = Self::result_label(deny_reason);
        let i = RESULTS
            .iter()
            .position(|r| *r == label)
            .unwrap_or(RESULTS.len() - 1);
        if let Some(c) = self.results.get(authorizer * RESULTS.len() + i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn record_cold_start(&self, authorizer: usize) {
        if let Some(c) = self.cold_starts.get(authorizer) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A runtime process finished its init (start → first `/next`) in `took`.
    pub fn record_init(&self, authorizer: usize, took: std::time::Duration) {
        if let (Some(sum), Some(count)) = (self.init_us.get(authorizer), self.inits.get(authorizer))
        {
            sum.fetch_add(took.as_micros() as u64, Ordering::Relaxed);
            count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Runtime process inits completed, and their total time in microseconds.
    pub fn inits(&self, authorizer: &str) -> (u64, u64) {
        self.names
            .iter()
            .position(|n| n == authorizer)
            .map_or((0, 0), |a| {
                (
                    self.inits[a].load(Ordering::Relaxed),
                    self.init_us[a].load(Ordering::Relaxed),
                )
            })
    }

    pub fn record_restart(&self, authorizer: usize) {
        if let Some(c) = self.restarts.get(authorizer) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The count for an authorizer name and a `result` label.
    pub fn results(&self, authorizer: &str, result: &str) -> u64 {
        let (Some(a), Some(r)) = (
            self.names.iter().position(|n| n == authorizer),
            RESULTS.iter().position(|x| *x == result),
        ) else {
            return 0;
        };
        self.results[a * RESULTS.len() + r].load(Ordering::Relaxed)
    }

    pub fn restarts(&self, authorizer: &str) -> u64 {
        self.names
            .iter()
            .position(|n| n == authorizer)
            .map_or(0, |a| self.restarts[a].load(Ordering::Relaxed))
    }

    pub fn cold_starts(&self, authorizer: &str) -> u64 {
        self.names
            .iter()
            .position(|n| n == authorizer)
            .map_or(0, |a| self.cold_starts[a].load(Ordering::Relaxed))
    }

    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP tokenstorm_authorizer_results_total Authorizer invocations by result (allow, deny reason, or failure).\n# TYPE tokenstorm_authorizer_results_total counter\n");
        for (a, name) in self.names.iter().enumerate() {
            for (r, result) in RESULTS.iter().enumerate() {
                let v = self.results[a * RESULTS.len() + r].load(Ordering::Relaxed);
                let _ = writeln!(
                    out,
                    "tokenstorm_authorizer_results_total{{authorizer=\"{name}\",result=\"{result}\"}} {v}"
                );
            }
        }
        for (metric, help, values) in [
            (
                "function_cold_starts_total",
                "Invocations served by a fresh runtime process.",
                &self.cold_starts,
            ),
            (
                "function_restarts_total",
                "Runtime processes restarted (crash, init error, timeout).",
                &self.restarts,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP tokenstorm_{metric} {help}\n# TYPE tokenstorm_{metric} counter"
            );
            for (a, name) in self.names.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "tokenstorm_{metric}{{authorizer=\"{name}\"}} {}",
                    values[a].load(Ordering::Relaxed)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP tokenstorm_function_init_seconds Runtime process init time (start to first /next): the cost behind a cold start.\n# TYPE tokenstorm_function_init_seconds summary"
        );
        for (a, name) in self.names.iter().enumerate() {
            let sum = self.init_us[a].load(Ordering::Relaxed) as f64 / 1e6;
            let count = self.inits[a].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "tokenstorm_function_init_seconds_sum{{authorizer=\"{name}\"}} {sum}"
            );
            let _ = writeln!(
                out,
                "tokenstorm_function_init_seconds_count{{authorizer=\"{name}\"}} {count}"
            );
        }
        out
    }
}
