//! Valid attempts were allowed where the authorizer allows them: every valid attempt answered 403 must be
//! explained by an authorizer deny in the ledger, and none may get another status (5xx, ...). Timeouts and
//! transport errors are reported but are not authorization decisions.

use super::{Inputs, Rule, Status, Verdict, verdict};
use crate::attempt::Class;
use crate::metrics::{Outcome, Transport};

pub struct ValidAllowed;

impl Rule for ValidAllowed {
    fn name(&self) -> &'static str {
        "valid_allowed"
    }

    fn check(&self, inputs: &Inputs<'_>) -> Verdict {
        let rec = inputs.recorder;
        let (t, c) = (Transport::Https, Class::Valid);
        let sent = rec.started(t, c);
        let allowed = rec.ended(t, c, Outcome::Allowed);
        let forbidden = rec.ended(t, c, Outcome::Forbidden);
        let other = rec.ended(t, c, Outcome::OtherStatus);
        let unanswered = rec.ended(t, c, Outcome::Timeout)
            + rec.ended(t, c, Outcome::TransportError)
            + rec.ended(t, c, Outcome::Throttled);
        let mut v = verdict(self.name(), Status::Pass, String::new());
        v.details.insert("valid_attempts".into(), sent);
        v.details.insert("allowed".into(), allowed);
        v.details.insert("forbidden".into(), forbidden);
        v.details.insert("other_status".into(), other);
        v.details
            .insert("throttled_timeout_or_transport_error".into(), unanswered);
        let denied = inputs.ledger.map(|l| l.class(c).denied);
        if let Some(d) = denied {
            v.details.insert("authorizer_denied".into(), d);
        }
        let unexplained = match denied {
            Some(d) => forbidden.saturating_sub(d),
            None => 0,
        };
        if other > 0 {
            v.evidence.push(format!(
                "{other} valid attempts answered neither 200, 403 nor 429"
            ));
        }
        if unexplained > 0 {
            v.evidence.push(format!(
                "{unexplained} valid attempts answered 403 without an authorizer deny in the ledger (the gate refused valid credentials?)"
            ));
        }
        if unanswered > 0 {
            v.evidence.push(format!("{unanswered} valid attempts throttled, timed out or failed in transport (not judged)"));
        }
        if other > 0 || unexplained > 0 {
            v.status = Status::Fail;
            v.summary = format!(
                "{} of {sent} valid attempts were refused without the authorizer denying them",
                other + unexplained
            );
        } else if denied.is_none() && forbidden > 0 {
            v.status = Status::Skipped;
            v.summary = format!(
                "{forbidden} of {sent} valid attempts answered 403, and no ledger says whether the authorizer denied them"
            );
        } else {
            v.summary = format!(
                "{allowed} of {sent} valid attempts allowed; {forbidden} denied by the authorizer; {unanswered} unanswered"
            );
        }
        v
    }
}
