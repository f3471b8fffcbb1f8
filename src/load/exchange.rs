//! One attempt on the wire: reuse the device's keep-alive connection (reconnecting when it closed), send the
//! prepared request, read the whole response, and turn whatever happened into an [`Outcome`]. Never an error:
//! an unanswered attempt comes back with the [`Failure`] that says why (allocated only then).

use std::time::Duration;

use super::connect::{Connector, Sender, TlsConfig};
use crate::metrics::{Failure, Outcome};

/// What one attempt came to: the connection to keep (None: it is gone), the outcome, and why it went
/// unanswered (`transport_error` and `timeout` only).
pub type Exchanged = (Option<Sender>, Outcome, Option<Failure>);

/// Runs one attempt (`request`: its bytes, [`super::RequestBook::wire`]) within `timeout`.
/// A new connection goes through the device's own TLS configuration (`own_tls`, `[tls] resumption`) when it
/// has one.
pub async fn exchange(
    connector: &Connector,
    own_tls: Option<TlsConfig>,
    conn: Option<Sender>,
    request: Vec<u8>,
    timeout: Duration,
) -> Exchanged {
    match tokio::time::timeout(timeout, send(connector, own_tls, conn, &request)).await {
        Ok(done) => done,
        Err(_) => (None, Outcome::Timeout, Some(Failure::timeout(timeout))),
    }
}

async fn send(
    connector: &Connector,
    own_tls: Option<TlsConfig>,
    conn: Option<Sender>,
    request: &[u8],
) -> Exchanged {
    let failed = |f: Failure| (None, Outcome::TransportError, Some(f));
    let kept = conn.and_then(|mut c| c.reusable().then_some(c));
    let mut conn = match kept {
        Some(c) => c,
        // Boxed: a TLS handshake's future holds a whole connection by value (kilobytes), and left inline it would
        // make every attempt's task that large, copied in and out of the task on every attempt.
        None => match Box::pin(connector.connect_with(own_tls.as_ref())).await {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// An attempt's future stays small (what an attempt task copies in and out), whatever a handshake holds.
    #[test]
    fn an_attempt_s_future_is_small() {
        let c = Connector::new(
            "127.0.0.1:1".parse().unwrap(),
            "localhost",
            None,
            false,
            false,
        )
        .unwrap();
        let f = exchange(&c, None, None, Vec::new(), Duration::from_secs(1));
        let size = std::mem::size_of_val(&f);
        assert!(size < 1024, "{size} bytes");
    }
}
