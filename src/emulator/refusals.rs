//! The refusal log: for each request the signature gate refused, the gate's checklist (the same one
//! `tokenstorm explain` prints, [`super::gate::explain_gate`]), with the attempt id, transport and time. Bounded:
//! the newest [`RECENT`] refusals, plus, for each of the last [`VALID_RUNS`] runs, the first [`VALID_PER_RUN`]
//! refusals of attempts whose id names a valid credential (so a run whose valid traffic fails can say why even
//! under a flood of forged refusals, on an emulator shared by many runs). Served as `GET /refusals` on the admin
//! listener. The explanation is made only on a refusal, by re-running the gate's
//! functions with a recorder; the pass path pays nothing.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::gate::{GateExplanation, Presented, explain_gate};
use crate::contract::authorizer::AuthorizerSpec;
use crate::contract::{Class, Route, attempt_id};
use crate::wire::settings::GateSettings;

/// Refusals kept, newest first.
pub const RECENT: usize = 256;
/// Refusals of valid attempts kept per run, the first ones.
pub const VALID_PER_RUN: usize = 5;
/// Runs whose valid refusals are kept, the most recent ones.
pub const VALID_RUNS: usize = 16;

/// One refusal as `/refusals` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Refusal {
    /// 1, 2, ... in the order of refusals.
    pub seq: u64,
    pub unix_ms: u64,
    pub attempt_id: Option<String>,
    /// `https`, `http`, `mqtt_tls`, `mqtt_alpn`, `mqtt`, `wss`.
    pub transport: String,
    /// The rule (`tokenstorm_gate_rejections_total`'s `reason`).
    pub rule: String,
    /// `rule: the first failing check`.
    pub summary: String,
    /// The checklist.
    pub explanation: serde_json::Value,
}

/// `GET /refusals`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page {
    /// Newest first.
    pub refusals: Vec<Refusal>,
    /// The first refusals of valid attempts (attempt ids of class `valid`) of each recent run (or of the run
    /// `?run=ID` names), oldest first.
    pub valid: Vec<Refusal>,
    /// Refusals recorded so far.
    pub total: u64,
    pub capacity: usize,
}

#[derive(Default)]
struct Inner {
    recent: VecDeque<Refusal>,
    /// (run id, its first valid refusals), oldest run first.
    valid: VecDeque<(String, Vec<Refusal>)>,
    total: u64,
}

/// The emulator's refusal log.
#[derive(Default)]
pub struct RefusalLog {
    inner: Mutex<Inner>,
}

/// What the gate refused, and where it came from.
pub struct Refused<'a> {
    pub presented: Presented<'a>,
    pub route: Route,
    pub attempt_id: Option<String>,
}

impl RefusalLog {
    /// Explains and records a refusal.
    pub fn record(
        &self,
        authorizers: &[AuthorizerSpec],
        default: Option<usize>,
        settings: &GateSettings,
        r: Refused<'_>,
    ) {
        let e = explain_gate(authorizers, default, settings, &r.presented);
        self.push(e, r.route, r.attempt_id);
    }

    fn push(&self, e: GateExplanation, route: Route, attempt_id: Option<String>) {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let valid_run = attempt_id
            .as_deref()
            .and_then(attempt_id::parse)
            .filter(|id| id.class == Class::Valid)
            .map(|id| id.run.to_string());
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.total += 1;
        let refusal = Refusal {
            seq: inner.total,
            unix_ms,
            attempt_id,
            transport: route.name().to_string(),
            rule: e.rule.map_or("", |r| r.as_str()).to_string(),
            summary: super::gate::explain::summary(&e).unwrap_or_default(),
            explanation: serde_json::to_value(&e).unwrap_or_default(),
        };
        if let Some(run) = valid_run {
            inner.keep_valid(run, &refusal);
        }
        if inner.recent.len() == RECENT {
            inner.recent.pop_back();
        }
        inner.recent.push_front(refusal);
    }

    /// At most `limit` of the newest refusals, and the valid ones kept (of run `run` only, when given).
    pub fn page(&self, limit: usize, run: Option<&str>) -> Page {
        let Ok(inner) = self.inner.lock() else {
            return Page {
                refusals: Vec::new(),
                valid: Vec::new(),
                total: 0,
                capacity: RECENT,
            };
        };
        Page {
            refusals: inner.recent.iter().take(limit).cloned().collect(),
            valid: inner
                .valid
                .iter()
                .filter(|(r, _)| run.is_none_or(|run| run == r))
                .flat_map(|(_, v)| v.iter().cloned())
                .collect(),
            total: inner.total,
            capacity: RECENT,
        }
    }
}

impl Inner {
    fn keep_valid(&mut self, run: String, refusal: &Refusal) {
        if let Some((_, kept)) = self.valid.iter_mut().find(|(r, _)| *r == run) {
            if kept.len() < VALID_PER_RUN {
                kept.push(refusal.clone());
            }
            return;
        }
        if self.valid.len() == VALID_RUNS {
            self.valid.pop_front();
        }
        self.valid.push_back((run, vec![refusal.clone()]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Transport;
    use crate::emulator::gate::test_support::authorizers;

    #[test]
    fn bounded_newest_first_and_valid_refusals_kept() {
        let log = RefusalLog::default();
        let headers = hyper::HeaderMap::new();
        let refuse = |id: &str| Refused {
            presented: Presented {
                headers: &headers,
                query: Some("x-amz-customauthorizer-name=Off"),
                username: None,
            },
            route: Route::of(Transport::Https),
            attempt_id: Some(id.to_string()),
        };
        let s = GateSettings::default();
        log.record(&authorizers(), Some(0), &s, refuse("r1-valid-0-0"));
        for i in 0..RECENT + 3 {
            log.record(
                &authorizers(),
                Some(0),
                &s,
                refuse(&format!("r1-forged.wrong_key-0-{i}")),
            );
        }
        for i in 0..VALID_PER_RUN + 1 {
            log.record(
                &authorizers(),
                Some(0),
                &s,
                refuse(&format!("r2-valid-0-{i}")),
            );
        }
        let page = log.page(usize::MAX, Some("r1"));
        let total = (RECENT + 4 + VALID_PER_RUN + 1) as u64;
        assert_eq!((page.refusals.len(), page.total), (RECENT, total));
        assert_eq!(page.refusals[0].seq, total);
        assert_eq!(page.valid.len(), 1);
        let v = &page.valid[0];
        assert_eq!(
            (v.rule.as_str(), v.attempt_id.as_deref()),
            ("inactive_authorizer", Some("r1-valid-0-0"))
        );
        assert!(
            v.summary
                .starts_with("inactive_authorizer: authorizer \"Off\""),
            "{}",
            v.summary
        );
        assert_eq!(log.page(2, None).refusals.len(), 2);
        assert_eq!(log.page(0, None).valid.len(), 1 + VALID_PER_RUN);
        assert_eq!(log.page(0, Some("r2")).valid.len(), VALID_PER_RUN);
    }
}
