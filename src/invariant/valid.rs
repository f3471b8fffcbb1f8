//! Valid attempts were allowed where the authorizer allows them: every refused valid attempt (HTTPS 403; MQTT a
//! refusing CONNACK or a close without CONNACK) must be explained by an authorizer deny in the ledger for the same
//! transport, and none may get another status (5xx, ...). Timeouts and
//! transport errors are reported but are not authorization decisions; a transport where every valid attempt
//! went unanswered leaves nothing to judge: inconclusive ([`super::unanswered`]).

use super::{Inputs, Rule, Status, Verdict, unanswered, verdict};
use crate::contract::Class;
use crate::contract::Transport;
use crate::metrics::Outcome;

pub struct ValidAllowed;

impl Rule for ValidAllowed {
    fn name(&self) -> &'static str {
        "valid_allowed"
    }

    fn check(&self, inputs: &Inputs<'_>) -> Verdict {
        let c = Class::Valid;
        let mut v = verdict(self.name(), Status::Pass, String::new());
        let Tally {
            sent,
            allowed,
            refused,
            other,
            unanswered,
            unexplained,
            unjudged,
        } = tally(inputs, &mut v);
        v.details.insert("valid_attempts".into(), sent);
        v.details.insert("allowed".into(), allowed);
        v.details.insert("refused".into(), refused);
        v.details.insert("other_status".into(), other);
        v.details
            .insert("throttled_timeout_or_transport_error".into(), unanswered);
        if let Some(l) = inputs.ledger {
            v.details
                .insert("authorizer_denied".into(), l.class(c).denied);
        }
        if unanswered > 0 {
            v.evidence.push(format!(
                "{unanswered} valid attempts throttled, timed out or failed in transport (not judged)"
            ));
        }
        let silent = unanswered::silent(inputs.recorder, &[c]);
        if other > 0 || unexplained > 0 {
            v.status = Status::Fail;
            v.summary = format!(
                "{} of {sent} valid attempts were refused without the authorizer denying them",
                other + unexplained
            );
        } else if unanswered::judge(&mut v, inputs.recorder, &silent, "valid attempt") {
            // Inconclusive: over some transport none of them was answered.
        } else if sent > 0 && allowed + refused + other == 0 {
            v.status = Status::Skipped;
            v.summary = format!(
                "none of {sent} valid attempts was answered with an authorization decision ({unanswered} throttled or never sent): nothing to judge"
            );
        } else if unjudged > 0 {
            v.status = Status::Skipped;
            v.summary = format!(
                "{unjudged} of {sent} valid attempts were refused, and no ledger says whether the authorizer denied them"
            );
        } else {
            v.summary = format!(
                "{allowed} of {sent} valid attempts allowed; {refused} denied by the authorizer; {unanswered} unanswered"
            );
        }
        v
    }
}

/// The valid attempts' answers summed over the transports.
#[derive(Default)]
struct Tally {
    sent: u64,
    allowed: u64,
    refused: u64,
    other: u64,
    /// Throttled, timed out, failed in transport or exhausted.
    unanswered: u64,
    /// Refused without an authorizer deny in the ledger.
    unexplained: u64,
    /// Refused with no ledger to say why.
    unjudged: u64,
}

/// Sums the valid attempts' answers per transport, with evidence and the ledger's denies per transport.
fn tally(inputs: &Inputs<'_>, v: &mut Verdict) -> Tally {
    let rec = inputs.recorder;
    let c = Class::Valid;
    let mut n = Tally::default();
    for t in Transport::ALL {
        let s_t = rec.started(t, c);
        if s_t == 0 {
            continue;
        }
        n.sent += s_t;
        n.allowed += rec.ended(t, c, Outcome::Allowed);
        let r_t = rec.ended_refused(t, c);
        n.refused += r_t;
        let o_t = rec.ended(t, c, Outcome::OtherStatus);
        n.other += o_t;
        n.unanswered += rec.ended(t, c, Outcome::Timeout)
            + rec.ended(t, c, Outcome::TransportError)
            + rec.ended(t, c, Outcome::Throttled)
            + rec.ended(t, c, Outcome::Exhausted);
        if o_t > 0 {
            v.evidence.push(format!(
                "{}: {o_t} valid attempts answered neither 200, 403 nor 429",
                t.as_str()
            ));
        }
        match inputs.ledger {
            Some(l) => {
                let d = l.transport_class(t, c).denied;
                v.details
                    .insert(format!("authorizer_denied_{}", t.as_str()), d);
                let u = r_t.saturating_sub(d);
                n.unexplained += u;
                if u > 0 {
                    v.evidence.push(format!(
                        "{}: {u} valid attempts refused ({}) without an authorizer deny in the ledger (the gate refused valid credentials?)",
                        t.as_str(),
                        if t.is_mqtt() { "CONNACK refused or closed without CONNACK" } else { "403" }
                    ));
                }
            }
            None => n.unjudged += r_t,
        }
    }
    n
}
