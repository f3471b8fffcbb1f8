//! The rules a run is judged by (DESIGN.md `invariant/`). Each rule looks at the merged measurements and the
//! ledger join ([`crate::join`]'s summary) and returns a [`Verdict`]: pass, fail, skipped (cannot be judged here),
//! info (reported only) or inconclusive (there were attempts to judge but none was answered: [`unanswered`]),
//! with the numbers and examples that back it.

pub mod catalogue;
pub mod conserve;
pub mod forged;
pub mod forged_count;
pub mod kept_up;
pub mod passes;
pub mod replay;
pub mod unanswered;
pub mod valid;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;

use crate::join::LedgerSummary;
use crate::metrics::Recorder;
use crate::wire::settings::GateSettings;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    /// The run cannot judge this rule (e.g. no ledger for a real AWS endpoint).
    Skipped,
    /// Reported, never a failure by itself.
    Info,
    /// The rule had something to judge but no evidence to judge it by (attempts went unanswered, the witness
    /// could not be read, a count never settled). Never a pass: the run exits 1.
    Inconclusive,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Skipped => "skipped",
            Self::Info => "info",
            Self::Inconclusive => "inconclusive",
        }
    }

    /// Whether this verdict lets the run pass (everything but `fail` and `inconclusive`).
    pub const fn holds(self) -> bool {
        !matches!(self, Self::Fail | Self::Inconclusive)
    }
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    /// A rule's stable name, or `threshold: <expr>` for a `[thresholds]` check.
    pub name: Cow<'static, str>,
    pub status: Status,
    /// One sentence, with the numbers.
    pub summary: String,
    /// The counts behind it.
    pub details: BTreeMap<String, u64>,
    /// Examples (attempt ids, mismatching classes); at most a few.
    pub evidence: Vec<String>,
}

/// What rules look at.
pub struct Inputs<'a> {
    pub recorder: &'a Recorder,
    /// `None`: no ledger could be read (a real endpoint, or an external emulator without `admin_url`).
    pub ledger: Option<&'a LedgerSummary>,
    /// How long the load ran, whole seconds (bounds MQTT re-authorizations).
    pub run_secs: u64,
    /// The gate's unconfirmed behaviours the oracle judges forged variants by.
    pub gate: GateSettings,
}

/// A rule: check → verdict.
pub trait Rule {
    fn name(&self) -> &'static str;
    fn check(&self, inputs: &Inputs<'_>) -> Verdict;
}

/// Every rule, in report order.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(forged::ForgedNeverInvoked),
        Box::new(conserve::CountsConserve),
        Box::new(valid::ValidAllowed),
        Box::new(replay::ReplayExposure),
        Box::new(passes::OraclePasses),
    ]
}

/// Runs every rule.
pub fn evaluate(inputs: &Inputs<'_>) -> Vec<Verdict> {
    rules().iter().map(|r| r.check(inputs)).collect()
}

/// True when no verdict failed or was inconclusive.
pub fn all_hold(verdicts: &[Verdict]) -> bool {
    verdicts.iter().all(|v| v.status.holds())
}

