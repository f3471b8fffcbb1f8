//! `scenarios/ci-security.toml` as CI runs it: against its embedded emulator, shortened; exit 0 when every
//! invariant holds, exit 1 when the gate lets forged credentials through.

use crate::run::{invariant, repo, run, text, write_scenario};

#[test]
fn ci_security_passes_against_the_embedded_emulator() {
    let out = tempfile::tempdir().unwrap();
    let scenario = repo("scenarios/ci-security.toml");
    let (o, r) = run(&[scenario.to_str().unwrap(), "--duration", "3"], out.path());
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.expect("report.json");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
    assert!(
        invariant(&r, "forged_never_invoked")["details"]["forged_attempts"]
            .as_u64()
            .unwrap()
            > 0
    );
}

#[test]
fn ci_security_exits_1_when_forged_credentials_reach_the_authorizer() {
    let dir = tempfile::tempdir().unwrap();
    let src = std::fs::read_to_string(repo("scenarios/ci-security.toml")).unwrap();
    let leaky = src.replace(
        "token_key_name = \"X-My-App-custom-key\"\n",
        "token_key_name = \"X-My-App-custom-key\"\nsigning_disabled = true\n",
    );
    assert_ne!(leaky, src);
    let path = write_scenario(dir.path(), "ci-security-leaky.toml", &leaky);
    let (o, r) = run(
        &[path.to_str().unwrap(), "--duration", "2"],
        &dir.path().join("out"),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    let r = r.expect("report.json");
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "fail");
}
