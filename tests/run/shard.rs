//! `run --shard I/N`: two shards of an attempt-bounded plan against their embedded emulators add up to the
//! unsharded run, attempt for attempt and class for class, and carry the unsharded run's plan hash; a bad
//! `--shard` value is a usage error (exit 2) naming the flag.

use super::*;

const PLAN: &str = "name = \"sharded\"\n[run]\nduration_s = 60.0\nmax_attempts = 150\nrate_per_s = 300.0\n\
                    seed = 5\n[devices]\ncount = 7\n";

/// Runs the plan (with `extra` flags) into its own folder; the report.
fn run_plan(dir: &Path, scenario: &Path, name: &str, extra: &[&str]) -> Value {
    let shard = extra
        .iter()
        .position(|&a| a == "--shard")
        .map(|i| extra[i + 1]);
    let mut args = vec![scenario.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (o, report) = run(&args, &dir.join(name));
    let report = report.unwrap_or_else(|| panic!("{name}: no report\n{}", text(&o.stderr)));
    assert_eq!(
        o.status.code(),
        Some(0),
        "{name}: {}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    if let Some(s) = shard {
        let line = format!("· shard {s} of {}", report["plan_hash"].as_str().unwrap());
        assert!(text(&o.stdout).contains(&line), "{}", text(&o.stdout));
    }
    report
}

#[test]
fn two_shards_add_up_to_the_unsharded_run_under_one_plan_hash() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "sharded.toml", PLAN);
    let whole = run_plan(dir.path(), &scenario, "whole", &[]);
    let a = run_plan(dir.path(), &scenario, "a", &["--shard", "0/2"]);
    let b = run_plan(dir.path(), &scenario, "b", &["--shard", "1/2"]);

    let started = |r: &Value| r["throughput"]["attempts_started"].as_u64().unwrap();
    assert_eq!(started(&whole), 150);
    assert!(started(&a) > 0 && started(&b) > 0);
    assert_eq!(started(&a) + started(&b), started(&whole));
    let mut sum = class_counts(&a);
    for (class, n) in class_counts(&b) {
        *sum.entry(class).or_default() += n;
    }
    assert_eq!(
        sum,
        class_counts(&whole),
        "the same attempts, class by class"
    );

    let devices = |r: &Value| r["transports"][0]["devices"].as_u64().unwrap();
    assert_eq!(
        (devices(&whole), devices(&a), devices(&b)),
        (7, 4, 3),
        "device d in shard d mod 2"
    );

    let hash = whole["plan_hash"].as_str().unwrap();
    assert!(hash.starts_with("sha256:"), "{hash}");
    assert_eq!(a["plan_hash"], hash);
    assert_eq!(b["plan_hash"], hash);
    assert_eq!(whole["shard"], Value::Null);
    assert_eq!(a["shard"], serde_json::json!({"index": 0, "count": 2}));
    assert_eq!(b["shard"], serde_json::json!({"index": 1, "count": 2}));
    assert_schema_valid(&a);

    // Another seed is another plan.
    let other = run_plan(
        dir.path(),
        &scenario,
        "other",
        &["--seed", "6", "--attempts", "10"],
    );
    assert_ne!(other["plan_hash"], hash);
}

#[test]
fn a_bad_shard_is_a_usage_error_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = write_scenario(dir.path(), "sharded.toml", PLAN);
    for bad in ["3/3", "0/0", "x", "1/-2"] {
        let (o, report) = run(
            &[scenario.to_str().unwrap(), "--shard", bad],
            &dir.path().join("out"),
        );
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains("--shard"),
            "{bad}: {}",
            text(&o.stderr)
        );
        assert!(report.is_none(), "{bad}: no run");
    }
}

/// Per-device tokens with forgeries and replays: each shard signs only its own devices' credential sets (and
/// the valid pairs its replays reuse), and every verdict still holds in each, class counts adding up to the
/// unsharded run's: no attempt sends a credential its shard did not prepare.
#[test]
fn shards_of_a_per_device_plan_sign_their_own_credentials_and_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let plan = format!(
        "{PLAN}token = \"per_device\"\n[mix]\nvalid = 60.0\nforged = 30.0\nreplayed = 10.0\n"
    );
    let scenario = write_scenario(dir.path(), "per-device.toml", &plan);
    let whole = run_plan(dir.path(), &scenario, "whole", &[]);
    let parts: Vec<Value> = (0..3)
        .map(|i| {
            run_plan(
                dir.path(),
                &scenario,
                &format!("s{i}"),
                &["--shard", &format!("{i}/3")],
            )
        })
        .collect();
    let mut sum = std::collections::BTreeMap::<String, u64>::new();
    for r in &parts {
        assert_eq!(r["verdict"], "pass", "{}", r["invariants"]);
        for (class, n) in class_counts(r) {
            *sum.entry(class).or_default() += n;
        }
    }
    assert_eq!(sum, class_counts(&whole));
    assert!(
        sum.keys().any(|c| c.starts_with("forged"))
            && sum.keys().any(|c| c.starts_with("replayed")),
        "{sum:?}"
    );
}
