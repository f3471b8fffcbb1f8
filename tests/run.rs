//! `tokenstorm run` end to end: the real binary against its embedded emulator (real sockets on port 0, real
//! TLS), judged through its exit code, stdout and report.json.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokenstorm::scenario::{self, Scenario};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tokenstorm")
}

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// Runs `tokenstorm run` with a bounded wait; returns the output and the report (if one was written).
fn run(args: &[&str], out_dir: &Path) -> (Output, Option<Value>) {
    let mut child = Command::new(bin())
        .arg("run")
        .args(args)
        .arg("--out-dir")
        .arg(out_dir)
        .arg("--quiet")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start tokenstorm");
    let deadline = Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tokenstorm run did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    (out, report_in(out_dir))
}

fn report_in(out_dir: &Path) -> Option<Value> {
    let dirs: Vec<_> = std::fs::read_dir(out_dir)
        .ok()?
        .filter_map(Result::ok)
        .collect();
    assert!(dirs.len() <= 1, "one run folder per run");
    let text = std::fs::read_to_string(dirs.first()?.path().join("report.json")).ok()?;
    Some(serde_json::from_str(&text).expect("report.json is JSON"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Attempts per class label, from the report's results.
fn class_counts(report: &Value) -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    for row in report["results"].as_array().expect("results") {
        let label = match row["variant"].as_str() {
            Some(v) => format!("{}.{v}", row["class"].as_str().unwrap()),
            None => row["class"].as_str().unwrap().to_string(),
        };
        *m.entry(label).or_default() += row["count"].as_u64().unwrap();
    }
    m
}

fn invariant<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .expect("invariant present")
}

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
    // Forged attempts are refused by the gate (403) and never reach the authorizer; valid ones are allowed.
    for row in r["results"].as_array().unwrap() {
        let want = if row["class"] == "forged" {
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
    assert_eq!(invoked("forged"), 0);
    assert_eq!(invoked("valid"), counts["valid"]);
    assert_eq!(invoked("replayed"), counts["replayed"]);
    assert_eq!(
        inv["this_run"].as_u64().unwrap(),
        counts["valid"] + counts["replayed"]
    );
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

fn write_scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

const SMALL: &str = r#"
[run]
duration_s = 60.0
max_attempts = 200
rate_per_s = 1000.0
[devices]
count = 20
[mix]
valid = 1.0
forged = 3.0
replayed = 1.0
"#;

#[test]
fn forged_traffic_reaching_the_authorizer_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let body = format!("{SMALL}\n[authorizer]\nsigning_disabled = true\n");
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
fn bad_scenarios_exit_2_naming_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("unknown.toml", "[run]\ndurations = 3\n", "run.durations"),
        (
            "weight.toml",
            "[mix]\nforged = -1.0\n",
            "mix.forged: weight must be ≥ 0",
        ),
        (
            "variant.toml",
            "[mix.forged_variants]\nbit_flip = -2\n",
            "mix.forged_variants.bit_flip",
        ),
        (
            "keyfile.toml",
            "[keys]\nprivate_key_files = [\"missing.pem\"]\n",
            "keys.private_key_files[0]",
        ),
        (
            "type.toml",
            "[devices]\ncount = \"many\"\n",
            "devices.count",
        ),
        (
            "cafile.toml",
            "[target]\nkind = \"external\"\nurl = \"https://127.0.0.1:1\"\nca_file = \"nope.pem\"\n",
            "target.ca_file",
        ),
        (
            "function.toml",
            "[authorizer.function]\nmode = \"deny\"\nprincipal_id = \"x\"\n",
            "authorizer.function",
        ),
    ];
    for (file, body, field) in cases {
        let path = write_scenario(dir.path(), file, body);
        let out = dir.path().join(format!("out-{file}"));
        let (o, report) = run(&[path.to_str().unwrap()], &out);
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{file}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()),
            "{file}: the file is named: {stderr}"
        );
        assert!(
            stderr.contains(field),
            "{file}: {field:?} is named: {stderr}"
        );
        assert!(report.is_none(), "{file}: no report for a setup error");
    }
    let missing = dir.path().join("absent.toml");
    let (o, _) = run(&[missing.to_str().unwrap()], &dir.path().join("out-absent"));
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("absent.toml"));
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

