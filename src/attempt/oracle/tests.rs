use super::*;

#[test]
fn the_table_has_one_row_per_variant_in_order() {
    for (i, f) in Forgery::ALL.into_iter().enumerate() {
        assert_eq!(TABLE[i].forgery, f, "row {i}");
        assert!(!describe(f).is_empty());
    }
}

#[test]
fn every_replay_class_has_a_replay_row() {
    use crate::contract::Class;
    for c in Class::ALL.into_iter().filter(|c| c.is_replay()) {
        assert!(replay(c.label()).is_some(), "{c:?}");
    }
    assert_eq!(
        replay("rotated_key").unwrap().refusal,
        Some(crate::contract::GateRejection::SignatureMismatch)
    );
}

use crate::emulator::gate::test_support::all_settings;

#[test]
fn unconfirmed_rows_name_a_setting_and_its_default() {
    let mut unconfirmed = 0;
    for e in &TABLE {
        if let Evidence::Unconfirmed { setting, default } = e.evidence {
            unconfirmed += 1;
            assert!(setting.starts_with("gate."), "{:?}", e.forgery);
            let field = setting.trim_start_matches("gate.");
            let defaults = serde_json::to_value(GateSettings::default()).unwrap();
            let value = defaults[field]
                .as_str()
                .unwrap_or_else(|| panic!("{setting}"));
            assert!(default.starts_with(value), "{setting}: {default}");
        }
    }
    assert_eq!(unconfirmed, 8);
}

#[test]
fn only_unconfirmed_rows_depend_on_the_settings_and_defaults_give_the_table_verdict() {
    for e in &TABLE {
        assert_eq!(
            e.expected(&GateSettings::default()),
            e.verdict,
            "{:?}",
            e.forgery
        );
        let verdicts: Vec<GateVerdict> = all_settings().iter().map(|s| e.expected(s)).collect();
        let varies = verdicts.iter().any(|v| *v != e.verdict);
        assert_eq!(
            varies,
            matches!(e.evidence, Evidence::Unconfirmed { .. }),
            "{:?}",
            e.forgery
        );
    }
}

/// What calibration reads from the outside (allowed or refused at the gate): `question_mark_in_free_text` passes
/// only under `last_question_mark`; the `bare_signature_*` pair passes twice only under `split`, and under
/// `equivalent` its two answers also follow `duplicates` (first: before refused; last: after refused; reject:
/// both refused).
#[test]
fn the_new_settings_are_decided_by_allowed_or_refused() {
    use crate::wire::settings::{BareParams, Duplicates, UsernameQuery};
    let free_text = entry(F::QuestionMarkInFreeText);
    let second = entry(F::SecondQuestionMark);
    let (before, after) = (entry(F::BareSignatureBefore), entry(F::BareSignatureAfter));
    for s in all_settings() {
        let last = s.username_query == UsernameQuery::LastQuestionMark;
        assert_eq!(free_text.refused_under(&s), !last, "{}", s.describe());
        assert!(second.refused_under(&s));
        let answers = (before.refused_under(&s), after.refused_under(&s));
        let want = match (s.bare_params, s.duplicates) {
            (BareParams::Split, _) => (false, false),
            (BareParams::Equivalent, Duplicates::First) => (true, false),
            (BareParams::Equivalent, Duplicates::Last) => (false, true),
            (BareParams::Equivalent, Duplicates::Reject) => (true, true),
        };
        assert_eq!(answers, want, "{}", s.describe());
    }
}
