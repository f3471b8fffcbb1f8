//! The refusal log: for each request the signature gate refused, the gate's checklist (the same one
//! `tokenstorm explain` prints, [`super::gate::explain_gate`]), with the attempt id, transport and time. Bounded:
//! the newest [`RECENT`] refusals, plus, for each of the last [`VALID_RUNS`] runs, the first [`VALID_PER_RUN`]
//! refusals of attempts whose id names a valid credential (so a run whose valid traffic fails can say why even
//! under a flood of forged refusals, on an emulator shared by many runs). Served as `GET /refusals` on the admin
//! listener. A refusal keeps only what the device presented (headers, query, username); the checklist is made when
//! the log is read, by re-running the gate's functions with a recorder over the kept requests, so neither the pass
//! path nor a flood of refusals pays for explanations nobody reads (at most [`RECENT`] + the kept valid ones per
//! read).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::gate::{Presented, explain_gate};
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

/// A refusal as kept: what the device presented, explained when read.
#[derive(Clone)]
struct Kept {
    seq: u64,
    unix_ms: u64,
    attempt_id: Option<String>,
    route: Route,
    headers: KeptHeaders,
    query: Option<String>,
    username: Option<String>,
}

/// A request's headers as one owned buffer: each name and value followed by a NUL, which neither may contain.
/// A `HeaderMap`'s clone would share its values with the connection's read buffer (hyper slices them from it),
/// keeping that buffer from being reused for the next request and alive until the refusal is dropped, and
/// would free one allocation per header then.
#[derive(Clone)]
struct KeptHeaders(Box<[u8]>);

impl KeptHeaders {
    fn of(headers: &HeaderMap) -> Self {
        let len = headers
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 2)
            .sum();
        let mut buf = Vec::with_capacity(len);
        for (name, value) in headers {
            buf.extend_from_slice(name.as_str().as_bytes());
            buf.push(0);
            buf.extend_from_slice(value.as_bytes());
            buf.push(0);
        }
        Self(buf.into_boxed_slice())
    }

    /// The headers again, in the order kept.
    fn map(&self) -> HeaderMap {
        let mut map = HeaderMap::new();
        let mut parts = self.0.split(|&b| b == 0);
        while let (Some(name), Some(value)) = (parts.next(), parts.next()) {
            // Both were a header's name and value when kept.
            if let (Ok(name), Ok(value)) =
                (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
            {
                map.append(name, value);
            }
        }
        map
    }
}

#[derive(Default)]
struct Inner {
    recent: VecDeque<Kept>,
    /// (run id, its first valid refusals), oldest run first.
    valid: VecDeque<(String, Vec<Kept>)>,
    total: u64,
}

/// The gate the refusals are explained against: the emulator's authorizers, default and settings.
#[derive(Default)]
struct Gate {
    authorizers: Vec<AuthorizerSpec>,
    default: Option<usize>,
    settings: GateSettings,
}

/// The emulator's refusal log.
#[derive(Default)]
pub struct RefusalLog {
    gate: Gate,
    inner: Mutex<Inner>,
}

/// What the gate refused, and where it came from.
pub struct Refused<'a> {
    pub presented: Presented<'a>,
    pub route: Route,
    pub attempt_id: Option<String>,
}

impl RefusalLog {
    /// The log of an emulator whose gate has these authorizers, default and settings.
    pub fn new(
        authorizers: Vec<AuthorizerSpec>,
        default: Option<usize>,
        settings: GateSettings,
    ) -> Self {
        Self {
            gate: Gate {
                authorizers,
                default,
                settings,
            },
            inner: Mutex::default(),
        }
    }

    /// Keeps a refusal (what was presented; explained when read).
    pub fn record(&self, r: Refused<'_>) {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let valid_run = r
            .attempt_id
            .as_deref()
            .and_then(attempt_id::parse)
            .filter(|id| id.class == Class::Valid)
            .map(|id| id.run.to_string());
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        inner.total += 1;
        let kept = Kept {
            seq: inner.total,
            unix_ms,
            attempt_id: r.attempt_id,
            route: r.route,
            headers: KeptHeaders::of(r.presented.headers),
            query: r.presented.query.map(str::to_string),
            username: r.presented.username.map(str::to_string),
        };
        if let Some(run) = valid_run {
            inner.keep_valid(run, &kept);
        }
        if inner.recent.len() == RECENT {
            inner.recent.pop_back();
        }
        inner.recent.push_front(kept);
    }

    /// At most `limit` of the newest refusals, and the valid ones kept (of run `run` only, when given), each
    /// explained now (outside the lock).
    pub fn page(&self, limit: usize, run: Option<&str>) -> Page {
        let (recent, valid, total) = match self.inner.lock() {
            Ok(inner) => (
                inner.recent.iter().take(limit).cloned().collect(),
                inner
                    .valid
                    .iter()
                    .filter(|(r, _)| run.is_none_or(|run| run == r))
                    .flat_map(|(_, v)| v.iter().cloned())
                    .collect(),
                inner.total,
            ),
            Err(_) => (Vec::new(), Vec::new(), 0),
        };
        let explain = |k: Vec<Kept>| k.into_iter().map(|k| self.explain(k)).collect();
        Page {
            refusals: explain(recent),
            valid: explain(valid),
            total,
            capacity: RECENT,
        }
    }

    fn explain(&self, k: Kept) -> Refusal {
        let headers = k.headers.map();
        let presented = Presented {
            headers: &headers,
            query: k.query.as_deref(),
            username: k.username.as_deref(),
        };
        let g = &self.gate;
        let e = explain_gate(&g.authorizers, g.default, &g.settings, &presented);
        Refusal {
            seq: k.seq,
            unix_ms: k.unix_ms,
            attempt_id: k.attempt_id,
            transport: k.route.name().to_string(),
            rule: e.rule.map_or("", |r| r.as_str()).to_string(),
            summary: super::gate::explain::summary(&e).unwrap_or_default(),
            explanation: serde_json::to_value(&e).unwrap_or_default(),
        }
    }
}

impl Inner {
    fn keep_valid(&mut self, run: String, refusal: &Kept) {
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
        let log = RefusalLog::new(authorizers(), Some(0), GateSettings::default());
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
        log.record(refuse("r1-valid-0-0"));
        for i in 0..RECENT + 3 {
            log.record(refuse(&format!("r1-forged.wrong_key-0-{i}")));
        }
        for i in 0..VALID_PER_RUN + 1 {
            log.record(refuse(&format!("r2-valid-0-{i}")));
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

    #[test]
    fn kept_headers_give_back_every_value_in_order() {
        let mut headers = HeaderMap::new();
        headers.append("x-amz-customauthorizer-name", "Auth".parse().unwrap());
        headers.append("x-token", "a".parse().unwrap());
        headers.append("x-token", "b\tc".parse().unwrap());
        headers.append("empty", HeaderValue::from_static(""));
        headers.append("x-raw", HeaderValue::from_bytes(b"\xff\x80=").unwrap());
        let back = KeptHeaders::of(&headers).map();
        assert_eq!(back, headers);
        let tokens: Vec<_> = back.get_all("x-token").iter().collect();
        assert_eq!(tokens, ["a", "b\tc"]);
        assert_eq!(KeptHeaders::of(&HeaderMap::new()).map(), HeaderMap::new());
    }
}
