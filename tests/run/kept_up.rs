//! `generator_kept_up`: a run whose rate one pinned core cannot reach (HTTPS at 20 000/s against the embedded
//! emulator, `taskset -c 0`) fails it naming the CPU; the quickstart's rate passes it.

use super::*;

fn kept_up(report: &Value) -> &Value {
    report["invariants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "generator_kept_up")
        .expect("a generator_kept_up verdict")
}

#[test]
fn a_rate_one_pinned_core_cannot_reach_fails_generator_kept_up_naming_the_cpu() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_scenario(
        dir.path(),
        "overload.toml",
        "name = \"overload\"\n[run]\nduration_s = 1.5\nrate_per_s = 20000.0\n[devices]\ncount = 200\n",
    );
    let out = dir.path().join("out");
    // taskset is util-linux's: on every Debian system, so a missing one is a failure, never a skip.
    let o = Command::new("taskset")
        .args([
            "-c",
            "0",
            bin(),
            "run",
            path.to_str().unwrap(),
            "--quiet",
            "--out-dir",
        ])
        .arg(&out)
        .output()
        .expect("cannot start taskset (util-linux)");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}{}",
        text(&o.stdout),
        text(&o.stderr)
    );
    let report = report_in(&out).expect("report.json written");
    let v = kept_up(&report);
    assert_eq!(v["status"], "fail", "{v}");
    assert_eq!(
        v["summary"], "the generator, not the target, limited the run: CPU",
        "{v}"
    );
    let e = v["evidence"][0].as_str().unwrap();
    assert!(
        e.contains("schedule lag p99") && e.contains("of 1 core"),
        "{e}"
    );
    assert!(e.ends_with("the generator could not keep up"), "{e}");
    assert_eq!(v["details"]["cores"], 1, "{v}");
    let junit = std::fs::read_to_string(
        std::fs::read_dir(&out)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
            .join("junit.xml"),
    )
    .unwrap();
    assert!(junit.contains("the generator could not keep up"), "{junit}");
}

#[test]
fn the_quickstart_rate_passes_generator_kept_up() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (o, report) = run(&["--attempts", "300", "--duration", "30"], &out);
    let report = report.unwrap_or_else(|| panic!("{}", text(&o.stderr)));
    let v = kept_up(&report);
    assert_eq!(v["status"], "pass", "{v}");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("schedule lag p99"),
        "{v}"
    );
    assert_eq!(v["details"]["missed"], 0, "{v}");
}
