//! What decides each gate setting: one entry per setting AWS does not document, with the probes that decide
//! it (valid credentials shaped to hit the behaviour, named by the forged variant that has that shape) and, for
//! each value of the setting, the answers that value predicts. Classifying is matching the answers against
//! those rows; answers that fit no row are reported, never guessed. Pure: no sockets here.
//!
//! Adding a setting is adding an entry: its probes and its rows (a test holds every row to the oracle, which is
//! what the emulator's gate implements).

use crate::contract::{Class, Forgery, Transport};
use crate::metrics::Outcome;
use crate::wire::settings::{
    BareParams, Duplicates, GateSettings, QueryNames, QueryPlus, UsernameQuery,
};

/// One answer, as calibration reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// HTTPS 200, MQTT CONNACK 0.
    Allowed,
    /// HTTPS 403, a refusing CONNACK, or a close without CONNACK. With valid credentials whose baseline was
    /// allowed, the function allows this token: the refusal is the gate's.
    Refused,
    /// HTTPS 429, MQTT 5 CONNACK 0x97 / 0x9F: the endpoint's limits, not the gate.
    Throttled,
    /// Any other HTTP status.
    Other,
    /// No answer: a timeout or a transport error.
    None,
}

impl Answer {
    pub fn of(o: Outcome) -> Self {
        match o {
            Outcome::Allowed => Self::Allowed,
            Outcome::Forbidden | Outcome::Refused | Outcome::ClosedWithoutConnack => Self::Refused,
            Outcome::Throttled => Self::Throttled,
            Outcome::OtherStatus => Self::Other,
            Outcome::TransportError | Outcome::Timeout | Outcome::Exhausted => Self::None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::Refused => "refused",
            Self::Throttled => "throttled",
            Self::Other => "other answer",
            Self::None => "no answer",
        }
    }
}

/// One probe: a credential shape (`Class::Valid` for the plain baseline, a forged variant for the shapes that
/// carry valid credentials in an unusual way) over one transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub class: Class,
    pub transport: Transport,
}

impl Probe {
    const fn https(f: Forgery) -> Self {
        Self {
            class: Class::Forged(f),
            transport: Transport::Https,
        }
    }

    /// Over MQTT: MQTT/TLS, or plain MQTT when the target names only that (the prober decides).
    const fn mqtt(f: Forgery) -> Self {
        Self {
            class: Class::Forged(f),
            transport: Transport::MqttTls,
        }
    }

    /// What the probe sends, for the evidence.
    pub fn what(&self) -> &'static str {
        match self.class {
            Class::Forged(f) => crate::attempt::oracle::entry(f).what(),
            _ if self.transport == Transport::Https => {
                "the valid token and signature, each percent-encoded once in the query string"
            }
            _ => "the valid token and signature, each percent-encoded once in the username's query",
        }
    }
}

/// The plain request every probe is a variation of: it must be allowed, or nothing can be decided.
pub const BASELINE: Probe = Probe {
    class: Class::Valid,
    transport: Transport::Https,
};

/// One value of a setting and what it predicts for each of the entry's probes.
#[derive(Debug)]
pub struct Row {
    pub value: &'static str,
    /// The answers that fit this value: each an answer per probe, in the entry's order. Several when the answers
    /// also depend on a setting another entry decides (`bare_params = "equivalent"` makes a bare parameter a
    /// duplicate, so which probe is refused follows `duplicates`).
    pub answers: &'static [&'static [Answer]],
    /// Puts this value into settings.
    pub set: fn(&mut GateSettings),
}

/// One setting: its probes and its rows.
#[derive(Debug)]
pub struct Entry {
    /// The `[gate]` key.
    pub setting: &'static str,
    pub probes: &'static [Probe],
    pub rows: &'static [Row],
}

use Answer::{Allowed as A, Refused as R};

