//! `tokenstorm compare`: a run against itself passes (exit 0); against a run whose authorizer function answers
//! 30 ms slower, the valid rows' p99 regresses and it exits 1; bad input exits 2 naming what is wrong.

use super::*;

fn compare(args: &[&str]) -> Output {
    Command::new(bin())
        .arg("compare")
        .args(args)
        .output()
        .expect("cannot start tokenstorm")
}

/// A one-second run with the authorizer function waiting `latency_ms`; returns its run folder.
fn short_run(dir: &Path, name: &str, latency_ms: u32) -> PathBuf {
    let path = write_scenario(
        dir,
        &format!("{name}.toml"),
        &format!(
            "name = \"{name}\"\n[run]\nduration_s = 60.0\nmax_attempts = 200\nrate_per_s = 200.0\n\
             [devices]\ncount = 4\n[authorizer.function]\nlatency_ms = {latency_ms}\n"
        ),
    );
    let out = dir.join(name);
    let (o, report) = run(&[path.to_str().unwrap()], &out);
    assert!(report.is_some(), "{}", text(&o.stderr));
    std::fs::read_dir(&out)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}

#[test]
fn compare_passes_a_run_against_itself_and_fails_a_slower_authorizer() {
    let dir = tempfile::tempdir().unwrap();
    let base = short_run(dir.path(), "base", 0);
    let slow = short_run(dir.path(), "slow", 30);
    let (base, slow) = (base.to_str().unwrap(), slow.to_str().unwrap());

    let o = compare(&[base, base]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    assert!(
        text(&o.stdout).contains("result: PASS (0 regressions"),
        "{}",
        text(&o.stdout)
    );

    let o = compare(&[base, slow, "--json"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let json: Value = serde_json::from_slice(&o.stdout).expect("--json prints JSON");
    let p99 = json["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["metric"] == "https.valid.allowed.p99_ms")
        .expect("the valid row's p99");
    assert_eq!(p99["mark"], "regressed", "{p99}");
    assert!(p99["delta"].as_f64().unwrap() >= 25.0, "{p99}");

    let o = compare(&[
        base,
        slow,
        "--md",
        "--tolerance",
        "p99=off,p999=off,p50=off",
    ]);
    let md = text(&o.stdout);
    assert!(md.contains("| `https.valid.allowed.p99_ms` |"), "{md}");
    assert!(md.starts_with("## tokenstorm compare"), "{md}");
}

#[test]
fn compare_exits_2_naming_a_missing_run_or_a_bad_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-run");
    let m = missing.to_str().unwrap();
    let o = compare(&[m, m]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains(m), "{}", text(&o.stderr));

    std::fs::write(dir.path().join("report.json"), "[]").unwrap();
    let d = dir.path().to_str().unwrap();
    let o = compare(&[d, d]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("is not a tokenstorm report"),
        "{}",
        text(&o.stderr)
    );

    let o = compare(&[d, d, "--tolerance", "p98=5%"]);
    assert_eq!(o.status.code(), Some(2));
    let e = text(&o.stderr);
    assert!(
        e.contains("unknown key `p98`") && e.contains("p50, p99, p999"),
        "{e}"
    );
}
