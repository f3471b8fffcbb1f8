//! One attempt on the wire: reuse the device's keep-alive connection (reconnecting when it closed), send the
//! prepared request, read the whole response, and turn whatever happened into an [`Outcome`]. Never an error.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;

use super::connect::{Connector, Sender};
use crate::metrics::Outcome;

/// Runs one attempt within `timeout`. Returns the connection to keep (None: it is gone) and the outcome.
pub async fn exchange(
    connector: &Connector,
    conn: Option<Sender>,
    req: Request<Full<Bytes>>,
    timeout: Duration,
) -> (Option<Sender>, Outcome) {
    match tokio::time::timeout(timeout, send(connector, conn, req)).await {
        Ok(done) => done,
        Err(_) => (None, Outcome::Timeout),
    }
}

async fn send(
    connector: &Connector,
    conn: Option<Sender>,
    req: Request<Full<Bytes>>,
) -> (Option<Sender>, Outcome) {
    let mut sender = match usable(conn).await {
        Some(s) => s,
        None => match connector.connect().await {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!("connect failed: {e:#}");
                return (None, Outcome::TransportError);
            }
        },
    };
    if sender.ready().await.is_err() {
        return (None, Outcome::TransportError);
    }
    let resp = match sender.send_request(req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!("request failed: {e}");
            return (None, Outcome::TransportError);
        }
    };
    let status = resp.status().as_u16();
    if resp.into_body().collect().await.is_err() {
        return (None, Outcome::TransportError);
    }
    let keep = (!sender.is_closed()).then_some(sender);
    (keep, Outcome::from_status(status))
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
