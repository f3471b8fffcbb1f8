//! `tokenstorm run` end to end: the real binary against its embedded emulator (real sockets on port 0, real
//! TLS), judged through its exit code, stdout and report.json.

mod abort;
mod aws;
mod backoff;
mod compare;
mod compat;
mod cost;
mod e2e;
mod kept_up;
mod kicks;
mod live;
mod merge;
mod merge_aws;
mod merge_verdicts;
mod mosquitto;
mod mqtt;
mod preflight;
mod processes;
mod refused_valid;
mod report_cmd;
mod resumption;
pub(crate) mod safety;
mod scenarios;
mod shard;
mod signers;
mod source_addrs;
mod stages;
mod stop;
mod template;
mod thresholds;
mod timeseries;
mod token_schemes;
mod unjudged;
mod username_style;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokenstorm::scenario::{self, Scenario};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_tokenstorm")
}

pub fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

/// A `tokenstorm run` under way: the child, its stderr (to keep reading), its out dir and its first progress line.
pub struct Started {
    pub child: std::process::Child,
    pub err: std::io::BufReader<std::process::ChildStderr>,
    pub out: PathBuf,
    pub progress: String,
}

/// Starts `tokenstorm run` on `body` (written to `dir/long.toml`) with `extra` arguments, its out dir
/// `dir/out`, and waits for its first plain progress line (the load has been running for 5 s).
pub fn start_until_progress(dir: &Path, body: &str, extra: &[&str]) -> Started {
    use std::io::BufRead as _;
    let path = write_scenario(dir, "long.toml", body);
    let out = dir.join("out");
    let mut child = Command::new(bin())
        .args(["run", path.to_str().unwrap(), "--out-dir"])
        .arg(&out)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            err.read_line(&mut line).unwrap() > 0,
            "stderr closed before the load started"
        );
        if line.starts_with("progress ") {
            break;
        }
    }
    Started {
        child,
        err,
        out,
        progress: line,
    }
}

/// Waits (at most `limit`) for a started run to exit; returns its output and the rest of its stderr.
pub fn wait_ended(
    mut child: std::process::Child,
    mut err: std::io::BufReader<std::process::ChildStderr>,
    limit: Duration,
) -> (Output, String) {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut err, &mut rest);
    (child.wait_with_output().unwrap(), rest)
}

/// Runs `tokenstorm run` with a bounded wait; returns the output and the report (if one was written).
pub fn run(args: &[&str], out_dir: &Path) -> (Output, Option<Value>) {
    run_with_env(args, out_dir, &[])
}

/// Runs the scenario at `path` into `out` from a blocking thread (an async test's emulator keeps serving
/// meanwhile); asserts the exit code `want`, showing the run's output otherwise, and returns the report.
pub async fn run_expecting(path: PathBuf, out: PathBuf, want: i32) -> Value {
    let (o, r) = tokio::task::spawn_blocking(move || run(&[path.to_str().unwrap()], &out))
        .await
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(want),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    r.expect("report.json")
}

/// [`run`] with extra environment variables (the AWS credential chain's, for `[target.aws]`).
pub fn run_with_env(
    args: &[&str],
    out_dir: &Path,
    env: &[(&str, &str)],
) -> (Output, Option<Value>) {
    let mut child = Command::new(bin())
        .arg("run")
        .args(args)
        .envs(env.iter().copied())
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

pub fn report_in(out_dir: &Path) -> Option<Value> {
    let dirs: Vec<_> = std::fs::read_dir(out_dir)
        .ok()?
        .filter_map(Result::ok)
        .collect();
    assert!(dirs.len() <= 1, "one run folder per run");
    let text = std::fs::read_to_string(dirs.first()?.path().join("report.json")).ok()?;
    Some(serde_json::from_str(&text).expect("report.json is JSON"))
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Attempts per class label, from the report's results.
/// A report row's class label: `valid`, `replayed[.variant]`, `forged.<variant>`.
pub fn row_label(row: &Value) -> String {
    match row["variant"].as_str() {
        Some(v) => format!("{}.{v}", row["class"].as_str().unwrap()),
        None => row["class"].as_str().unwrap().to_string(),
    }
}

pub fn class_counts(report: &Value) -> std::collections::BTreeMap<String, u64> {
    let mut m = std::collections::BTreeMap::new();
    for row in report["results"].as_array().expect("results") {
        let label = row_label(row);
        *m.entry(label).or_default() += row["count"].as_u64().unwrap();
    }
    m
}

/// Whether attempts of a class label (`valid`, `replayed[.variant]`, `forged.<variant>`) reach the authorizer under
/// the default gate settings, as the oracle says: valid and replayed ones do, and the few forged variants that
/// pass the gate (`raw_plus`, `duplicated_token`, `smuggled_equals`).
pub fn reaches_authorizer(label: &str) -> bool {
    use tokenstorm::attempt::oracle;
    use tokenstorm::contract::Forgery;
    match label.strip_prefix("forged.") {
        Some(v) => {
            let f = Forgery::from_name(v).unwrap_or_else(|| panic!("{v}: no such variant"));
            !oracle::entry(f).refused_under(&Default::default())
        }
        None => true,
    }
}

/// Attempts of the classes that reach the authorizer ([`reaches_authorizer`]).
pub fn reaching(counts: &std::collections::BTreeMap<String, u64>) -> u64 {
    counts
        .iter()
        .filter(|(k, _)| reaches_authorizer(k))
        .map(|(_, n)| n)
        .sum()
}

/// Whether a report row (`results[]`, `invocations.by_class[]`) is of a forged variant the gate must refuse.
pub fn refused_row(row: &Value) -> bool {
    row["class"] == "forged" && !reaches_authorizer(&row_label(row))
}

/// Whether a ledger attempt id is of a class that may reach the authorizer.
pub fn may_reach(attempt_id: &str) -> bool {
    tokenstorm::contract::attempt_id::parse(attempt_id)
        .is_some_and(|a| reaches_authorizer(a.class.label()))
}

pub fn invariant<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .expect("invariant present")
}

pub fn write_scenario(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

pub const SMALL: &str = r#"
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

/// A report checked against reports/schema.json by the pinned jsonschema (the test venv's Python).
pub fn assert_schema_valid(report: &Value) {
    let script = "import json, sys, jsonschema\n\
                  schema = json.load(open(sys.argv[1]))\n\
                  jsonschema.validate(json.load(sys.stdin), schema, cls=jsonschema.Draft202012Validator)\n";
    let mut child = std::process::Command::new(repo(".venv/bin/python"))
        .args(["-c", script, repo("reports/schema.json").to_str().unwrap()])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect(".venv/bin/python (run scripts/test to build the venv)");
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(report.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "report.json does not match the schema: {}",
        text(&out.stderr)
    );
}
