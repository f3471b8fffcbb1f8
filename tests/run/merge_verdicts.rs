//! `tokenstorm merge`'s verdict comes from the evidence: merging the one folder of an unsharded run reproduces
//! its verdict, rows and counts (the evidence is lossless), and a forged invocation in one shard's evidence fails
//! the merged verdict whatever that shard's report.json says.

use super::merge::{folder, merge};
use super::*;

/// Merging the one folder of an unsharded run (0 of 1) gives back its verdict, every verdict row (plus
/// `shards_complete`), its counts, results and time series: the evidence is lossless.
#[test]
fn merging_an_unsharded_run_reproduces_it() {
    let dir = tempfile::tempdir().unwrap();
    let body = "name = \"whole\"\n[run]\nduration_s = 60.0\nmax_attempts = 120\nrate_per_s = 300.0\nseed = 3\n\
                [devices]\ncount = 6\n[mix]\nvalid = 1.0\nforged = 1.0\nreplayed = 1.0\n";
    let scenario = write_scenario(dir.path(), "whole.toml", body);
    let (o, r) = run(&[scenario.to_str().unwrap()], &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = r.unwrap();
    let out = dir.path().join("merged");
    let (o, m) = merge(&[&folder(&dir.path().join("out"))], &out);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let m = m.unwrap();
    assert_schema_valid(&m);
    for k in [
        "verdict",
        "exit_code",
        "throughput",
        "results",
        "transports",
        "phases",
        "errors",
        "sessions",
        "invocations",
        "cost",
        "timeseries",
        "timing",
        "safety",
        "seed",
        "plan_hash",
        "scenario",
    ] {
        assert_eq!(m[k], r[k], "{k}");
    }
    let rows = |r: &Value| -> Vec<Value> {
        r["invariants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["name"] != "shards_complete")
            .cloned()
            .collect()
    };
    assert_eq!(rows(&m), rows(&r));
    assert_eq!(
        invariant(&m, "shards_complete")["summary"],
        "1 of 1 shards merged"
    );
    assert_eq!(m["merged_from"][0]["run_id"], r["run_id"]);
    // The merged folder is an ordinary run folder: every format a run writes.
    for f in [
        "report.html",
        "junit.xml",
        "summary.md",
        "latency.hlog",
        "evidence.json",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    // It refuses to write over a report.
    let (o, _) = merge(&[&folder(&dir.path().join("out"))], &out);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("already holds a report.json"),
        "{}",
        text(&o.stderr)
    );
}

/// Forged attempts reach the authorizer (signing disabled), and with this seed only shard 1 sends any (the plan
/// is seeded: the same attempts every time): shard 0 passes alone, shard 1 fails; the merged verdict fails on the
/// merged evidence, even with shard 1's report.json rewritten to say pass.
#[test]
fn a_forged_invocation_in_one_shard_fails_the_merged_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let body = "name = \"leaky\"\n[run]\nduration_s = 60.0\nmax_attempts = 16\nrate_per_s = 200.0\nseed = 4\n\
                [devices]\ncount = 4\n[mix]\nvalid = 1.0\nforged = 0.15\nreplayed = 0.0\n\
                [authorizer]\nsigning_disabled = true\n[abort]\non_forged_invocation = false\n";
    let scenario = write_scenario(dir.path(), "leaky.toml", body);
    let mut dirs = Vec::new();
    for (i, alone) in [(0, "pass"), (1, "fail")] {
        let out = dir.path().join(format!("s{i}"));
        let shard = format!("{i}/2");
        let (o, r) = run(&[scenario.to_str().unwrap(), "--shard", &shard], &out);
        let r = r.unwrap_or_else(|| panic!("{}", text(&o.stderr)));
        assert_eq!(
            invariant(&r, "forged_never_invoked")["status"],
            alone,
            "shard {i}"
        );
        let d = folder(&out);
        let path = d.join("report.json");
        let mut r: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        r["verdict"] = "pass".into();
        r["exit_code"] = 0.into();
        std::fs::write(&path, r.to_string()).unwrap();
        dirs.push(d);
    }
    let (o, m) = merge(&[&dirs[0], &dirs[1]], &dir.path().join("merged"));
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}{}", text(&o.stderr));
    let m = m.unwrap();
    assert_eq!(m["verdict"], "fail");
    assert_eq!(m["merged_from"][1]["verdict"], "pass");
    let v = invariant(&m, "forged_never_invoked");
    assert_eq!(v["status"], "fail", "{v}");
    assert!(stdout.contains("FAIL") && stdout.contains("forged_never_invoked"));
}
