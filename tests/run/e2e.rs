//! Whole runs: verdicts, counts, reproducibility, both load models, an external target.

use super::*;

#[test]
fn quickstart_shortened_passes_and_counts_conserve() {
    let out = tempfile::tempdir().unwrap();
    let scenario = repo("scenarios/quickstart.toml");
    let (o, report) = run(
        &[
            scenario.to_str().unwrap(),
            "--attempts",
            "600",
            "--duration",
            "60",
        ],
        out.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = report.expect("report.json written");
    assert_eq!(r["verdict"], "pass");
    assert_eq!(r["interrupted"], false);
    assert_eq!(r["seed"], 42);
    let t = &r["throughput"];
    assert_eq!(t["attempts_started"], 600);
    assert_eq!(t["attempts_ended"], 600);
    let counts = class_counts(&r);
    assert_eq!(counts.values().sum::<u64>(), 600, "{counts:?}");
    assert!(
        counts.keys().any(|k| k.starts_with("forged.")) && counts.contains_key("replayed"),
        "{counts:?}"
    );
    // Forged attempts are refused by the gate (403) and never reach the authorizer; valid ones are allowed, and
    // so are the forged variants the oracle lets through under the default gate settings.
    for row in r["results"].as_array().unwrap() {
        let want = if refused_row(row) {
            "forbidden"
        } else {
            "allowed"
        };
        assert_eq!(row["outcome"], want, "{row}");
        assert!(
            row["latency_us"]["p99"].as_u64().unwrap()
                >= row["latency_us"]["p50"].as_u64().unwrap()
        );
    }
    let inv = &r["invocations"];
    let by_class = inv["by_class"].as_array().unwrap();
    let invoked = |class: &str| -> u64 {
        by_class
            .iter()
            .filter(|c| c["class"] == class)
            .map(|c| c["invocations"].as_u64().unwrap())
            .sum()
    };
    let refused_invoked: u64 = by_class
        .iter()
        .filter(|c| refused_row(c))
        .map(|c| c["invocations"].as_u64().unwrap())
        .sum();
    assert_eq!(refused_invoked, 0);
    assert_eq!(invoked("valid"), counts["valid"]);
    assert_eq!(invoked("replayed"), counts["replayed"]);
    assert_eq!(inv["this_run"].as_u64().unwrap(), reaching(&counts));
    for name in ["forged_never_invoked", "counts_conserve", "valid_allowed"] {
        assert_eq!(invariant(&r, name)["status"], "pass", "{name}");
    }
    assert_eq!(invariant(&r, "replay_exposure")["status"], "info");
    // Secrets stay out of the report and the terminal.
    let stdout = text(&o.stdout);
    let json = r.to_string();
    for s in [&stdout, &json] {
        assert!(
            !s.contains("MyStringThatNeedsToBeSigned"),
            "the token leaked"
        );
        assert!(!s.contains("PRIVATE KEY"));
    }
    assert!(
        stdout.contains("forged_never_invoked") && stdout.contains("PASS"),
        "{stdout}"
    );
}

#[test]
fn forged_traffic_reaching_the_authorizer_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    // The invariant is what this judges, not the guard (tests/run/abort.rs): the run goes to its end.
    let body = format!(
        "{SMALL}\n[authorizer]\nsigning_disabled = true\n[abort]\non_forged_invocation = false\n"
    );
    let path = write_scenario(dir.path(), "leaky.toml", &body);
    let out = dir.path().join("out");
    let (o, report) = run(&[path.to_str().unwrap()], &out);
    let stdout = text(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&o.stderr)
    );
    assert!(
        stdout.contains("FAIL") && stdout.contains("forged_never_invoked"),
        "{stdout}"
    );
    let r = report.expect("a failing run still writes its report");
    assert_eq!(r["verdict"], "fail");
    assert_eq!(r["exit_code"], 1);
    let v = invariant(&r, "forged_never_invoked");
    assert_eq!(v["status"], "fail");
    assert!(v["details"]["forged_invocations"].as_u64().unwrap() > 0);
    assert!(
        v["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e.as_str().unwrap().contains("-forged.")),
        "{v}"
    );
    assert_eq!(invariant(&r, "counts_conserve")["status"], "pass");
}

#[test]
fn the_same_seed_reproduces_the_credential_mix() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(dir.path(), "mix.toml", SMALL);
    let p = path.to_str().unwrap();
    let counts = |seed: &str, n: &str| {
        let (o, r) = run(&[p, "--seed", seed], &dir.path().join(n));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
        class_counts(&r.unwrap())
    };
    let a = counts("7", "a");
    let b = counts("7", "b");
    let c = counts("8", "c");
    assert_eq!(a.values().sum::<u64>(), 200);
    assert_eq!(a, b, "same seed, same mix");
    assert_ne!(a, c, "another seed, another mix");
}

