//! One attempt on the wire: reuse the device's keep-alive connection (reconnecting when it closed), send the
//! prepared request, read the whole response, and turn whatever happened into an [`Outcome`]. Never an error:
//! an unanswered attempt comes back with the [`Failure`] that says why (allocated only then).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;

use super::connect::{Connector, Sender};
use crate::metrics::{ErrorKind, Failure, Outcome};

/// What one attempt came to: the connection to keep (None: it is gone), the outcome, and why it went
/// unanswered (`transport_error` and `timeout` only).
pub type Exchanged = (Option<Sender>, Outcome, Option<Failure>);

/// Runs one attempt within `timeout`.
pub async fn exchange(
    connector: &Connector,
    conn: Option<Sender>,
    req: Request<Full<Bytes>>,
    timeout: Duration,
) -> Exchanged {
    match tokio::time::timeout(timeout, send(connector, conn, req)).await {
        Ok(done) => done,
        Err(_) => (None, Outcome::Timeout, Some(Failure::timeout(timeout))),
    }
}

async fn send(connector: &Connector, conn: Option<Sender>, req: Request<Full<Bytes>>) -> Exchanged {
    let failed = |f: Failure| (None, Outcome::TransportError, Some(f));
    let mut sender = match usable(conn).await {
        Some(s) => s,
        None => match connector.connect().await {
            Ok(s) => s,
            Err(f) => return failed(f),
        },
    };
    if sender.ready().await.is_err() {
        return failed(Failure::closed("before the request"));
    }
    let resp = match sender.send_request(req).await {
        Ok(r) => r,
        Err(e) => return failed(hyper_failure(&e, "before the response")),
    };
    let status = resp.status().as_u16();
    if let Err(e) = resp.into_body().collect().await {
        return failed(hyper_failure(&e, "during the response body"));
    }
    let keep = (!sender.is_closed()).then_some(sender);
    (keep, Outcome::from_status(status), None)
}

/// A hyper error as a failure: the peer closing or resetting the connection is `closed`, anything else `http`.
pub fn hyper_failure(e: &hyper::Error, when: &str) -> Failure {
    let io_kind = std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .map(std::io::Error::kind);
    use std::io::ErrorKind as K;
    let closed = e.is_incomplete_message()
        || e.is_canceled()
        || e.is_closed()
        || matches!(
            io_kind,
            Some(K::ConnectionReset | K::UnexpectedEof | K::BrokenPipe | K::ConnectionAborted)
        );
    if closed {
        Failure::closed(when)
    } else {
        Failure::new(ErrorKind::Http, format!("HTTP: {e}"))
    }
}

/// The kept connection, if it is still open and ready for a request.
async fn usable(conn: Option<Sender>) -> Option<Sender> {
    let mut s = conn?;
    if s.is_closed() {
        return None;
    }
    s.ready().await.ok()?;
    Some(s)
}
