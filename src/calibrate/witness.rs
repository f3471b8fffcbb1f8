//! What the AWS witness (`[target.aws]`, CloudWatch) says of the probes, and what that changes in the
//! classification. Pure: the shell settles the witness and hands over what it saw ([`Witnessed`]).
//!
//! The answers alone cannot tell a gate refusal from an authorizer deny: both are an HTTP 403 or a refusing
//! CONNACK. The witness can: the gate refuses before the function runs, a deny is the function's answer. So a
//! refused probe whose attempt invoked the authorizer is not evidence about any gate setting; it is reported
//! (exit 1) rather than read as the gate's. A witness that did not settle decides nothing: inconclusive, never a
//! guess (unless `--no-witness` asked for the answers alone).

use super::probe::{Observation, Seen};
use super::table::{Answer, Decision};
use super::{Calibration, evidence};
use crate::join::cloudwatch::{logs, metrics};

/// What the configured witness saw once it settled, or why it was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witnessed {
    /// No witness read: the scenario has no `[target.aws]`, or `--no-witness`.
    NotRead(&'static str),
    /// The logs witness settled: per attempt id it has a line for, the line's `authenticated` (null: false).
    Logs(Vec<(String, bool)>),
    /// Only the metrics witness settled: the function's invocations over the probes' window.
    Metrics(u64),
    /// The configured witness did not settle (pending, unreadable): why.
    Unsettled(String),
}

impl Witnessed {
    /// The sentence the gate file's header carries.
    pub fn header(&self) -> String {
        match self {
            Self::NotRead(why) => {
                format!("no witness read ({why}): a refusal is taken as the gate's")
            }
            Self::Logs(_) => format!(
                "witness {} read: each probe below says whether it invoked the authorizer (a refused one that did is the function's deny)",
                logs::SOURCE
            ),
            Self::Metrics(n) => format!(
                "witness {} (a count, not per probe): {n} invocation(s), at most one per allowed probe, so no refused probe invoked the authorizer",
                metrics::SOURCE
            ),
            Self::Unsettled(why) => format!("the witness did not settle ({why})"),
        }
    }
}

/// One probe's witness note for the evidence line.
pub fn note(o: &Observation) -> String {
    match o.seen {
        Seen::NotRead => "no witness read".into(),
        Seen::Invoked { allowed: true } => format!("{}: invoked, allowed", logs::SOURCE),
        Seen::Invoked { allowed: false } => format!("{}: invoked, denied", logs::SOURCE),
        Seen::NotInvoked => format!("{}: not invoked", logs::SOURCE),
        Seen::Counted => format!("{}: counted with the others", metrics::SOURCE),
    }
}

/// Whether `o` was refused after its attempt invoked the authorizer (an authorizer deny, or its policy).
pub fn denied_by_authorizer(o: &Observation) -> bool {
    o.answer == Answer::Refused && matches!(o.seen, Seen::Invoked { .. })
}

/// Marks every probe with what `w` saw of it, and a setting with a refused probe that invoked the authorizer as
/// [`Decision::AuthorizerDenied`] (its answers are no evidence about the gate).
pub fn apply(c: &mut Calibration, w: Witnessed) {
    let seen = |o: &Observation| match &w {
        // Attempt ids hold no `?`. Witness helpers before this version read an MQTT username's attempt id up to
        // its LAST `?`, so a function still running one names a probe with a `?` in its free text
        // (`free_text_question_mark`) `<id>?<more>`: match on what precedes the first `?`.
        Witnessed::Logs(lines) => lines
            .iter()
            .find(|(id, _)| id.split('?').next() == Some(o.attempt.as_str()))
            .map_or(Seen::NotInvoked, |&(_, allowed)| Seen::Invoked { allowed }),
        Witnessed::Metrics(_) => Seen::Counted,
        Witnessed::NotRead(_) | Witnessed::Unsettled(_) => Seen::NotRead,
    };
    for o in &mut c.baselines {
        o.seen = seen(o);
    }
    for s in &mut c.settings {
        for o in &mut s.observations {
            o.seen = seen(o);
        }
        if s.observations.iter().any(denied_by_authorizer) {
            s.decision = Decision::AuthorizerDenied;
        }
    }
    c.witnessed = w;
}

