//! `run --processes N` on the real binary: N shard processes, each with its own embedded emulator, merged into one
//! report at the top of one run folder (the shards' folders under `shards/<i>/`); SIGINT to the parent gives a
//! merged interrupted report (exit 3); a shard killed mid-run fails the run, named, with a partial merged report
//! that says inconclusive; a shard's setup error is the run's (exit 2, quoted); a bad scenario or `--shard` with
//! `--processes` exits 2 before any process starts.

#![cfg(unix)]

use std::io::{BufRead as _, BufReader};
use std::process::{Child, ChildStderr};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::*;

/// An attempt-bounded plan (the bound comes from `--attempts`, forwarded to every shard).
const PLAN: &str = "name = \"procs\"\n[run]\nduration_s = 60.0\nmax_attempts = 1000\nrate_per_s = 300.0\n\
                    seed = 5\n[devices]\ncount = 7\n";

/// A plan that would run a minute at a low rate.
const LONG: &str =
    "name = \"long\"\n[run]\nduration_s = 60.0\nrate_per_s = 20.0\n[devices]\ncount = 4\n";

/// The one run folder under `out`.
fn run_folder(out: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one run folder: {dirs:?}");
    dirs[0].clone()
}

#[test]
fn three_processes_make_one_merged_report_equal_to_the_plan() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "procs.toml", PLAN);
    let out = dir.path().join("out");
    let args = [
        scenario.to_str().unwrap(),
        "--processes",
        "3",
        "--attempts",
        "150",
    ];
    let (o, report) = run(&args, &out);
    let report = report.unwrap_or_else(|| panic!("no merged report\n{}", text(&o.stderr)));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert_eq!(report["throughput"]["attempts_started"], 150);
    assert_eq!(report["throughput"]["attempts_ended"], 150);
    assert_eq!(invariant(&report, "shards_complete")["status"], "pass");
    let folder = run_folder(&out);
    let mut started = 0;
    for i in 0..3 {
        let shard = folder.join("shards").join(i.to_string());
        let text = std::fs::read_to_string(shard.join("report.json"))
            .unwrap_or_else(|e| panic!("shard {i}: {e}"));
        let r: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(r["shard"]["index"], i);
        assert_eq!(r["plan_hash"], report["plan_hash"]);
        started += r["throughput"]["attempts_started"].as_u64().unwrap();
        assert!(shard.join("stdout.txt").is_file());
    }
    assert_eq!(
        started, 150,
        "the shards' attempts add up to the merged count"
    );
    for file in ["junit.xml", "summary.md", "report.html"] {
        assert!(
            folder.join(file).is_file(),
            "{file} at the run folder's top"
        );
    }
    assert!(
        text(&o.stdout).contains("result: PASS"),
        "{}",
        text(&o.stdout)
    );
    assert_schema_valid(&report);
}

/// Starts `--processes n` on `body` with `extra` flags (progress on: the parent's summed status) and waits for its
/// first progress line, the shards under way. Returns the parent, its stderr and the out dir.
fn start(
    dir: &Path,
    body: &str,
    n: &str,
    extra: &[&str],
) -> (Child, BufReader<ChildStderr>, PathBuf) {
    let s = start_until_progress(dir, body, &[&["--processes", n], extra].concat());
    assert!(s.progress.contains("shards running"), "{}", s.progress);
    (s.child, s.err, s.out)
}

/// Waits (at most 60 s) for the parent to exit; its output and the rest of its stderr.
fn ended(child: Child, err: BufReader<ChildStderr>) -> (Output, String) {
    wait_ended(child, err, Duration::from_secs(60))
}

