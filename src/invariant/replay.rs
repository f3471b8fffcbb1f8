//! Replay exposure (spec §8): a captured pair passes the gate from any client, so replays reach the authorizer
//! and are billed. Reported, never a failure by itself; proving that an authorizer denies replays is a scenario
//! with a replay-resistant function.

use super::{Inputs, Rule, Status, Verdict, verdict};
use crate::contract::Class;
use crate::contract::Transport;
use crate::metrics::Outcome;

pub struct ReplayExposure;

impl Rule for ReplayExposure {
    fn name(&self) -> &'static str {
        "replay_exposure"
    }

    fn check(&self, inputs: &Inputs<'_>) -> Verdict {
        let rec = inputs.recorder;
        let replays = || Class::ALL.into_iter().filter(|c| c.is_replay());
        let sent_of =
            |c: Class| -> u64 { Transport::ALL.into_iter().map(|t| rec.started(t, c)).sum() };
        let allowed_of = |c: Class| -> u64 {
            Transport::ALL
                .into_iter()
                .map(|t| rec.ended(t, c, Outcome::Allowed))
                .sum()
        };
        let sent: u64 = replays().map(sent_of).sum();
        let allowed: u64 = replays().map(allowed_of).sum();
        let mut v = verdict(self.name(), Status::Info, String::new());
        v.details.insert("replayed_attempts".into(), sent);
        v.details.insert("replayed_allowed".into(), allowed);
        // Per variant too (`replayed` = another device's captured pair), when any were sent.
        for c in replays().filter(|&c| sent_of(c) > 0) {
            v.details
                .insert(format!("{}_attempts", c.label()), sent_of(c));
            v.details
                .insert(format!("{}_allowed", c.label()), allowed_of(c));
        }
        match inputs.ledger {
            Some(l) => {
                let invocations: u64 = replays().map(|c| l.class(c).invocations).sum();
                let reached: u64 = replays().map(|c| l.class(c).reached()).sum();
                let refreshes: u64 = replays().map(|c| l.class(c).refreshes).sum();
                let cached: u64 = replays().map(|c| l.cache_hits(rec, c)).sum();
                let denied: u64 = replays().map(|c| l.class(c).denied).sum();
                v.details.insert("replayed_invocations".into(), invocations);
                v.details.insert("replayed_reached".into(), reached);
                v.details.insert("replayed_refreshes".into(), refreshes);
                v.details.insert("replayed_cache_hits".into(), cached);
                v.details
                    .insert("replayed_denied_by_authorizer".into(), denied);
                for c in replays().filter(|&c| sent_of(c) > 0) {
                    let i = l.class(c);
                    v.details
                        .insert(format!("{}_invocations", c.label()), i.invocations);
                    v.details
                        .insert(format!("{}_denied_by_authorizer", c.label()), i.denied);
                }
                // Attempts and invocations are different counts: a refresh is an invocation without an attempt,
                // an HTTP cache hit an attempt without an invocation.
                v.summary = format!(
                    "{reached} of {sent} replayed attempts reached the authorizer, {cached} more were answered from the HTTP cache; {invocations} billed invocations ({refreshes} of them refreshes); {allowed} attempts were allowed, {denied} invocations denied by the function"
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
