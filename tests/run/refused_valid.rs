//! A run whose valid traffic is refused at the gate says why: the emulator trusts another key than the one the
//! scenario signs with, and the report lists the first refused valid attempts with the rule, the gate's
//! checklist and what to change (read from the external emulator's `GET /refusals`), as the terminal does.

use tokenstorm::contract::authorizer::FunctionBehaviour;

use crate::run::{assert_schema_valid, run, text, write_scenario};
use crate::support::{emulator, keys};

/// An external emulator that trusts key 1 (the rotated key), and the PEM of key 0 the scenarios sign with.
async fn refusing_emulator() -> (emulator::Handle, tempfile::TempDir, std::path::PathBuf) {
    let trusted = emulator::authorizer(
        keys::SEED_AUTHORIZER,
        &[1],
        FunctionBehaviour::default_allow(),
    );
    let emu = emulator::start(emulator::config(vec![trusted], Some(keys::SEED_AUTHORIZER))).await;
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    (emu, dir, private)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_whose_valid_attempts_are_refused_names_the_rule_and_the_fix() {
    let (emu, dir, private) = refusing_emulator().await;
    let body = format!(
        "name = \"refused-valid\"\n[run]\nseed = 7\nduration_s = 2.0\nmodel = \"open\"\nrate_per_s = 20.0\n\
         [devices]\ncount = 4\ntoken = \"static\"\nstatic_token = \"{}\"\n\
         [keys]\nprivate_key_files = [{private:?}]\n\
         [authorizer]\nname = \"{}\"\ntoken_key_name = \"{}\"\n\
         [http]\ntopic = \"t\"\nqos = 1\ncredentials_in = \"headers\"\n\
         [mix]\nvalid = 1.0\nforged = 0.0\nreplayed = 0.0\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nadmin_url = \"http://{}\"\nca_file = {:?}\n",
        keys::SEED_TOKEN,
        keys::SEED_AUTHORIZER,
        keys::SEED_TOKEN_KEY_NAME,
        emu.https_port(),
        emu.addrs().admin.expect("admin listener"),
        emu.ca_cert_path(),
    );
    let path = write_scenario(dir.path(), "refused-valid.toml", &body);
    let out = dir.path().join("out");
    let out2 = out.clone();
    let (o, r) = tokio::task::spawn_blocking(move || run(&[path.to_str().unwrap()], &out2))
        .await
        .unwrap();
    let r = r.unwrap_or_else(|| panic!("no report: {}{}", text(&o.stdout), text(&o.stderr)));
    assert_schema_valid(&r);
    let run_id = r["run_id"].as_str().unwrap();
    let refused = r["refused_valid"].as_array().unwrap();
    assert_eq!(refused.len(), 5, "{:#}", r["refused_valid"]);
    for a in refused {
        let id = a["attempt_id"].as_str().unwrap();
        assert!(id.starts_with(&format!("{run_id}-valid-")), "{id}");
        assert_eq!(
            (a["rule"].as_str(), a["transport"].as_str()),
            (Some("signature_mismatch"), Some("https"))
        );
        let checks: Vec<&str> = a["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert!(
            checks
                .iter()
                .any(|c| c
                    .starts_with("[FAIL] key \"key1\" (rsa-2048): the signature does not match")),
            "{checks:#?}"
        );
        assert!(
            a["fix"]
                .as_str()
                .unwrap()
                .contains("tokenSigningPublicKeys")
        );
    }
    let stdout = text(&o.stdout);
    assert!(
        stdout.contains("valid attempts refused at the gate (the first 5"),
        "{stdout}"
    );
    assert!(
        stdout.contains("signature_mismatch: key \"key1\""),
        "{stdout}"
    );

    // `explain --attempt RUN_DIR:ID` reads the kept explanation back; an id the report does not keep is exit 2.
    let run_dir = std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let explain = |id: &str| {
        std::process::Command::new(crate::run::bin())
            .args([
                "explain",
                "--attempt",
                &format!("{}:{id}", run_dir.display()),
            ])
            .output()
            .unwrap()
    };
    let first = refused[0]["attempt_id"].as_str().unwrap();
    let o = explain(first);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    assert!(
        stdout.contains("refused: signature_mismatch") && stdout.contains("fix: "),
        "{stdout}"
    );
    let o = explain(&format!("{run_id}-valid-0-999999"));
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is not among the refused valid attempts"),
        "{}",
        text(&o.stderr)
    );
    emu.stop().await;
}

/// `run --preflight` against the same emulator: the refused valid probe says why, with the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preflight_whose_valid_probe_is_refused_says_why() {
    let (emu, dir, private) = refusing_emulator().await;
    let body = format!(
        "[devices]\ncount = 4\ntoken = \"static\"\nstatic_token = \"{}\"\n[keys]\nprivate_key_files = [{private:?}]\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nadmin_url = \"http://{}\"\nca_file = {:?}\n",
        keys::SEED_TOKEN,
        emu.https_port(),
        emu.addrs().admin.expect("admin listener"),
        emu.ca_cert_path(),
    );
    let path = write_scenario(dir.path(), "refused-preflight.toml", &body);
    let out = dir.path().join("out");
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new(crate::run::bin())
            .args(["run", path.to_str().unwrap(), "--preflight", "--out-dir"])
            .arg(&out)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    assert!(
        stdout.contains("-valid-0-0 (https): signature_mismatch: key \"key1\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("    fix: sign exactly the token bytes"),
        "{stdout}"
    );
    emu.stop().await;
}
