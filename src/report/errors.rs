//! The report's `errors[]`: why attempts went unanswered, one row per [`ErrorKind`] that occurred (most
//! frequent first), with the first message of that kind, the transport it came from, and the count per
//! transport. Empty on a clean run.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::contract::Transport;
use crate::metrics::{ErrorKind, Recorder};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorRow {
    /// `dns`, `connect`, `tls`, `websocket`, `http`, `mqtt`, `closed` or `timeout`.
    pub kind: String,
    /// Attempts that ended `transport_error` (or `timeout`, for kind `timeout`) for this reason.
    pub count: u64,
    /// The earliest failure of this kind, e.g. `TLS: invalid peer certificate: UnknownIssuer`.
    pub first_message: String,
    /// The transport of that first failure.
    pub first_transport: String,
    /// The count per transport (only transports with at least one).
    pub transports: BTreeMap<String, u64>,
}

/// One row per kind with at least one failure, most frequent first (ties in kind order).
pub fn error_rows(rec: &Recorder) -> Vec<ErrorRow> {
    let e = rec.errors();
    let mut rows: Vec<ErrorRow> = ErrorKind::ALL
        .into_iter()
        .filter_map(|k| {
            let count = e.kind_total(k);
            let first = e.first(k)?;
            (count > 0).then(|| ErrorRow {
                kind: k.as_str().into(),
                count,
                first_message: first.message.clone(),
                first_transport: first.transport.as_str().into(),
                transports: Transport::ALL
                    .into_iter()
                    .filter(|&t| e.count(t, k) > 0)
                    .map(|t| (t.as_str().to_string(), e.count(t, k)))
                    .collect(),
            })
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.count));
    rows
}

/// The kinds of `transport_error` seen over `transport` (timeouts have their own outcome), most frequent first:
/// what the terminal's results table shows beside `transport_error`.
pub fn transport_error_kinds(rows: &[ErrorRow], transport: &str) -> Vec<String> {
    rows.iter()
        .filter(|r| r.kind != ErrorKind::Timeout.as_str() && r.transports.contains_key(transport))
        .map(|r| r.kind.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Failure;

    #[test]
    fn rows_per_kind_most_frequent_first_with_transports() {
        let mut rec = Recorder::new();
        assert!(error_rows(&rec).is_empty(), "a clean run has no rows");
        rec.error(
            Transport::MqttTls,
            Failure::new(ErrorKind::Connect, "connect: a"),
        );
        for _ in 0..2 {
            rec.error(Transport::Https, Failure::new(ErrorKind::Tls, "TLS: x"));
        }
        rec.error(Transport::Wss, Failure::new(ErrorKind::Tls, "TLS: y"));
        rec.error(
            Transport::Https,
            Failure::timeout(std::time::Duration::from_secs(1)),
        );
        let rows = error_rows(&rec);
        let kinds: Vec<_> = rows.iter().map(|r| (r.kind.as_str(), r.count)).collect();
        assert_eq!(kinds, [("tls", 3), ("connect", 1), ("timeout", 1)]);
        assert_eq!(rows[0].first_message, "TLS: x");
        assert_eq!(rows[0].first_transport, "https");
        assert_eq!(rows[0].transports["https"], 2);
        assert_eq!(rows[0].transports["wss"], 1);
        assert_eq!(transport_error_kinds(&rows, "https"), ["tls"]);
        assert_eq!(transport_error_kinds(&rows, "mqtt_tls"), ["connect"]);
    }
}