pub(crate) fn verdict(name: &'static str, status: Status, summary: String) -> Verdict {
    Verdict {
        name: Cow::Borrowed(name),
        status,
        summary,
        details: BTreeMap::new(),
        evidence: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Transport;
    use crate::contract::{Class, Forgery};
    use crate::join::LedgerRow;
    use crate::metrics::Outcome;

    fn run(rec: &Recorder, rows: Vec<LedgerRow>) -> Vec<Verdict> {
        let l = LedgerSummary::new("test", "r", rows);
        evaluate(&Inputs {
            recorder: rec,
            ledger: Some(&l),
            run_secs: 10,
            gate: GateSettings::default(),
        })
    }

    fn row(id: &str, verdict: &str) -> LedgerRow {
        LedgerRow::new(0, Some(id), verdict)
    }

    fn attempt(rec: &mut Recorder, c: Class, o: Outcome) {
        rec.start(Transport::Https, c);
        rec.end(Transport::Https, c, o, 10, 10, true);
    }

    #[test]
    fn a_clean_run_passes() {
        let mut rec = Recorder::new();
        attempt(&mut rec, Class::Valid, Outcome::Allowed);
        attempt(&mut rec, Class::Valid, Outcome::Forbidden);
        attempt(&mut rec, Class::Replayed, Outcome::Allowed);
        attempt(
            &mut rec,
            Class::Forged(Forgery::WrongKey),
            Outcome::Forbidden,
        );
        let v = run(
            &rec,
            vec![
                row("r-valid-0-0", "allow"),
                row("r-valid-1-0", "deny"),
                row("r-replayed-0-1", "allow"),
            ],
        );
        let status: Vec<_> = v.iter().map(|v| (v.name.as_ref(), v.status)).collect();
        assert_eq!(
            status,
            vec![
                ("forged_never_invoked", Status::Pass),
                ("counts_conserve", Status::Pass),
                ("valid_allowed", Status::Pass),
                ("replay_exposure", Status::Info),
                ("oracle_passes", Status::Info)
            ]
        );
        assert!(all_hold(&v));
        assert_eq!(v[3].details["replayed_invocations"], 1);
    }

    #[test]
    fn each_rule_can_fail() {
        let mut rec = Recorder::new();
        attempt(
            &mut rec,
            Class::Forged(Forgery::HexDigest),
            Outcome::Allowed,
        );
        attempt(&mut rec, Class::Valid, Outcome::Forbidden);
        rec.start(Transport::Https, Class::Valid);
        let v = run(&rec, vec![row("r-forged.hex_digest-3-9", "allow")]);
        assert_eq!(v[0].status, Status::Fail);
        assert!(
            v[0].evidence
                .iter()
                .any(|e| e.contains("r-forged.hex_digest-3-9")),
            "{:?}",
            v[0].evidence
        );
        assert_eq!(v[1].status, Status::Fail, "one valid attempt never ended");
        assert_eq!(
            v[2].status,
            Status::Fail,
            "a 403 the authorizer did not give"
        );
        assert!(!all_hold(&v));
    }

    #[test]
    fn without_a_ledger_forged_is_skipped_unless_answered_200() {
        let mut rec = Recorder::new();
        attempt(
            &mut rec,
            Class::Forged(Forgery::BitFlip),
            Outcome::Forbidden,
        );
        let v = evaluate(&Inputs {
            recorder: &rec,
            ledger: None,
            run_secs: 10,
            gate: GateSettings::default(),
        });
        assert_eq!(v[0].status, Status::Skipped);
        attempt(&mut rec, Class::Forged(Forgery::BitFlip), Outcome::Allowed);
        let v = evaluate(&Inputs {
            recorder: &rec,
            ledger: None,
            run_secs: 10,
            gate: GateSettings::default(),
        });
        assert_eq!(v[0].status, Status::Fail);
    }

    #[test]
    fn mqtt_attempts_are_judged_per_transport_through_the_ledger() {
        use crate::scenario::Groups;
        let groups = Groups::split(4, [1.0, 1.0, 1.0, 1.0]);
        let mut rec = Recorder::new();
        let m = Transport::MqttTls;
        rec.start(m, Class::Valid);
        rec.end(m, Class::Valid, Outcome::ClosedWithoutConnack, 10, 10, true);
        rec.start(Transport::Wss, Class::Forged(Forgery::BitFlip));
        rec.end(
            Transport::Wss,
            Class::Forged(Forgery::BitFlip),
            Outcome::ClosedWithoutConnack,
            10,
            10,
            true,
        );
        // Device 1 is in the mqtt_tls group: its deny explains the refused CONNECT.
        let mut l = LedgerSummary::new("test", "r", Vec::new());
        l.set_groups(groups.clone());
        l.absorb(LedgerRow::new(1, Some("r-valid-1-0"), "deny"));
        let judge = |l: &LedgerSummary| {
            evaluate(&Inputs {
                recorder: &rec,
                ledger: Some(l),
                run_secs: 10,
                gate: GateSettings::default(),
            })
        };
        let v = judge(&l);
        assert_eq!(v[0].status, Status::Pass, "{:?}", v[0]);
        assert_eq!(v[2].status, Status::Pass, "{:?}", v[2]);
        // The same deny attributed to HTTPS (device 0) leaves the MQTT refusal unexplained.
        let mut wrong = LedgerSummary::new("test", "r", Vec::new());
        wrong.set_groups(groups.clone());
        wrong.absorb(LedgerRow::new(1, Some("r-valid-0-0"), "deny"));
        let v = judge(&wrong);
        assert_eq!(v[2].status, Status::Fail, "{:?}", v[2]);
        assert!(
            v[2].evidence[0].starts_with("mqtt_tls:"),
            "{:?}",
            v[2].evidence
        );
        // A forged WSS CONNECT in the ledger (device 3) fails the run, named by transport.
        l.absorb(LedgerRow::new(2, Some("r-forged.bit_flip-3-0"), "deny"));
        let v = judge(&l);
        assert_eq!(v[0].status, Status::Fail);
        assert_eq!(v[0].details["forged_invocations_wss"], 1);
        assert!(
            v[0].evidence
                .iter()
                .any(|e| e.starts_with("wss forged.bit_flip")),
            "{:?}",
            v[0].evidence
        );
    }

    #[test]
    fn an_unreachable_target_is_inconclusive_never_judged_as_allowed() {
        use crate::metrics::{ErrorKind, Failure};
        let mut rec = Recorder::new();
        let forged = Class::Forged(Forgery::BitFlip);
        for c in [Class::Valid, Class::Valid, Class::Valid, forged] {
            rec.start(Transport::MqttTls, c);
            rec.end(Transport::MqttTls, c, Outcome::TransportError, 10, 10, true);
            rec.error(
                Transport::MqttTls,
                Failure::new(
                    ErrorKind::Connect,
                    "connect: connection refused (127.0.0.1:1)",
                ),
            );
        }
        // With a ledger (empty: nothing reached the target) and without one.
        for v in [
            run(&rec, Vec::new()),
            evaluate(&Inputs {
                recorder: &rec,
                ledger: None,
                run_secs: 10,
                gate: GateSettings::default(),
            }),
        ] {
            assert_eq!(v[0].name, "forged_never_invoked");
            assert_eq!(v[0].status, Status::Inconclusive, "{:?}", v[0]);
            assert_eq!(v[2].name, "valid_allowed");
            assert_eq!(v[2].status, Status::Inconclusive, "{:?}", v[2]);
            assert!(
                v[2].summary.contains("sent: mqtt_tls 3;"),
                "{}",
                v[2].summary
            );
            assert!(
                v[2].summary
                    .ends_with("first error: connect: connection refused (127.0.0.1:1)"),
                "{}",
                v[2].summary
            );
            assert_eq!(v[2].details["errors_connect"], 4);
            assert_eq!(v[1].status, Status::Pass, "the accounting still holds");
            assert!(!all_hold(&v));
        }
    }

    #[test]
    fn some_errors_among_answers_are_judged_on_the_answers() {
        let mut rec = Recorder::new();
        attempt(&mut rec, Class::Valid, Outcome::Allowed);
        attempt(&mut rec, Class::Valid, Outcome::Timeout);
        attempt(
            &mut rec,
            Class::Forged(Forgery::BitFlip),
            Outcome::TransportError,
        );
        attempt(
            &mut rec,
            Class::Forged(Forgery::BitFlip),
            Outcome::Forbidden,
        );
        let v = run(&rec, vec![row("r-valid-0-0", "allow")]);
        assert_eq!(v[0].status, Status::Pass, "{:?}", v[0]);
        assert_eq!(v[2].status, Status::Pass, "{:?}", v[2]);
        // A forged attempt that went unanswered while the ledger shows another reached the authorizer fails.
        let mut rec = Recorder::new();
        attempt(
            &mut rec,
            Class::Forged(Forgery::BitFlip),
            Outcome::TransportError,
        );
        let v = run(&rec, vec![row("r-forged.bit_flip-0-0", "deny")]);
        assert_eq!(v[0].status, Status::Fail, "{:?}", v[0]);
    }
}
