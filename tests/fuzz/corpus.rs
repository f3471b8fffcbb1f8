//! Every cargo-fuzz target's committed corpus through the same library entry point the target calls, so the
//! test run exercises the targets without libFuzzer or nightly.

use std::path::Path;

use tokenstorm::fuzz::targets::TARGETS;

#[test]
fn every_cargo_fuzz_target_runs_its_committed_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (name, run) in TARGETS {
        let src = root.join("fuzz_targets").join(format!("{name}.rs"));
        let text =
            std::fs::read_to_string(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
        assert!(
            text.contains(&format!("tokenstorm::fuzz::targets::{name}(data)")),
            "{} must call tokenstorm::fuzz::targets::{name}",
            src.display()
        );
        let dir = root.join("corpus").join(name);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = std::fs::read(&path).unwrap();
            run(&data);
            n += 1;
        }
        assert!(n >= 10, "{}: only {n} corpus files", dir.display());
    }
}

/// Found by `scripts/fuzz` (connect): a 3.1.1 CONNECT with a password and no username is refused by the
/// emulator, as MQTT-3.1.2-22 requires; the target had counted it as well-formed.
#[test]
fn regression_connect_password_without_username_3_1_1() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/connect/regression-password-without-username-3-1-1");
    tokenstorm::fuzz::targets::connect(&std::fs::read(path).unwrap());
}

/// Found by `scripts/fuzz` (username): one '?' inside the attempt text and no credentials is a username with
/// one '?', which AWS reads; the target had expected a refusal.
#[test]
fn regression_username_one_question_mark_in_the_attempt() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/username/regression-one-question-mark-in-the-attempt");
    tokenstorm::fuzz::targets::username(&std::fs::read(path).unwrap());
}