#[test]
fn the_closed_model_runs_its_attempt_budget_with_per_device_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[run]\nmodel = \"closed\"\nconcurrency = 4\nmax_attempts = 120\nduration_s = 60.0\n\
                [devices]\ncount = 9\ntoken = \"per_device\"\n[http]\ncredentials_in = \"query\"\n";
    let path = write_scenario(dir.path(), "closed.toml", body);
    let (o, r) = run(&[path.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.unwrap();
    assert_eq!(r["throughput"]["attempts_ended"], 120);
    assert_eq!(
        r["scenario"]["tokens"].as_array().unwrap().len(),
        2,
        "first and last per-device token"
    );
    let counts = class_counts(&r);
    assert_eq!(counts.values().sum::<u64>(), 120);
}

/// An emulator the run did not start (the seed authorizer, an admin listener), and a scenario aimed at it
/// with PEM credentials, its CA and `admin_url` = `admin` (`None`: the emulator's own admin listener).
async fn external_target(
    dir: &std::path::Path,
    admin: Option<String>,
) -> (crate::support::emulator::Handle, std::path::PathBuf) {
    use crate::support::{emulator, keys};
    use tokenstorm::contract::authorizer::FunctionBehaviour;

    let emu = emulator::start(emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::seed_article())],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let (private, _) = keys::write_pems(keys::signing_key(), dir, "signer");
    let admin =
        admin.unwrap_or_else(|| format!("http://{}", emu.addrs().admin.expect("admin listener")));
    let body = format!(
        "[run]\nduration_s = 60.0\nmax_attempts = 150\nrate_per_s = 1000.0\n\
         [devices]\ncount = 10\ntoken = \"per_device\"\n\
         [keys]\nprivate_key_files = [{private:?}]\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nadmin_url = \"{admin}\"\nca_file = {:?}\n\
         [mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 1.0\n",
        emu.https_port(),
        emu.ca_cert_path(),
    );
    let path = write_scenario(dir, "external.toml", &body);
    (emu, path)
}

/// The generator against an emulator it did not start: credentials from PEM files, the CA from the target,
/// and the ledger joined through the emulator's admin API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_emulator_is_judged_through_its_admin_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let (emu, path) = external_target(dir.path(), None).await;
    let admin = emu.addrs().admin.expect("admin listener");
    let out = dir.path().join("out");
    let r = run_expecting(path, out, 0).await;
    assert_eq!(r["target"]["kind"], "external");
    assert_eq!(r["invocations"]["source"], format!("http://{admin}"));
    let counts = class_counts(&r);
    let reached = reaching(&counts);
    assert!(
        reached > 0 && counts.keys().any(|k| k.starts_with("forged.")),
        "{counts:?}"
    );
    assert_eq!(r["invocations"]["this_run"].as_u64().unwrap(), reached);
    // The admin ledger's stamps place every invocation in a second of the run.
    assert_eq!(super::timeseries::invocations_in_series(&r), reached);
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
    // The emulator's own ledger agrees: one entry per valid or replayed attempt, each naming its attempt.
    let entries = emu.ledger().entries();
    assert_eq!(entries.len() as u64, reached);
    assert!(
        entries
            .iter()
            .all(|e| e.attempt_id.as_deref().is_some_and(may_reach))
    );
    emu.stop().await;
}

/// An `admin_url` that cannot be read is an unreadable witness: the run cannot tell whether forged attempts
/// reached the authorizer, so `forged_never_invoked` is inconclusive and the run exits 1 (never skipped, never a pass).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_admin_ledger_is_inconclusive() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (emu, path) = external_target(dir.path(), Some(format!("http://{closed}"))).await;
    let out = dir.path().join("out");
    let (o, r) = tokio::task::spawn_blocking(move || run(&[path.to_str().unwrap()], &out))
        .await
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.unwrap();
    assert_eq!(r["verdict"], "inconclusive");
    let v = invariant(&r, "forged_never_invoked");
    assert_eq!(v["status"], "inconclusive", "{v}");
    let summary = v["summary"].as_str().unwrap();
    assert!(
        summary.contains("cannot read the external ledger")
            && summary.contains(&closed.to_string()),
        "{summary}"
    );
    assert!(text(&o.stdout).contains("result: INCONCLUSIVE (exit 1)"));
    emu.stop().await;
}

/// A ledger far smaller than the run: the run joins it as it goes (and before each eviction), so it misses
/// nothing and the emulator never holds more than 50 entries.
#[test]
fn a_small_embedded_ledger_is_joined_without_missing_entries() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[run]\nduration_s = 120.0\nmax_attempts = 2000\nrate_per_s = 2000.0\n\
         [devices]\ncount = 20\n\
         [target]\nledger_capacity = 50\n\
         [mix]\nvalid = 3.0\nforged = 1.0\nreplayed = 1.0\n";
    let path = write_scenario(dir.path(), "small-ledger.toml", body);
    let out = dir.path().join("out");
    let (o, r) = run(&[path.to_str().unwrap()], &out);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.unwrap();
    assert_eq!(r["scenario"]["resolved"]["target"]["ledger_capacity"], 50);
    let inv = &r["invocations"];
    assert_eq!(inv["source"], "in-process");
    assert_eq!(inv["missed"], 0);
    let counts = class_counts(&r);
    assert_eq!(counts.values().sum::<u64>(), 2000);
    let reached = reaching(&counts);
    assert!(reached > 500, "{counts:?}");
    assert_eq!(inv["total"].as_u64().unwrap(), reached);
    assert_eq!(inv["this_run"].as_u64().unwrap(), reached);
    assert_eq!(
        (inv["after_seq"].as_u64(), inv["last_seq"].as_u64()),
        (Some(0), Some(reached))
    );
    let forged = invariant(&r, "forged_never_invoked");
    assert_eq!(forged["status"], "pass", "{forged}");
    assert_eq!(forged["details"]["ledger_missed"], 0);
    assert_eq!(
        forged["details"]["ledger_joined"].as_u64().unwrap(),
        reached
    );
}