/// The parent's child processes (from /proc), with the `--shard` each runs.
fn shards_of(parent: &Child) -> Vec<(i32, String)> {
    let tasks = format!("/proc/{}/task", parent.id());
    let mut out = Vec::new();
    for task in std::fs::read_dir(tasks).unwrap() {
        let children = std::fs::read_to_string(task.unwrap().path().join("children")).unwrap();
        for pid in children.split_whitespace() {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            if let Some(i) = args.iter().position(|a| a == "--shard") {
                out.push((pid.parse().unwrap(), args[i + 1].clone()));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

#[test]
fn sigint_to_the_parent_writes_a_merged_interrupted_report() {
    let dir = tempfile::tempdir().unwrap();
    let (child, err, out) = start(dir.path(), LONG, "2", &[]);
    assert_eq!(shards_of(&child).len(), 2, "two shard processes");
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let (o, rest) = ended(child, err);
    assert_eq!(o.status.code(), Some(3), "{}{rest}", text(&o.stdout));
    assert!(rest.contains("SIGINT: stopping the shards"), "{rest}");
    let r = report_in(&out).expect("a merged report after SIGINT");
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["exit_code"], 3);
    assert!(r["timing"]["elapsed_s"].as_f64().unwrap() < 60.0);
    assert_eq!(invariant(&r, "shards_complete")["status"], "pass");
    let folder = run_folder(&out);
    for i in 0..2 {
        let shard: Value = serde_json::from_str(
            &std::fs::read_to_string(folder.join(format!("shards/{i}/report.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(
            shard["stopped_by"], "signal",
            "shard {i} got the forwarded signal"
        );
    }
}

#[test]
fn the_stop_file_stops_every_shard_and_the_merged_report_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let stop = dir.path().join("stop-now");
    let (child, err, out) = start(
        dir.path(),
        LONG,
        "2",
        &["--stop-file", stop.to_str().unwrap()],
    );
    std::fs::write(&stop, "").unwrap();
    let (o, rest) = ended(child, err);
    assert_eq!(o.status.code(), Some(3), "{}{rest}", text(&o.stdout));
    let r = report_in(&out).expect("a merged report after the stop file");
    assert_eq!(r["interrupted"], true);
    assert_eq!(r["stopped_by"], "stop_file");
}

#[test]
fn a_shard_killed_mid_run_fails_the_run_named_with_an_inconclusive_report() {
    let dir = tempfile::tempdir().unwrap();
    let body = LONG.replace("duration_s = 60.0", "duration_s = 12.0");
    let (child, err, out) = start(dir.path(), &body, "2", &[]);
    let shards = shards_of(&child);
    let (pid, shard) = shards
        .iter()
        .find(|(_, s)| s == "1/2")
        .expect("shard 1/2 running");
    kill(Pid::from_raw(*pid), Signal::SIGKILL).unwrap();
    let (o, rest) = ended(child, err);
    assert_eq!(o.status.code(), Some(1), "{}{rest}", text(&o.stdout));
    assert!(
        rest.contains(&format!("shard {shard} killed by SIGKILL")),
        "{rest}"
    );
    let r = report_in(&out).expect("a partial merged report");
    assert_eq!(invariant(&r, "shards_complete")["status"], "inconclusive");
    assert_eq!(r["exit_code"], 1);
}

#[test]
fn a_shards_setup_error_is_the_runs_named_and_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let body = "[run]\nduration_s = 60.0\nrate_per_s = 20.0\n[devices]\ncount = 4\n[target]\n\
                kind = \"external\"\nurl = \"https://10.99.0.1:8443\"\n\
                endpoint_name = \"example-ats.iot.eu-west-1.amazonaws.com\"\n";
    let scenario = write_scenario(dir.path(), "remote.toml", body);
    let (o, report) = run(
        &[scenario.to_str().unwrap(), "--processes", "2"],
        &dir.path().join("out"),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(report.is_none());
    let err = text(&o.stderr);
    assert!(err.contains("exited 2 (a setup error)"), "{err}");
    assert!(err.contains("needs the --allow-remote flag"), "{err}");
    assert!(
        err.contains("shard 0/2") || err.contains("shard 1/2"),
        "{err}"
    );
}

#[test]
fn a_bad_scenario_exits_2_once_before_any_process_starts() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "bad.toml", "[run]\nduration_s = -1.0\n");
    let out = dir.path().join("out");
    let (o, _) = run(&[scenario.to_str().unwrap(), "--processes", "3"], &out);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert_eq!(
        err.matches("error:").count(),
        1,
        "one error, from the parent: {err}"
    );
    assert!(err.contains("bad.toml"), "{err}");
    assert!(!out.exists(), "no run folder, no shard started");
}

#[test]
fn processes_with_shard_preflight_or_metrics_addr_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "procs.toml", PLAN);
    let s = scenario.to_str().unwrap();
    let out = dir.path().join("out");
    for (extra, names) in [
        (&["--shard", "0/2"][..], "--shard"),
        (&["--preflight"][..], "--preflight"),
        (&["--metrics-addr", "127.0.0.1:0"][..], "--metrics-addr"),
        (&[][..], "0"),
    ] {
        let n = if extra.is_empty() { "0" } else { "2" };
        let mut args = vec![s, "--processes", n];
        args.extend_from_slice(extra);
        let (o, _) = run(&args, &out);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = text(&o.stderr);
        assert!(
            err.contains("--processes") && err.contains(names),
            "{args:?}: {err}"
        );
        assert!(!out.exists(), "{args:?}: nothing started");
    }
}

/// Whether process `pid` is gone (or a zombie: dead, not yet reaped by its new parent).
fn gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X')),
    }
}

#[test]
fn the_shards_die_with_the_parent_even_when_it_is_killed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, _err, _out) = start(dir.path(), LONG, "2", &[]);
    let shards = shards_of(&child);
    assert_eq!(shards.len(), 2);
    child.kill().unwrap();
    child.wait().unwrap();
    all_gone(&shards);
}

/// Waits (at most 10 s: the kernel's kill is not instant) until every shard process is gone.
fn all_gone(shards: &[(i32, String)]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !shards.iter().all(|(pid, _)| gone(*pid)) {
        assert!(
            Instant::now() < deadline,
            "a shard outlived its parent: {shards:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_sigint_kills_the_shards_and_exits_at_once_without_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let (child, mut err, out) = start(dir.path(), LONG, "2", &[]);
    let shards = shards_of(&child);
    let parent = Pid::from_raw(child.id() as i32);
    kill(parent, Signal::SIGINT).unwrap();
    let mut line = String::new();
    while !line.contains("SIGINT: stopping the shards") {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "no stopping line");
    }
    kill(parent, Signal::SIGINT).unwrap();
    let (o, rest) = ended(child, err);
    assert_eq!(o.status.code(), Some(130), "{rest}");
    assert!(rest.contains("killed the shards"), "{rest}");
    assert!(report_in(&out).is_none(), "no merged report");
    all_gone(&shards);
}