/// Why the witness forbids a conclusion, beyond the settings' own problems: a witness that did not settle, a
/// refused baseline that invoked the authorizer, or a count above the allowed probes.
pub fn problems(c: &Calibration) -> Vec<String> {
    let allowed = c
        .observations()
        .filter(|o| o.answer == Answer::Allowed)
        .count() as u64;
    match &c.witnessed {
        Witnessed::Unsettled(why) => vec![format!(
            "inconclusive: the witness did not settle ({why}), so a refusal cannot be told from an authorizer deny; \
             nothing is concluded (wait longer with [target.aws] reconcile_timeout_s, fix its access, or pass \
             --no-witness to classify from the answers alone)"
        )],
        Witnessed::Metrics(n) if *n > allowed => vec![format!(
            "{}: {n} invocation(s) for {allowed} allowed probe(s): {} refused probe(s) invoked the authorizer \
             (an authorizer deny, which fits no gate setting value; the count cannot say which: use witness = \
             \"logs\" to name them), or other callers invoked the function meanwhile; fix the function or its \
             policy so it allows this token ({})",
            metrics::SOURCE,
            n - allowed,
            evidence(&c.observations().cloned().collect::<Vec<_>>())
        )],
        _ => Vec::new(),
    }
}

/// The problem of a refused baseline: the function's deny when the witness saw it invoked, else not allowed.
pub fn baseline_problem(b: &Observation) -> String {
    let t = b.probe.transport.as_str();
    if denied_by_authorizer(b) {
        return format!(
            "baseline over {t}: refused after the authorizer was invoked ({}; {}): the function denied the valid \
             token (an authorizer deny, not the gate): fix the function or its policy so it allows this token",
            b.detail,
            note(b)
        );
    }
    format!(
        "baseline over {t}: the valid token and signature were not allowed ({}; {}); nothing can be decided: \
         check the target, the authorizer, the keys and that its function allows this token",
        b.detail,
        note(b)
    )
}

/// The problem of a setting one of whose refused probes invoked the authorizer.
pub fn denied_problem(setting: &str, obs: &[Observation]) -> String {
    let denied: Vec<String> = obs
        .iter()
        .filter(|o| denied_by_authorizer(o))
        .map(|o| {
            format!(
                "{} over {} ({}; {})",
                o.probe.class.label(),
                o.probe.transport.as_str(),
                o.detail,
                note(o)
            )
        })
        .collect();
    format!(
        "{setting}: {} was refused after the authorizer was invoked: the function denied it (or its policy did \
         not allow the action), an authorizer deny that fits no value of the setting; fix the function or its \
         policy so it allows this token in every shape, then calibrate again",
        denied.join(", ")
    )
}

/// What the settled reads of `[target.aws]` come to. The logs witness decides per probe when configured; the
/// metrics witness only when it is the only one. A witness that did not settle, a count with throttled
/// invocations, or a logs witness with no line for any allowed probe (the witness helper missing from the
/// function) is [`Witnessed::Unsettled`].
pub fn of_reads(reads: crate::join::cloudwatch::Reads, allowed: u64) -> Witnessed {
    if let Some((reader, s)) = reads.logs {
        if s.value.is_none() {
            return Witnessed::Unsettled(format!("{} {}", logs::SOURCE, unsettled(&s)));
        }
        if reader.lines.is_empty() && allowed > 0 {
            return Witnessed::Unsettled(format!(
                "{} has no line for any of the {allowed} allowed probe(s): is the witness helper in the function?",
                logs::SOURCE
            ));
        }
        let lines = reader
            .lines
            .into_iter()
            .filter_map(|l| Some((l.attempt?, l.authenticated == Some(true))))
            .collect();
        return Witnessed::Logs(lines);
    }
    match reads.metrics {
        Some((reader, s)) => match (s.value, reader.last.map(|f| f.throttles)) {
            (None, _) => Witnessed::Unsettled(format!("{} {}", metrics::SOURCE, unsettled(&s))),
            (Some(_), Some(t)) if t > 0 => Witnessed::Unsettled(format!(
                "{}: {t} throttled invocation(s), which Invocations does not count",
                metrics::SOURCE
            )),
            (Some(n), _) => Witnessed::Metrics(n),
        },
        None => Witnessed::Unsettled("no witness was configured in [target.aws]".into()),
    }
}