#[cfg(unix)]
#[test]
fn sigint_stops_the_run_and_still_writes_an_interrupted_report() {
    use std::io::{BufRead as _, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(
        dir.path(),
        "long.toml",
        "[run]\nduration_s = 600.0\nrate_per_s = 100.0\n[devices]\ncount = 10\n",
    );
    let out = dir.path().join("out");
    let mut child = Command::new(bin())
        .args([
            "run",
            path.to_str().unwrap(),
            "--out-dir",
            out.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first progress line: the load is running.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "stderr closed before the load started"
        );
        if line.contains("attempts") && line.trim_end().ends_with("/s") {
            break;
        }
    }
    // SAFETY: kill(2) on the child we spawned; no memory is involved.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "run did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stdout));
    let r = report_in(&out).expect("report written after SIGINT");
    assert_eq!(r["interrupted"], true);
    assert!(r["timing"]["elapsed_s"].as_f64().unwrap() < 600.0);
    assert_eq!(
        r["throughput"]["attempts_started"],
        r["throughput"]["attempts_ended"]
    );
    assert!(text(&o.stdout).contains("INTERRUPTED"));
}

#[test]
fn reference_toml_shows_every_field_with_its_default() {
    let path = repo("scenarios/reference.toml");
    let src = std::fs::read_to_string(&path).unwrap();
    let parsed = scenario::parse(&src, "scenarios/reference.toml").expect("reference.toml parses");
    assert_eq!(
        parsed,
        Scenario::default(),
        "reference.toml drifted from Scenario::default()"
    );
    // Every field of the defaults is written out (not left to its default) ...
    let defaults = toml::Table::try_from(Scenario::default()).unwrap();
    let written: toml::Table = toml::from_str(&src).unwrap();
    fn walk(want: &toml::Table, got: &toml::Table, at: &str, missing: &mut Vec<String>) {
        for (k, v) in want {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            match (v, got.get(k)) {
                (toml::Value::Table(w), Some(toml::Value::Table(g))) => walk(w, g, &path, missing),
                (_, None) => missing.push(path),
                _ => {}
            }
        }
    }
    let mut missing = Vec::new();
    walk(&defaults, &written, "", &mut missing);
    assert!(missing.is_empty(), "reference.toml lacks {missing:?}");
    // ... with a comment right above it.
    let lines: Vec<&str> = src.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let t = l.trim();
        if t.contains(" = ") && !t.starts_with('#') {
            assert!(
                i > 0 && lines[i - 1].trim().starts_with('#'),
                "reference.toml line {}: {t:?} has no comment",
                i + 1
            );
        }
    }
}

#[test]
fn shipped_scenarios_parse_and_resolve() {
    for name in ["scenarios/quickstart.toml", "scenarios/reference.toml"] {
        let path = repo(name);
        let s = scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
        let plan = tokenstorm::scenario::Plan::resolve(s, &path).unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.devices > 0);
    }
    let quick = scenario::load(&repo("scenarios/quickstart.toml")).unwrap();
    assert_eq!(quick.authorizer.name, "MyCustomAuthorizer");
    assert_eq!(quick.authorizer.token_key_name, "X-My-App-custom-key");
    assert_eq!(quick.devices.static_token, "MyStringThatNeedsToBeSigned");
    assert_eq!(quick.http.topic, "customAuhtTestTopic");
    assert!(quick.mix.forged > 0.0 && quick.mix.replayed > 0.0 && quick.devices.count >= 200);
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

/// The generator against an emulator it did not start: credentials from PEM files, the CA from the target,
/// and the ledger joined through the emulator's admin API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_emulator_is_judged_through_its_admin_ledger() {
    use crate::support::{emulator, keys};
    use tokenstorm::emulator::FunctionBehaviour;

    let emu = emulator::start(emulator::config(
        vec![emulator::seed_authorizer(FunctionBehaviour::seed_article())],
        Some(keys::SEED_AUTHORIZER),
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (private, _) = keys::write_pems(keys::signing_key(), dir.path(), "signer");
    let admin = emu.addrs().admin.expect("admin listener");
    let body = format!(
        "[run]\nduration_s = 60.0\nmax_attempts = 150\nrate_per_s = 1000.0\n\
         [devices]\ncount = 10\ntoken = \"per_device\"\n\
         [keys]\nprivate_key_files = [{private:?}]\n\
         [target]\nkind = \"external\"\nurl = \"https://127.0.0.1:{}\"\nadmin_url = \"http://{admin}\"\nca_file = {:?}\n\
         [mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 1.0\n",
        emu.https_port(),
        emu.ca_cert_path(),
    );
    let path = write_scenario(dir.path(), "external.toml", &body);
    let out = dir.path().join("out");
    let (o, r) = tokio::task::spawn_blocking(move || run(&[path.to_str().unwrap()], &out))
        .await
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let r = r.unwrap();
    assert_eq!(r["target"]["kind"], "external");
    assert_eq!(r["invocations"]["source"], format!("http://{admin}"));
    let counts = class_counts(&r);
    let reached =
        counts.get("valid").copied().unwrap_or(0) + counts.get("replayed").copied().unwrap_or(0);
    assert!(
        reached > 0 && counts.keys().any(|k| k.starts_with("forged.")),
        "{counts:?}"
    );
    assert_eq!(r["invocations"]["this_run"].as_u64().unwrap(), reached);
    assert_eq!(invariant(&r, "forged_never_invoked")["status"], "pass");
    // The emulator's own ledger agrees: one entry per valid or replayed attempt, each naming its attempt.
    let entries = emu.ledger().entries();
    assert_eq!(entries.len() as u64, reached);
    assert!(entries.iter().all(|e| {
        e.attempt_id
            .as_deref()
            .is_some_and(|id| !id.contains("-forged."))
    }));
    emu.stop().await;
}
