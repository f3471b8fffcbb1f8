//! The forged variants the oracle expects to PASS the gate under the run's gate settings (`raw_plus` where `+`
//! stays `+`, `duplicated_token` where the first value counts, `smuggled_equals`, ...) reached the authorizer:
//! every such attempt the target refused must be explained by an authorizer deny in the ledger. One that was
//! refused at the gate means the target reads credentials differently from the settings the run judges by:
//! for a real endpoint, the evidence names the `[gate]` setting to change.

use super::{Inputs, Rule, Status, Verdict, unanswered, verdict};
use crate::attempt::oracle::{self, Applies, Evidence, GateVerdict};
use crate::contract::Transport;
use crate::contract::{Class, Forgery};
use crate::metrics::Outcome;

pub struct OraclePasses;

impl Rule for OraclePasses {
    fn name(&self) -> &'static str {
        "oracle_passes"
    }

    fn check(&self, inputs: &Inputs<'_>) -> Verdict {
        let rec = inputs.recorder;
        let mut v = verdict(self.name(), Status::Pass, String::new());
        let (mut sent, mut allowed, mut refused, mut unexplained) = (0, 0, 0, 0);
        let mut variants = 0;
        let mut passing = Vec::new();
        for f in Forgery::ALL {
            let e = oracle::entry(f);
            if e.expected(&inputs.gate) != GateVerdict::Passes {
                continue;
            }
            let c = Class::Forged(f);
            passing.push(c);
            let mut sent_f = 0;
            for t in Transport::ALL {
                let s_t = rec.started(t, c);
                if s_t == 0 || matches!(e.applies(t), Applies::Skipped(_)) {
                    continue;
                }
                sent_f += s_t;
                allowed += rec.ended(t, c, Outcome::Allowed);
                let r_t = rec.ended_refused(t, c);
                refused += r_t;
                let Some(l) = inputs.ledger else { continue };
                let u = r_t.saturating_sub(l.transport_class(t, c).denied);
                unexplained += u;
                if u > 0 {
                    v.evidence.push(format!(
                        "{} {}: {u} attempts refused without reaching the authorizer; {}",
                        t.as_str(),
                        c.label(),
                        hint(e.evidence)
                    ));
                }
            }
            if sent_f > 0 {
                variants += 1;
                sent += sent_f;
                v.details.insert(format!("{}_attempts", c.label()), sent_f);
                if let Some(l) = inputs.ledger {
                    v.details
                        .insert(format!("{}_invocations", c.label()), l.class(c).invocations);
                }
            }
        }
        v.details.insert("passing_attempts".into(), sent);
        v.details.insert("passing_allowed".into(), allowed);
        v.details.insert("passing_refused".into(), refused);
        let settings = inputs.gate.describe();
        if sent == 0 {
            v.status = Status::Info;
            v.summary = format!(
                "no attempt of a forged variant that passes the gate under {settings} was sent"
            );
        } else if unexplained > 0 {
            v.status = Status::Fail;
            v.summary = format!(
                "{unexplained} of {sent} attempts the oracle expects to pass the gate under {settings} were refused before the authorizer: the target reads credentials differently"
            );
        } else if inputs.ledger.is_none() && refused > 0 {
            v.status = Status::Skipped;
            v.summary = format!(
                "{refused} of {sent} attempts the oracle expects to pass the gate under {settings} were refused, and no ledger says whether the authorizer denied them"
            );
        } else {
            v.summary = format!(
                "{sent} attempts of {variants} forged variants pass the gate under {settings}, as the oracle says ({allowed} allowed)"
            );
        }
        let silent = unanswered::silent(rec, &passing);
        unanswered::judge(
            &mut v,
            rec,
            &silent,
            "attempt the oracle expects to pass the gate",
        );
        v
    }
}

/// What to do when a variant the oracle lets through was refused.
fn hint(evidence: Evidence) -> String {
    match evidence {
        Evidence::Unconfirmed { setting, .. } => format!(
            "the target does not behave as the run's {setting} says: if it is a real endpoint, change {setting} in the scenario's [gate] table to what it does"
        ),
        Evidence::Documented(why) => format!("the target does not follow {why}"),
    }
}
