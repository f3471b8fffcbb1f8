//! The gate file calibration writes: a `[gate]` table with every decided setting's value, and above each the
//! evidence (each probe: the credential shape, the transport, the answer) as comments. A scenario's `gate_file`,
//! the emulator's config `gate_file` and `--gate-file` read it back (`wire::gate_file`). Pure text.

use std::fmt::Write as _;

use super::probe::Observation;
use super::table::Decision;
use super::{Calibration, table};

/// What the header says about the run.
pub struct About<'a> {
    /// The HTTPS URL probed.
    pub target: &'a str,
    /// Host header and SNI.
    pub endpoint_name: &'a str,
    pub scenario: &'a str,
    pub authorizer: &'a str,
    /// When the probes were sent, Unix seconds.
    pub at_unix_s: u64,
}

/// `2026-12-03T12:30:00Z`.
fn utc(unix_s: u64) -> String {
    let (y, mo, d, h, mi, s) = crate::contract::utc::civil(unix_s);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// One probe's evidence line: the shape, the transport, the answer, and what the witness saw of it.
fn line(o: &Observation) -> String {
    format!(
        "#   {} over {}: {} → {} ({}; {})",
        o.probe.class.label(),
        o.probe.transport.as_str(),
        o.probe.what(),
        o.answer.as_str(),
        o.detail,
        super::witness::note(o)
    )
}

/// The file's text. Settings left undecided appear as comments only, so the file never claims a value that was
/// not measured.
pub fn render(c: &Calibration, about: &About<'_>) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Gate settings of {} (Host/SNI {}), measured by `tokenstorm calibrate {}` at {}.",
        about.target,
        about.endpoint_name,
        about.scenario,
        utc(about.at_unix_s)
    );
    let _ = writeln!(
        o,
        "# Load it with `gate_file = \"<this file>\"` in a scenario or an emulator config, or `--gate-file`."
    );
    let _ = writeln!(
        o,
        "# Every probe carried the same valid credentials (authorizer {}), sent once, in the shape that shows",
        about.authorizer
    );
    let _ = writeln!(
        o,
        "# one behaviour. The baselines below were allowed, so the function allows this token: a refusal of a probe"
    );
    let _ = writeln!(o, "# is the gate's; {}.", c.witnessed.header());
    let _ = writeln!(o, "# baseline:");
    for b in &c.baselines {
        let _ = writeln!(o, "{}", line(b));
    }
    let _ = writeln!(o, "[gate]");
    for s in &c.settings {
        let _ = writeln!(o, "# {}: decided by", s.entry.setting);
        for ob in &s.observations {
            let _ = writeln!(o, "{}", line(ob));
        }
        match s.decision {
            Decision::Decided(v) => {
                let _ = writeln!(o, "{} = \"{v}\"", s.entry.setting);
            }
            Decision::FitsNothing => {
                let _ = writeln!(
                    o,
                    "# UNDECIDED: these answers fit no value of {} (values: {})",
                    s.entry.setting,
                    values(s.entry)
                );
            }
            Decision::AuthorizerDenied => {
                let _ = writeln!(
                    o,
                    "# UNDECIDED: a refused probe invoked the authorizer (an authorizer deny; values: {})",
                    values(s.entry)
                );
            }
            Decision::Unanswered => {
                let _ = writeln!(
                    o,
                    "# UNDECIDED: a probe got no allowed-or-refused answer (values: {})",
                    values(s.entry)
                );
            }
        }
    }
    o
}

fn values(e: &table::Entry) -> String {
    e.rows
        .iter()
        .map(|r| r.value)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::Setting;
    use super::super::table::{Answer, BASELINE, ENTRIES};
    use super::*;
    use crate::wire::gate_file;
    use crate::wire::settings::{BareParams, Duplicates, GateSettings, QueryNames, UsernameQuery};

    fn obs(e: &table::Entry, answers: &[Answer]) -> Vec<Observation> {
        e.probes
            .iter()
            .zip(answers)
            .enumerate()
            .map(|(i, (p, a))| Observation {
                probe: *p,
                answer: *a,
                detail: a.as_str().into(),
                attempt: format!("t-{}-0-{i}", p.class.label()),
                seen: Default::default(),
            })
            .collect()
    }

    #[test]
    fn the_file_parses_back_to_the_settings_decided_and_shows_the_evidence() {
        use Answer::{Allowed as A, Refused as R};
        let answers: [&[Answer]; 5] = [&[A], &[R, R], &[A], &[A], &[R, R]];
        let c = Calibration {
            baselines: vec![Observation {
                probe: BASELINE,
                answer: A,
                detail: "allowed".into(),
                attempt: "t-valid-0-0".into(),
                seen: Default::default(),
            }],
            settings: ENTRIES
                .iter()
                .zip(answers)
                .map(|(e, a)| Setting {
                    entry: e,
                    observations: obs(e, a),
                    decision: e.classify(a),
                })
                .collect(),
            witnessed: super::super::witness::Witnessed::NotRead("no [target.aws]"),
        };
        let about = About {
            target: "https://127.0.0.1:8443",
            endpoint_name: "e",
            scenario: "s.toml",
            authorizer: "Auth",
            at_unix_s: 86_400,
        };
        let text = render(&c, &about);
        assert!(text.contains("at 1970-01-02T00:00:00Z"), "{text}");
        assert!(
            text.contains("#   forged.duplicated_signature over https: "),
            "{text}"
        );
        let want = GateSettings {
            duplicates: Duplicates::Reject,
            query_names: QueryNames::CaseInsensitive,
            username_query: UsernameQuery::LastQuestionMark,
            bare_params: BareParams::Equivalent,
            ..GateSettings::default()
        };
        assert_eq!(c.gate(), Some(want));
        let back = gate_file::parse(&text, "g.toml").unwrap();
        assert_eq!(back.over(GateSettings::default()), want);
        assert_eq!(
            back.written(),
            [
                "query_plus",
                "duplicates",
                "query_names",
                "username_query",
                "bare_params"
            ]
        );

        // Both orders of a duplicate allowed: undecided, written as a comment only, reported.
        let mut c = c;
        c.settings[1].observations = obs(&ENTRIES[1], &[A, A]);
        c.settings[1].decision = ENTRIES[1].classify(&[A, A]);
        assert_eq!(c.gate(), None);
        let text = render(&c, &about);
        assert!(text.contains("# UNDECIDED: these answers fit no value of duplicates"));
        assert_eq!(
            gate_file::parse(&text, "g.toml").unwrap().written(),
            ["query_plus", "query_names", "username_query", "bare_params"]
        );
        assert_eq!(c.problems().len(), 1);
        assert!(c.problems()[0].starts_with("duplicates: the answers fit no value"));
    }
}