/// `never settled (3 reads in a row failed: <error>)`.
fn unsettled(s: &crate::join::cloudwatch::Settled) -> String {
    let why = s.gave_up.as_deref().unwrap_or("gave up");
    match &s.error {
        Some(e) => format!("never settled ({why}: {e})"),
        None => format!("never settled ({why})"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::Setting;
    use super::super::table::{BASELINE, ENTRIES};
    use super::*;
    use Answer::{Allowed as A, Refused as R};

    fn ob(probe: super::super::table::Probe, answer: Answer, attempt: &str) -> Observation {
        Observation {
            probe,
            answer,
            detail: answer.as_str().into(),
            attempt: attempt.into(),
            seen: Seen::NotRead,
        }
    }

    /// Every setting's probes answered by `answers` (per entry), ids `r-<entry>-<probe>`; the baseline allowed.
    fn calibration(answers: [&[Answer]; 5]) -> Calibration {
        Calibration {
            baselines: vec![ob(BASELINE, A, "r-valid-0-0")],
            settings: ENTRIES
                .iter()
                .zip(answers)
                .enumerate()
                .map(|(i, (e, a))| Setting {
                    entry: e,
                    observations: e
                        .probes
                        .iter()
                        .zip(a)
                        .enumerate()
                        .map(|(j, (p, a))| ob(*p, *a, &format!("r-{i}-{j}")))
                        .collect(),
                    decision: e.classify(a),
                })
                .collect(),
            witnessed: Witnessed::NotRead("test"),
        }
    }

    const ANSWERS: [&[Answer]; 5] = [&[A], &[A, R], &[R], &[R], &[A, A]];

    #[test]
    fn a_refused_probe_the_logs_witness_did_not_see_is_the_gates() {
        let mut c = calibration(ANSWERS);
        // Lines for every allowed probe; none for the refused ones.
        let lines = [
            "r-valid-0-0",
            "r-0-0",
            "r-1-0",
            "r-4-0?SDK=tokenstorm",
            "r-4-1",
        ]
        .map(|id| (id.to_string(), true))
        .to_vec();
        apply(&mut c, Witnessed::Logs(lines));
        assert!(c.problems().is_empty(), "{:?}", c.problems());
        assert!(c.gate().is_some());
        assert_eq!(
            c.settings[4].observations[0].seen,
            Seen::Invoked { allowed: true }
        );
        let refused = &c.settings[1].observations[1];
        assert_eq!(refused.seen, Seen::NotInvoked);
        assert_eq!(note(refused), "cloudwatch-logs: not invoked");
        assert_eq!(note(&c.baselines[0]), "cloudwatch-logs: invoked, allowed");
    }

    #[test]
    fn a_refused_probe_that_invoked_the_authorizer_is_an_authorizer_deny_not_a_value() {
        let mut c = calibration(ANSWERS);
        let lines = vec![
            ("r-valid-0-0".to_string(), true),
            ("r-1-0".to_string(), true),
            // `query_names`' only probe, refused: the function saw it and denied it.
            ("r-2-0".to_string(), false),
        ];
        // Without the witness the refusal reads as a gate setting value.
        assert_eq!(c.settings[2].decision, Decision::Decided("exact"));
        apply(&mut c, Witnessed::Logs(lines));
        assert_eq!(c.settings[2].decision, Decision::AuthorizerDenied);
        assert_eq!(c.gate(), None);
        let p = c.problems();
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("query_names: forged.signature_name_case over https (refused; cloudwatch-logs: invoked, denied) was refused after the authorizer was invoked: the function denied it")
                && p[0].contains("fix the function or its policy"),
            "{}",
            p[0]
        );
    }

    #[test]
    fn a_refused_baseline_that_invoked_the_authorizer_names_the_functions_deny() {
        let mut c = calibration(ANSWERS);
        c.settings.clear();
        c.baselines[0] = ob(BASELINE, R, "r-valid-0-0");
        let mut without = c.clone();
        apply(&mut without, Witnessed::NotRead("--no-witness"));
        let p = without.problems();
        assert!(
            p[0].contains("were not allowed (refused; no witness read)"),
            "{p:?}"
        );
        apply(&mut c, Witnessed::Logs(vec![("r-valid-0-0".into(), false)]));
        let p = c.problems();
        assert!(
            p.len() == 1
                && p[0]
                    .starts_with("baseline over https: refused after the authorizer was invoked")
                && p[0].contains("the function denied the valid token"),
            "{p:?}"
        );
    }

    #[test]
    fn the_metrics_count_above_the_allowed_probes_is_an_authorizer_deny() {
        // Allowed: the baseline and four probes.
        for (n, ok) in [(5, true), (3, true), (6, false)] {
            let mut c = calibration(ANSWERS);
            apply(&mut c, Witnessed::Metrics(n));
            assert_eq!(c.problems().is_empty(), ok, "{n}: {:?}", c.problems());
            assert_eq!(c.gate().is_some(), ok);
            assert_eq!(
                note(&c.baselines[0]),
                "cloudwatch-metrics: counted with the others"
            );
            if !ok {
                assert!(
                    c.problems()[0].starts_with(
                        "cloudwatch-metrics: 6 invocation(s) for 5 allowed probe(s): 1 refused probe(s) invoked the authorizer"
                    ),
                    "{:?}",
                    c.problems()
                );
            }
        }
    }

    #[test]
    fn a_witness_that_did_not_settle_concludes_nothing() {
        let mut c = calibration(ANSWERS);
        apply(
            &mut c,
            Witnessed::Unsettled("cloudwatch-logs never settled (3 reads in a row failed)".into()),
        );
        assert_eq!(c.gate(), None);
        let p = c.problems();
        assert!(
            p.len() == 1
                && p[0].starts_with(
                    "inconclusive: the witness did not settle (cloudwatch-logs never settled"
                )
                && p[0].contains("--no-witness"),
            "{p:?}"
        );
        assert!(
            c.witnessed
                .header()
                .starts_with("the witness did not settle")
        );
    }
}
