//! One attempt on the wire: reuse the device's keep-alive connection (reconnecting when it closed), send the
//! prepared request, read the whole response, and turn whatever happened into an [`Outcome`]. Never an error:
//! an unanswered attempt comes back with the [`Failure`] that says why (allocated only then).

use std::time::Duration;

use super::connect::{Connector, Sender};
use crate::metrics::{Failure, Outcome};

/// What one attempt came to: the connection to keep (None: it is gone), the outcome, and why it went
/// unanswered (`transport_error` and `timeout` only).
pub type Exchanged = (Option<Sender>, Outcome, Option<Failure>);

/// Runs one attempt (`request`: its bytes, [`super::RequestBook::wire`]) within `timeout`.
pub async fn exchange(
    connector: &Connector,
    conn: Option<Sender>,
    request: Vec<u8>,
    timeout: Duration,
) -> Exchanged {
    match tokio::time::timeout(timeout, send(connector, conn, &request)).await {
        Ok(done) => done,
        Err(_) => (None, Outcome::Timeout, Some(Failure::timeout(timeout))),
    }
}

async fn send(connector: &Connector, conn: Option<Sender>, request: &[u8]) -> Exchanged {
    let failed = |f: Failure| (None, Outcome::TransportError, Some(f));
    let kept = conn.and_then(|mut c| c.reusable().then_some(c));
    let mut conn = match kept {
        Some(c) => c,
        None => match connector.connect().await {
            Ok(c) => c,
            Err(f) => return failed(f),
        },
    };
    match conn.exchange(request).await {
        Ok(a) => (
            a.keep_alive.then_some(conn),
            Outcome::from_status(a.status),
            None,
        ),
        Err(f) => failed(f),
    }
}
