//! Calibration: measure the gate settings AWS does not document (`wire::settings`) on a target, by sending the
//! few probes that decide each one ([`table::ENTRIES`]), once each, and classifying the answers.
//!
//! - [`table`]: per setting, its probes and the answers each value predicts; classification (pure).
//! - [`probe`]: the valid pair the probes carry (signed at setup), the requests, the pacing; sends them.
//! - [`mqtt`]: MQTT probes, one CONNECT each.
//! - [`file`]: the gate file written from the answers (`[gate]`, evidence as comments).
//!
//! First a baseline per transport the probes use (the valid pair, plainly encoded; HTTPS and MQTT) must be
//! allowed: it shows the endpoint answers and the function allows this token, so a later refusal of the same
//! pair in another shape is the gate's. With `[target.aws]` the CloudWatch witness is read after the probes
//! ([`witness`]): a refused probe whose attempt invoked the authorizer is an authorizer deny, reported rather
//! than read as the gate's; without one (or with `--no-witness`) the answers alone are classified.

pub mod file;
pub mod mqtt;
pub mod probe;
pub mod table;
pub mod witness;

use probe::{Observation, ProbeError, Prober};
use table::{Decision, ENTRIES, Entry, Probe};
use witness::Witnessed;

use crate::contract::Class;
use crate::wire::settings::GateSettings;

/// One setting's probes, their answers and what they came to.
#[derive(Debug, Clone)]
pub struct Setting {
    pub entry: &'static Entry,
    pub observations: Vec<Observation>,
    pub decision: Decision,
}

/// Everything one calibration sent and concluded.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// One per transport the entries' probes use, in first-use order.
    pub baselines: Vec<Observation>,
    /// Empty when a baseline was not allowed (nothing else is sent then).
    pub settings: Vec<Setting>,
    /// What the witness saw ([`Witnessed::NotRead`] until [`witness::apply`]).
    pub witnessed: Witnessed,
}

impl Calibration {
    /// The settings measured, when every one was decided (those calibration does not decide keep their
    /// defaults).
    pub fn gate(&self) -> Option<GateSettings> {
        if self.settings.len() != ENTRIES.len() || !witness::problems(self).is_empty() {
            return None;
        }
        let mut g = GateSettings::default();
        for s in &self.settings {
            let Decision::Decided(v) = s.decision else {
                return None;
            };
            (s.entry.row(v)?.set)(&mut g);
        }
        Some(g)
    }

    /// Why calibration decided nothing or not everything, one line per problem (empty: every setting decided).
    pub fn problems(&self) -> Vec<String> {
        let mut out = witness::problems(self);
        if self.settings.is_empty() {
            out.extend(
                self.baselines
                    .iter()
                    .filter(|b| b.answer != table::Answer::Allowed)
                    .map(witness::baseline_problem),
            );
            return out;
        }
        out.extend(self.settings.iter().filter_map(|s| {
            let answers = evidence(&s.observations);
            match s.decision {
                Decision::Decided(_) => None,
                Decision::FitsNothing => Some(format!(
                    "{}: the answers fit no value of the setting ({answers})",
                    s.entry.setting
                )),
                Decision::Unanswered => Some(format!(
                    "{}: a probe got no allowed-or-refused answer ({answers})",
                    s.entry.setting
                )),
                Decision::AuthorizerDenied => {
                    Some(witness::denied_problem(s.entry.setting, &s.observations))
                }
            }
        }));
        out
    }

    /// Every probe sent: the baselines, then each setting's.
    pub fn observations(&self) -> impl Iterator<Item = &Observation> {
        self.baselines
            .iter()
            .chain(self.settings.iter().flat_map(|s| &s.observations))
    }
}

/// `forged.raw_plus → allowed, ...`.
pub(crate) fn evidence(obs: &[Observation]) -> String {
    obs.iter()
        .map(|o| format!("{} → {}", o.probe.class.label(), o.detail))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The baseline of every transport the entries' probes use, in first-use order.
pub fn baselines() -> Vec<Probe> {
    let mut out: Vec<Probe> = Vec::new();
    for p in ENTRIES.iter().flat_map(|e| e.probes) {
        if !out.iter().any(|b| b.transport == p.transport) {
            out.push(Probe {
                class: Class::Valid,
                transport: p.transport,
            });
        }
    }
    out
}

/// Sends the baselines, then (when every one was allowed) every entry's probes, and classifies the answers.
/// A probe that cannot be sent (no address for its transport) is an error before anything is sent.
pub async fn calibrate(prober: &mut Prober) -> Result<Calibration, ProbeError> {
    let baselines = baselines();
    for b in &baselines {
        prober.check(b.transport)?;
    }
    let mut sent = Vec::with_capacity(baselines.len());
    for b in baselines {
        sent.push(prober.send(b).await?);
    }
    let mut settings = Vec::new();
    if sent.iter().all(|b| b.answer == table::Answer::Allowed) {
        for entry in &ENTRIES {
            let mut observations = Vec::with_capacity(entry.probes.len());
            for &p in entry.probes {
                observations.push(prober.send(p).await?);
            }
            let answers: Vec<_> = observations.iter().map(|o| o.answer).collect();
            settings.push(Setting {
                entry,
                decision: entry.classify(&answers),
                observations,
            });
        }
    }
    Ok(Calibration {
        baselines: sent,
        settings,
        witnessed: Witnessed::NotRead("none read yet"),
    })
}
