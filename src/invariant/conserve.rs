//! Every attempt ended in exactly one outcome: per transport and class, attempts started = attempts ended
//! (summed over outcomes), and the ledger holds no more invocations for a transport and class than attempts
//! were sent. MQTT connections may be re-authorized (`refreshAfterInSeconds`, at least 300 s), so for MQTT the
//! bound is one invocation per attempt plus one per 300 s of the run.

use super::{Inputs, Rule, Status, Verdict, verdict};
use crate::contract::Class;
use crate::contract::Transport;

pub struct CountsConserve;

impl Rule for CountsConserve {
    fn name(&self) -> &'static str {
        "counts_conserve"
    }

    fn check(&self, inputs: &Inputs<'_>) -> Verdict {
        let rec = inputs.recorder;
        let mut v = verdict(self.name(), Status::Pass, String::new());
        for t in Transport::ALL {
            for c in Class::ALL {
                let started = rec.started(t, c);
                let ended = rec.ended_total(t, c);
                if started != ended {
                    v.evidence.push(format!(
                        "{} {}: {started} started, {ended} ended",
                        t.as_str(),
                        c.label()
                    ));
                }
                if let Some(l) = inputs.ledger {
                    let inv = l.transport_class(t, c).invocations;
                    let refreshes = if t.is_mqtt() {
                        inputs.run_secs / 300
                    } else {
                        0
                    };
                    if inv > started * (1 + refreshes) {
                        v.evidence.push(format!(
                            "{} {}: {inv} ledger invocations for {started} attempts",
                            t.as_str(),
                            c.label()
                        ));
                    }
                }
            }
        }
        let started = rec.total_started();
        let ended = rec.total_ended();
        v.details.insert("started".into(), started);
        v.details.insert("ended".into(), ended);
        for t in Transport::ALL {
            let n = rec.transport_started(t);
            if n > 0 {
                v.details.insert(format!("started_{}", t.as_str()), n);
            }
        }
        if v.evidence.is_empty() {
            v.summary = format!("all {started} attempts ended in exactly one outcome");
        } else {
            v.status = Status::Fail;
            v.summary = format!(
                "{started} attempts started but {ended} outcomes recorded, or the ledger disagrees"
            );
        }
        v
    }
}
