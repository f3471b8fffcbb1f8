//! The admin listener: `GET /metrics` (Prometheus text), `GET /ledger[?since=SEQ][&limit=N]`
//! (`{"entries":[...]}`: the entries with `seq > SEQ`, at most N of them, oldest first) and `GET /healthz`. Plain HTTP; bind it to loopback.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

use super::Shared;
use super::reply;
use crate::wire::query::parse_pairs;

pub(crate) async fn handle(req: Request<Incoming>, shared: &Shared) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    if !matches!(path, "/metrics" | "/ledger" | "/healthz") {
        return reply::not_found();
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply::method_not_allowed("GET");
    }
    match path {
        "/metrics" => reply::with_type(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            shared.metrics.render_prometheus(),
        ),
        "/ledger" => {
            let pairs = req.uri().query().map(parse_pairs).unwrap_or_default();
            let (since, limit) = match (number(&pairs, "since"), number(&pairs, "limit")) {
                (Ok(since), Ok(limit)) => (since.unwrap_or(0), limit),
                (Err(field), _) | (_, Err(field)) => {
                    let msg = format!("{field} must be a non-negative integer");
                    return reply::message(StatusCode::BAD_REQUEST, &msg);
                }
            };
            let mut entries = shared.ledger.since(since);
            if let Some(limit) = limit {
                entries.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            }
            let body = serde_json::json!({ "entries": entries });
            reply::json(StatusCode::OK, body.to_string())
        }
        _ => reply::json(StatusCode::OK, r#"{"status":"ok"}"#.to_string()),
    }
}

/// An optional non-negative integer query parameter; `Err(name)` when present but not a number.
fn number<'a>(pairs: &[(String, String)], name: &'a str) -> Result<Option<u64>, &'a str> {
    match pairs.iter().find(|(k, _)| k == name) {
        None => Ok(None),
        Some((_, v)) => v.parse().map(Some).map_err(|_| name),
    }
}