/// Every setting calibration decides, in `[gate]` order.
pub static ENTRIES: [Entry; 5] = [
    Entry {
        setting: "query_plus",
        probes: &[Probe::https(Forgery::RawPlus)],
        rows: &[
            Row {
                value: "literal",
                answers: &[&[A]],
                set: |s| s.query_plus = QueryPlus::Literal,
            },
            Row {
                value: "space",
                answers: &[&[R]],
                set: |s| s.query_plus = QueryPlus::Space,
            },
        ],
    },
    Entry {
        setting: "duplicates",
        probes: &[
            Probe::https(Forgery::DuplicatedToken),
            Probe::https(Forgery::DuplicatedSignature),
        ],
        rows: &[
            Row {
                value: "first",
                answers: &[&[A, R]],
                set: |s| s.duplicates = Duplicates::First,
            },
            Row {
                value: "last",
                answers: &[&[R, A]],
                set: |s| s.duplicates = Duplicates::Last,
            },
            Row {
                value: "reject",
                answers: &[&[R, R]],
                set: |s| s.duplicates = Duplicates::Reject,
            },
        ],
    },
    Entry {
        setting: "query_names",
        probes: &[Probe::https(Forgery::SignatureNameCase)],
        rows: &[
            Row {
                value: "exact",
                answers: &[&[R]],
                set: |s| s.query_names = QueryNames::Exact,
            },
            Row {
                value: "case_insensitive",
                answers: &[&[A]],
                set: |s| s.query_names = QueryNames::CaseInsensitive,
            },
        ],
    },
    Entry {
        setting: "username_query",
        probes: &[Probe::mqtt(Forgery::FreeTextQuestionMark)],
        rows: &[
            Row {
                value: "first_question_mark",
                answers: &[&[R]],
                set: |s| s.username_query = UsernameQuery::FirstQuestionMark,
            },
            Row {
                value: "last_question_mark",
                answers: &[&[A]],
                set: |s| s.username_query = UsernameQuery::LastQuestionMark,
            },
        ],
    },
    Entry {
        setting: "bare_params",
        probes: &[
            Probe::https(Forgery::BareSignatureBefore),
            Probe::https(Forgery::BareSignatureAfter),
        ],
        rows: &[
            Row {
                value: "split",
                answers: &[&[A, A]],
                set: |s| s.bare_params = BareParams::Split,
            },
            // The bare parameter is an empty signature besides the valid one: refused where it counts (before
            // under `duplicates = "first"`, after under `last`), both under `reject`.
            Row {
                value: "equivalent",
                answers: &[&[R, A], &[A, R], &[R, R]],
                set: |s| s.bare_params = BareParams::Equivalent,
            },
        ],
    },
];

/// What the answers to one entry's probes came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Exactly this row fits.
    Decided(&'static str),
    /// Every probe was answered allowed or refused, but no value predicts that combination.
    FitsNothing,
    /// A probe got no allowed-or-refused answer (throttled, another status, none): nothing to classify.
    Unanswered,
    /// A refused probe invoked the authorizer (the witness saw it): an authorizer deny, no evidence about the
    /// gate (set by `witness::apply`, never by [`Entry::classify`]).
    AuthorizerDenied,
}

impl Entry {
    /// Matches the answers (one per probe, in order) against the rows.
    pub fn classify(&self, answers: &[Answer]) -> Decision {
        if answers.len() != self.probes.len()
            || answers
                .iter()
                .any(|a| !matches!(a, Answer::Allowed | Answer::Refused))
        {
            return Decision::Unanswered;
        }
        self.rows
            .iter()
            .find(|r| r.answers.contains(&answers))
            .map_or(Decision::FitsNothing, |r| Decision::Decided(r.value))
    }

