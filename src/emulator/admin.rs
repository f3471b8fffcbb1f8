//! The admin listener: `GET /metrics` (Prometheus text), `GET /ledger[?since=SEQ][&limit=N]`,
//! `GET /refusals[?limit=N][&run=ID]` (the gate's refusals with their explanations, newest first, and the first refusals
//! of valid attempts: [`super::refusals`]), `GET /peers` (per listener, the connections accepted from each source address: [`super::peers`]), `GET /healthz`
//! and `POST /storm`. Plain HTTP; bind it to loopback.
//!
//! `/ledger` answers `{"entries":[...],"missed":M,"first_seq":F,"last_seq":L,"next_seq":L+1,"evicted":E,
//! "capacity":C}`: the held entries with `seq > SEQ` (at most N, oldest first); `missed`, how many entries with
//! `seq > SEQ` were already evicted (the ledger keeps only the last C); `first_seq`, the oldest seq held;
//! `last_seq`, the newest seq recorded (0: none); `evicted`, entries evicted so far (seqs `1..=E`).
//! Page with `since` = the last seq you got; `limit=0` just reads the counters. `/metrics` also carries
//! `tokenstorm_ledger_entries`, `_capacity`, `_recorded_total` and `_evicted_total`.
//!
//! `POST /storm` drops every MQTT session open now, at once (a network or host failure as the devices see it:
//! the connections just close), and answers `{"dropped":N}`; the devices' reconnects are the point.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

use super::Shared;
use super::reply;
use crate::wire::query::parse_pairs;

pub(crate) async fn handle(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if !matches!(
        path,
        "/metrics" | "/ledger" | "/refusals" | "/peers" | "/healthz" | "/storm"
    ) {
        return reply::not_found();
    }
    if path == "/storm" {
        if req.method() != Method::POST {
            return reply::method_not_allowed("POST");
        }
        let dropped = super::mqtt::broker::storm(&shared.broker, &shared.metrics);
        return reply::json(StatusCode::OK, format!(r#"{{"dropped":{dropped}}}"#));
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply::method_not_allowed("GET");
    }
    match path {
        "/metrics" => reply::with_type(
            StatusCode::OK,
            crate::metrics::prometheus::CONTENT_TYPE,
            shared.metrics.render_prometheus()
                + &shared.function_metrics.render_prometheus()
                + &ledger_metrics(&shared.ledger),
        ),
        "/peers" => reply::json(StatusCode::OK, shared.peers.to_json()),
        "/ledger" => {
            let pairs = req.uri().query().map(parse_pairs).unwrap_or_default();
            let (since, limit) = match (number(&pairs, "since"), number(&pairs, "limit")) {
                (Ok(since), Ok(limit)) => (since.unwrap_or(0), limit),
                (Err(field), _) | (_, Err(field)) => {
                    let msg = format!("{field} must be a non-negative integer");
                    return reply::message(StatusCode::BAD_REQUEST, &msg);
                }
            };
            let limit = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
            let page = shared.ledger.page(since, limit);
            match serde_json::to_string(&page) {
                Ok(body) => reply::json(StatusCode::OK, body),
                Err(e) => reply::message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        "/refusals" => {
            let pairs = req.uri().query().map(parse_pairs).unwrap_or_default();
            let limit = match number(&pairs, "limit") {
                Ok(l) => l.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX)),
                Err(field) => {
                    let msg = format!("{field} must be a non-negative integer");
                    return reply::message(StatusCode::BAD_REQUEST, &msg);
                }
            };
            let run = pairs
                .iter()
                .find(|(k, _)| k == "run")
                .map(|(_, v)| v.as_str());
            match serde_json::to_string(&shared.refusals.page(limit, run)) {
                Ok(body) => reply::json(StatusCode::OK, body),
                Err(e) => reply::message(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        _ => reply::json(StatusCode::OK, r#"{"status":"ok"}"#.to_string()),
    }
}

/// The ledger's size and totals, in Prometheus text.
fn ledger_metrics(ledger: &super::Ledger) -> String {
    let counts = ledger.page(u64::MAX, 0);
    let held = counts.next_seq - counts.first_seq;
    [
        ("ledger_entries", "gauge", "Invocation-ledger entries held now.", held),
        ("ledger_capacity", "gauge", "Invocation-ledger entries kept at most (--ledger-capacity).", counts.capacity as u64),
        ("ledger_recorded_total", "counter", "Invocation-ledger entries ever recorded.", counts.last_seq),
        ("ledger_evicted_total", "counter", "Invocation-ledger entries evicted to stay within the capacity.", counts.evicted),
    ]
    .iter()
    .map(|(name, kind, help, value)| {
        format!("# HELP tokenstorm_{name} {help}\n# TYPE tokenstorm_{name} {kind}\ntokenstorm_{name} {value}\n")
    })
    .collect()
}

/// An optional non-negative integer query parameter; `Err(name)` when present but not a number.
fn number<'a>(pairs: &[(String, String)], name: &'a str) -> Result<Option<u64>, &'a str> {
    match pairs.iter().find(|(k, _)| k == name) {
        None => Ok(None),
        Some((_, v)) => v.parse().map(Some).map_err(|_| name),
    }
}
