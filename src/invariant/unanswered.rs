//! "Nothing judged never passes": a rule whose attempts over some transport were sent but none was answered
//! (every one ended `transport_error` or `timeout`) has nothing to judge there, so it is
//! [`Status::Inconclusive`] unless it already failed. Some errors among answered attempts do not make it so:
//! a transport with at least one answer is judged on its answers, and the errors are reported beside them
//! (`errors[]`, the results table). Attempts never sent (`exhausted`) are neither answered nor unanswered.
//!
//! The evidence gives the unanswered counts by error kind and each kind's first message, the details
//! `errors_<kind>` counts (over the whole run: the recorder keeps kinds per transport, not per class).

use super::{Status, Verdict};
use crate::contract::{Class, Transport};
use crate::metrics::{ErrorKind, Outcome, Recorder};

/// One transport where attempts of a rule's classes were sent and none was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Silent {
    pub transport: Transport,
    /// Attempts sent (started, minus those with nothing to send).
    pub sent: u64,
}

/// The transports over which `classes` had attempts sent and every one went unanswered.
pub fn silent(rec: &Recorder, classes: &[Class]) -> Vec<Silent> {
    Transport::ALL
        .into_iter()
        .filter_map(|t| {
            let (mut sent, mut unanswered) = (0, 0);
            for &c in classes {
                sent += rec
                    .started(t, c)
                    .saturating_sub(rec.ended(t, c, Outcome::Exhausted));
                unanswered +=
                    rec.ended(t, c, Outcome::TransportError) + rec.ended(t, c, Outcome::Timeout);
            }
            (sent > 0 && unanswered >= sent).then_some(Silent { transport: t, sent })
        })
        .collect()
}

/// When `silent` is not empty and `v` did not fail: makes `v` inconclusive, saying what went unanswered and
/// why (`what`: the attempts' name, singular, e.g. "forged attempt"). Returns whether it did.
pub fn judge(v: &mut Verdict, rec: &Recorder, silent: &[Silent], what: &str) -> bool {
    if silent.is_empty() || v.status == Status::Fail {
        return false;
    }
    let e = rec.errors();
    let mut kinds_seen: Vec<ErrorKind> = Vec::new();
    let mut parts = Vec::new();
    for s in silent {
        let kinds: Vec<String> = ErrorKind::ALL
            .into_iter()
            .filter(|&k| e.count(s.transport, k) > 0)
            .map(|k| {
                if !kinds_seen.contains(&k) {
                    kinds_seen.push(k);
                }
                format!("{} {}", e.count(s.transport, k), k.as_str())
            })
            .collect();
        parts.push(format!("{} {}", s.transport.as_str(), s.sent));
        v.evidence.insert(
            parts.len() - 1,
            format!(
                "{t}: {} sent, none answered; errors over {t}: {}",
                s.sent,
                kinds.join(", "),
                t = s.transport.as_str(),
            ),
        );
    }
    let mut at = silent.len();
    for k in &kinds_seen {
        if let Some(f) = e.first(*k) {
            v.evidence
                .insert(at, format!("first {} error: {}", k.as_str(), f.message));
            at += 1;
        }
    }
    add_error_details(v, rec);
    let first = kinds_seen
        .iter()
        .filter_map(|&k| e.first(k))
        .min_by_key(|f| f.at)
        .map(|f| format!("; first error: {}", f.message))
        .unwrap_or_default();
    v.status = Status::Inconclusive;
    v.summary = format!(
        "nothing to judge: no {what} was answered (sent: {}; transport errors or timeouts){first}",
        parts.join(", ")
    );
    true
}

/// `errors_<kind>` details: the run's unanswered attempts by kind.
pub fn add_error_details(v: &mut Verdict, rec: &Recorder) {
    for k in ErrorKind::ALL {
        let n = rec.errors().kind_total(k);
        if n > 0 {
            v.details.insert(format!("errors_{}", k.as_str()), n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invariant::verdict;
    use crate::metrics::Failure;

    fn ended(rec: &mut Recorder, t: Transport, o: Outcome, n: u64) {
        for _ in 0..n {
            rec.start(t, Class::Valid);
            rec.end(t, Class::Valid, o, 1, 1, true);
        }
    }

    #[test]
    fn a_transport_with_no_answer_is_silent_and_one_answer_is_enough() {
        let mut rec = Recorder::new();
        ended(&mut rec, Transport::Https, Outcome::TransportError, 3);
        ended(&mut rec, Transport::Https, Outcome::Exhausted, 2);
        ended(&mut rec, Transport::MqttTls, Outcome::Timeout, 5);
        ended(&mut rec, Transport::MqttTls, Outcome::Allowed, 1);
        ended(&mut rec, Transport::Wss, Outcome::Exhausted, 4);
        let s = silent(&rec, &[Class::Valid]);
        assert_eq!(
            s,
            [Silent {
                transport: Transport::Https,
                sent: 3
            }],
            "exhausted attempts were never sent; one answer over mqtt_tls is enough"
        );
        assert!(silent(&rec, &[Class::Replayed]).is_empty());
    }

    #[test]
    fn inconclusive_names_the_kinds_and_the_first_message_but_never_hides_a_failure() {
        let mut rec = Recorder::new();
        ended(&mut rec, Transport::Https, Outcome::TransportError, 2);
        for _ in 0..2 {
            rec.error(
                Transport::Https,
                Failure::new(
                    ErrorKind::Tls,
                    "TLS: invalid peer certificate: UnknownIssuer",
                ),
            );
        }
        let s = silent(&rec, &[Class::Valid]);
        let mut v = verdict("r", Status::Pass, String::new());
        assert!(judge(&mut v, &rec, &s, "valid attempt"));
        assert_eq!(v.status, Status::Inconclusive);
        assert!(
            v.summary
                .contains("no valid attempt was answered (sent: https 2;"),
            "{}",
            v.summary
        );
        assert!(
            v.summary
                .ends_with("first error: TLS: invalid peer certificate: UnknownIssuer")
        );
        assert_eq!(
            v.evidence[0],
            "https: 2 sent, none answered; errors over https: 2 tls"
        );
        assert_eq!(
            v.evidence[1],
            "first tls error: TLS: invalid peer certificate: UnknownIssuer"
        );
        assert_eq!(v.details["errors_tls"], 2);
        let mut failed = verdict("r", Status::Fail, "x".into());
        assert!(!judge(&mut failed, &rec, &s, "valid attempt"));
        assert_eq!(failed.status, Status::Fail);
    }
}