    /// The row of `value`.
    pub fn row(&self, value: &str) -> Option<&'static Row> {
        self.rows.iter().find(|r| r.value == value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attempt::oracle;

    /// The answers the oracle (what the emulator's gate implements) predicts for `e`'s probes under `s`.
    fn predicted(e: &Entry, s: &GateSettings) -> Vec<Answer> {
        e.probes
            .iter()
            .map(|p| {
                let Class::Forged(f) = p.class else {
                    panic!("{}: a probe is a forged shape", e.setting)
                };
                if oracle::entry(f).refused_under(s) {
                    R
                } else {
                    A
                }
            })
            .collect()
    }

    #[test]
    fn the_oracles_answers_under_every_combination_classify_as_that_combination() {
        for s in GateSettings::all() {
            let values = toml::Table::try_from(s).unwrap();
            for e in &ENTRIES {
                let want = values[e.setting].as_str().unwrap();
                let got = match e.classify(&predicted(e, &s)) {
                    Decision::Decided(v) => Some(v),
                    _ => None,
                };
                assert_eq!(got, Some(want), "{} under {}", e.setting, s.describe());
            }
        }
        // Every answer vector a row lists occurs under some combination (no row fits answers that cannot be).
        for e in &ENTRIES {
            for row in e.rows {
                for a in row.answers {
                    assert!(
                        GateSettings::all().iter().any(|s| predicted(e, s) == *a),
                        "{} = {}: {a:?}",
                        e.setting,
                        row.value
                    );
                }
            }
        }
    }

    #[test]
    fn every_setting_has_an_entry_and_rows_are_distinct() {
        let mut settings: Vec<String> = toml::Table::try_from(GateSettings::default())
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let mut entries: Vec<String> = ENTRIES.iter().map(|e| e.setting.to_string()).collect();
        settings.sort();
        entries.sort();
        assert_eq!(entries, settings);
        for e in &ENTRIES {
            for (i, a) in e.rows.iter().enumerate() {
                for v in a.answers {
                    assert_eq!(v.len(), e.probes.len(), "{}", e.setting);
                    for b in &e.rows[i + 1..] {
                        assert!(
                            !b.answers.contains(v),
                            "{}: {} and {}",
                            e.setting,
                            a.value,
                            b.value
                        );
                    }
                }
                // The value is the setting's own spelling (TOML) and `set` puts exactly it.
                let mut s = GateSettings::default();
                (a.set)(&mut s);
                let t = toml::Table::try_from(s).unwrap();
                assert_eq!(t[e.setting].as_str(), Some(a.value));
            }
        }
    }

    #[test]
    fn answers_are_classified_or_reported() {
        let d = &ENTRIES[1];
        assert_eq!(d.classify(&[A, R]), Decision::Decided("first"));
        assert_eq!(d.classify(&[R, A]), Decision::Decided("last"));
        assert_eq!(d.classify(&[R, R]), Decision::Decided("reject"));
        // Both orders of a duplicate allowed: no value of `duplicates` does that.
        assert_eq!(d.classify(&[A, A]), Decision::FitsNothing);
        assert_eq!(d.classify(&[A, Answer::None]), Decision::Unanswered);
        assert_eq!(d.classify(&[Answer::Throttled, R]), Decision::Unanswered);
        assert_eq!(ENTRIES[0].classify(&[A]), Decision::Decided("literal"));
        assert_eq!(
            ENTRIES[2].classify(&[A]),
            Decision::Decided("case_insensitive")
        );
        assert_eq!(ENTRIES[2].classify(&[Answer::Other]), Decision::Unanswered);
        assert_eq!(
            ENTRIES[3].classify(&[R]),
            Decision::Decided("first_question_mark")
        );
        let b = &ENTRIES[4];
        assert_eq!(b.classify(&[A, A]), Decision::Decided("split"));
        assert_eq!(b.classify(&[R, A]), Decision::Decided("equivalent"));
        assert_eq!(b.classify(&[R, R]), Decision::Decided("equivalent"));
        assert_eq!(Answer::of(Outcome::Forbidden), R);
        assert_eq!(Answer::of(Outcome::ClosedWithoutConnack), R);
        assert_eq!(Answer::of(Outcome::Timeout), Answer::None);
    }
}
