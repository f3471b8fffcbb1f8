//! No forged attempt reached the authorizer, over any transport: the ledger shows no invocation for a forged
//! attempt id (HTTPS: the attempt header; MQTT and WSS: the `ts-<id>` free text of the CONNECT username), and no
//! forged attempt was answered 200 or CONNACK 0 (which only the authorizer can grant). A join that missed ledger entries (evicted
//! before they were read) fails too: a run that could not be fully judged never passes. Forged attempts sent
//! over a transport where none was answered (transport errors, timeouts) make it inconclusive, with or without
//! a ledger: an empty ledger proves nothing about attempts that never reached the target.
//!
//! "Forged" here means the variants the oracle expects the gate to refuse under the run's gate settings; the few
//! that pass under them (e.g. `duplicated_token` where the first value counts) are judged by
//! [`super::passes::OraclePasses`].

use super::{Inputs, Rule, Status, Verdict, unanswered, verdict};
use crate::attempt::oracle::must_be_refused;
use crate::contract::Class;
use crate::contract::Transport;
use crate::join::LedgerSummary;
use crate::metrics::Outcome;
use crate::metrics::recorder::Recorder;

pub struct ForgedNeverInvoked;

impl Rule for ForgedNeverInvoked {
    fn name(&self) -> &'static str {
        "forged_never_invoked"
    }

    fn check(&self, inputs: &Inputs<'_>) -> Verdict {
        let forged: Vec<Class> = Class::ALL
            .into_iter()
            .filter(|c| must_be_refused(*c, &inputs.gate))
            .collect();
        let mut v = verdict(self.name(), Status::Pass, String::new());
        let (sent, allowed) = count_answers(inputs.recorder, &forged, &mut v);
        v.details.insert("forged_attempts".into(), sent);
        v.details.insert("forged_allowed".into(), allowed);
        match inputs.ledger {
            Some(l) => {
                let invoked = record_invocations(l, &forged, &mut v);
                if invoked > 0 || allowed > 0 {
                    // Attempts and invocations apart: a forged session let in is refreshed, invoking again.
                    let reached: u64 = forged.iter().map(|&c| l.class(c).reached()).sum();
                    v.details.insert("forged_reached".into(), reached);
                    v.status = Status::Fail;
                    v.summary = format!(
                        "{reached} of {sent} forged attempts reached the authorizer ({invoked} invocations, refreshes included; {allowed} attempts answered 200 / CONNACK 0): the signature gate let forged credentials through"
                    );
                    if l.missed > 0 {
                        v.evidence.push(missed_evidence(l));
                    }
                } else if l.missed > 0 {
                    v.status = Status::Fail;
                    v.summary = format!(
                        "cannot tell whether forged attempts reached the authorizer: {} ledger entries were evicted before they were joined ({} joined)",
                        l.missed, l.total
                    );
                    v.evidence.push(missed_evidence(l));
                } else {
                    v.summary = format!(
                        "none of {sent} forged attempts the gate must refuse reached the authorizer (ledger: {})",
                        l.source
                    );
                }
            }
            None if allowed > 0 => {
                v.status = Status::Fail;
                v.summary = format!(
                    "{allowed} of {sent} forged attempts were answered 200 / CONNACK 0, so they reached the authorizer (or the target checks no signature)"
                );
            }
            None => {
                v.status = Status::Skipped;
                v.summary = format!(
                    "no ledger to join (set target.admin_url for an external emulator); none of {sent} forged attempts was answered 200 / CONNACK 0"
                );
            }
        }
        // A ledger that saw nothing of attempts that never reached the target proves nothing either.
        let silent = unanswered::silent(inputs.recorder, &forged);
        unanswered::judge(&mut v, inputs.recorder, &silent, "forged attempt");
        v
    }
}

/// A configured ledger that could not be read leaves nothing to judge the invocations by: a verdict that would
/// pass or be skipped becomes inconclusive with the reason (a failure, proven by the answers alone, stays).
pub fn unreadable_ledger(v: &mut Verdict, why: &str) {
    if matches!(v.status, Status::Pass | Status::Skipped) {
        v.status = Status::Inconclusive;
        v.summary = format!(
            "cannot tell whether forged attempts reached the authorizer: {why} (fix target.admin_url or the emulator's admin listener)"
        );
        v.evidence.insert(0, why.to_string());
    }
}

/// Counts the forged attempts sent and those answered as allowed, with evidence per transport and class.
fn count_answers(rec: &Recorder, forged: &[Class], v: &mut Verdict) -> (u64, u64) {
    let mut sent = 0;
    let mut allowed = 0;
    for t in Transport::ALL {
        for &c in forged {
            sent += rec.started(t, c);
            let a = rec.ended(t, c, Outcome::Allowed);
            allowed += a;
            if a > 0 {
                v.evidence.push(format!(
                    "{} {}: {a} attempts answered {}",
                    t.as_str(),
                    c.label(),
                    if t.is_mqtt() { "CONNACK 0" } else { "200" }
                ));
            }
        }
    }
    (sent, allowed)
}

/// Records the ledger's forged invocations (total, per transport, per class, examples); returns the total.
fn record_invocations(l: &LedgerSummary, forged: &[Class], v: &mut Verdict) -> u64 {
    let invoked = l.forged();
    v.details.insert("forged_invocations".into(), invoked);
    v.details.insert("ledger_joined".into(), l.total);
    v.details.insert("ledger_missed".into(), l.missed);
    for t in Transport::ALL {
        let n: u64 = forged
            .iter()
            .map(|&c| l.transport_class(t, c).invocations)
            .sum();
        if n > 0 {
            v.details
                .insert(format!("forged_invocations_{}", t.as_str()), n);
        }
        for &c in forged {
            let n = l.transport_class(t, c).invocations;
            if n > 0 {
                v.evidence.push(format!(
                    "{} {}: {n} authorizer invocations",
                    t.as_str(),
                    c.label()
                ));
            }
        }
    }
    v.evidence
        .extend(l.forged_examples.iter().map(|id| format!("invoked: {id}")));
    invoked
}

/// Which entries were missed and which setting to raise (the witness's remedy).
fn missed_evidence(l: &LedgerSummary) -> String {
    format!(
        "ledger {}: {} entries after seq {} were evicted before the run joined them; {} (the run drains the ledger every {} ms)",
        l.source,
        l.missed,
        l.start_seq,
        l.remedy,
        crate::join::EVERY.as_millis()
    )
}
