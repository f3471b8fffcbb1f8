//! Replay exposure (spec §8): a captured pair passes the gate from any client, so replays reach the authorizer
//! and are billed. Reported, never a failure by itself; proving that an authorizer denies replays is a scenario
//! with a replay-resistant function.

use super::{Inputs, Rule, Status, Verdict, verdict};
use crate::attempt::Class;
use crate::metrics::{Outcome, Transport};

pub struct ReplayExposure;

impl Rule for ReplayExposure {
    fn name(&self) -> &'static str {
        "replay_exposure"
    }

    fn check(&self, inputs: &Inputs<'_>) -> Verdict {
        let rec = inputs.recorder;
        let c = Class::Replayed;
        let sent: u64 = Transport::ALL.into_iter().map(|t| rec.started(t, c)).sum();
        let allowed: u64 = Transport::ALL
            .into_iter()
            .map(|t| rec.ended(t, c, Outcome::Allowed))
            .sum();
        let mut v = verdict(self.name(), Status::Info, String::new());
        v.details.insert("replayed_attempts".into(), sent);
        v.details.insert("replayed_allowed".into(), allowed);
        match inputs.ledger {
            Some(l) => {
                let inv = l.class(c);
                v.details
                    .insert("replayed_invocations".into(), inv.invocations);
                v.details
                    .insert("replayed_denied_by_authorizer".into(), inv.denied);
                v.summary = format!(
                    "{} of {sent} replayed attempts reached the authorizer (billed invocations); {allowed} were allowed",
                    inv.invocations
                );
            }
            None => {
                v.summary = format!(
                    "{allowed} of {sent} replayed attempts were allowed (no ledger for invocations)"
                )
            }
        }
        v
    }
}
