//! The admin listener: `GET /metrics` (Prometheus text), `GET /ledger[?since=SEQ]` (`{"entries":[...]}`, the
//! entries with `seq > SEQ`) and `GET /healthz`. Plain HTTP; bind it to loopback.

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
            let since = match pairs.iter().find(|(k, _)| k == "since") {
                None => 0,
                Some((_, v)) => match v.parse::<u64>() {
                    Ok(n) => n,
                    Err(_) => {
                        return reply::message(
                            StatusCode::BAD_REQUEST,
                            "since must be a non-negative integer",
                        );
                    }
                },
            };
            let body = serde_json::json!({ "entries": shared.ledger.since(since) });
            reply::json(StatusCode::OK, body.to_string())
        }
        _ => reply::json(StatusCode::OK, r#"{"status":"ok"}"#.to_string()),
    }
}
