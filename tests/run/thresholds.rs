//! `[thresholds]` on the real binary: passing checks are verdict rows and JUnit testcases named
//! `threshold: <expr>`; a failing one exits 1 with a JUnit failure carrying the evidence, and one without data is
//! inconclusive; a bad expression exits 2 naming the field and listing the metric names; an `abort_on_fail`
//! check stops a run that would last a minute.

use super::*;

/// 80 attempts at 200/s: under a second.
const SHORT: &str =
    "[run]\nduration_s = 60.0\nmax_attempts = 80\nrate_per_s = 200.0\n[devices]\ncount = 8\n";

fn with_checks(base: &str, checks: &str) -> String {
    format!("{base}[thresholds]\nchecks = [{checks}]\n")
}

/// Runs `body`; returns the output, the report and the run folder.
fn run_body(dir: &Path, body: &str) -> (Output, Option<Value>, PathBuf) {
    let path = write_scenario(dir, "thresholds.toml", body);
    let out = dir.join("out");
    let (o, r) = run(&[path.to_str().unwrap()], &out);
    let folder = std::fs::read_dir(&out)
        .ok()
        .and_then(|mut d| d.next())
        .map(|e| e.unwrap().path())
        .unwrap_or_default();
    (o, r, folder)
}

fn threshold<'a>(r: &'a Value, expr: &str) -> &'a Value {
    invariant(r, &format!("threshold: {expr}"))
}

#[test]
fn passing_thresholds_are_verdict_rows_and_junit_testcases() {
    let dir = tempfile::tempdir().unwrap();
    let checks = [
        "https.valid.allowed.count > 0",
        "https.valid.allowed.p99_ms < 10000",
        "errors.count == 0",
        "invocations.forged == 0",
        "outcomes.allowed.share > 0",
        "throughput.attempts_ended == 80",
    ];
    let quoted: Vec<String> = checks.iter().map(|c| format!("{c:?}")).collect();
    let (o, r, folder) = run_body(dir.path(), &with_checks(SHORT, &quoted.join(", ")));
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{}", text(&o.stderr));
    let r = r.expect("report");
    assert_schema_valid(&r);
    assert_eq!(
        (r["verdict"].as_str(), r["exit_code"].as_u64()),
        (Some("pass"), Some(0))
    );
    let junit = std::fs::read_to_string(folder.join("junit.xml")).unwrap();
    let summary = std::fs::read_to_string(folder.join("summary.md")).unwrap();
    for c in checks {
        let v = threshold(&r, c);
        assert_eq!(v["status"], "pass", "{v}");
        let wanted = c.split_once(' ').unwrap().1;
        assert!(
            v["summary"].as_str().unwrap().starts_with("observed ")
                && v["summary"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("wanted {wanted}")),
            "{v}"
        );
        let xml_name = c.replace('<', "&lt;").replace('>', "&gt;");
        assert!(
            junit.contains(&format!("name=\"threshold: {xml_name}\"")),
            "{c}\n{junit}"
        );
        assert!(
            summary.contains(&format!("threshold: {c}")),
            "{c}\n{summary}"
        );
        assert!(stdout.contains(&format!("threshold: {c}")), "{c}\n{stdout}");
    }
    assert_eq!(
        threshold(&r, "throughput.attempts_ended == 80")["summary"],
        "observed 80, wanted == 80"
    );
}

#[test]
fn a_failing_threshold_exits_1_with_a_junit_failure_and_missing_data_is_inconclusive() {
    let dir = tempfile::tempdir().unwrap();
    let body = with_checks(
        SHORT,
        r#""https.valid.allowed.count<1", "errors.count == 0", "https.valid.throttled.p99_ms < 5""#,
    );
    let (o, r, folder) = run_body(dir.path(), &body);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));
    let r = r.expect("report");
    assert_schema_valid(&r);
    assert_eq!(
        (r["verdict"].as_str(), r["exit_code"].as_u64()),
        (Some("fail"), Some(1))
    );
    let failed = threshold(&r, "https.valid.allowed.count < 1");
    assert_eq!(failed["status"], "fail");
    let evidence = failed["evidence"][0].as_str().unwrap();
    assert!(
        evidence.starts_with("observed ") && evidence.ends_with(", wanted < 1"),
        "{failed}"
    );
    assert_eq!(threshold(&r, "errors.count == 0")["status"], "pass");
    let none = threshold(&r, "https.valid.throttled.p99_ms < 5");
    assert_eq!(none["status"], "inconclusive");
    assert_eq!(
        none["summary"],
        "no data: no https valid throttled latency was measured in this run"
    );
    let junit = std::fs::read_to_string(folder.join("junit.xml")).unwrap();
    let case = junit
        .split("<testcase ")
        .find(|c| c.contains("name=\"threshold: https.valid.allowed.count &lt; 1\""))
        .unwrap_or_else(|| panic!("{junit}"));
    assert!(
        case.contains(&format!(
            "<failure message=\"{}\"",
            evidence.replace('<', "&lt;")
        )),
        "{case}"
    );
    let case = junit
        .split("<testcase ")
        .find(|c| c.contains("name=\"threshold: https.valid.throttled.p99_ms &lt; 5\""))
        .unwrap();
    assert!(case.contains("<error "), "{case}");
}

#[test]
fn a_bad_expression_exits_2_naming_the_field_and_the_metric_names() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (checks, field, says)) in [
        (
            r#""errors.count == 0", "https.valid.alowed.p99_ms < 50""#,
            "thresholds.checks[1]: ",
            vec![
                "unknown metric \"https.valid.alowed.p99_ms\"",
                "Did you mean: https.valid.allowed.p99_ms",
                "invocations.{total,valid,forged,replayed,missed,this_run,foreign}",
                "<transport>.<class>[.<variant>].<outcome>.{count,share,p50_ms",
            ],
        ),
        (
            r#""errors.share < 1%""#,
            "thresholds.checks[0]: ",
            vec!["not a number"],
        ),
        (
            r#""mqtt_tls.valid.connect_connack.p99_ms < 100""#,
            "thresholds.checks[0]: ",
            vec!["does not use the mqtt_tls transport"],
        ),
        (
            r#"{ expr = "https.valid.allowed.p99_ms < 50", abort_on_fail = true }"#,
            "thresholds.checks[0].abort_on_fail: ",
            vec!["cannot be judged while the run goes", "errors.share"],
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir_all(&sub).unwrap();
        let (o, r, _) = run_body(&sub, &with_checks(SHORT, checks));
        let stderr = text(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{checks}: {stderr}");
        assert!(r.is_none(), "no report for a scenario error");
        assert!(stderr.contains(field), "{field}\n{stderr}");
        for s in says {
            assert!(stderr.contains(s), "{s}\n{stderr}");
        }
    }
}

#[test]
fn an_abort_on_fail_threshold_stops_the_run_and_fails_it() {
    let long = "[run]\nduration_s = 60.0\nrate_per_s = 40.0\n[devices]\ncount = 8\n";
    let body = with_checks(
        long,
        r#"{ expr = "outcomes.allowed.count < 20", abort_on_fail = true }, "errors.count == 0""#,
    );
    let dir = tempfile::tempdir().unwrap();
    let (o, r, _) = run_body(dir.path(), &body);
    let stdout = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}\n{}", text(&o.stderr));
    let r = r.expect("an aborted run still writes its report");
    assert_schema_valid(&r);
    let a = &r["safety"]["aborted_by"];
    assert_eq!(a["guard"], "threshold: outcomes.allowed.count < 20", "{a}");
    assert!(a["observed"].as_f64().unwrap() >= 20.0, "{a}");
    assert_eq!(a["limit"], 20.0);
    assert_eq!(
        (r["interrupted"].as_bool(), r["stopped_by"].as_str()),
        (Some(true), Some("abort"))
    );
    assert_eq!(
        (r["verdict"].as_str(), r["exit_code"].as_u64()),
        (Some("fail"), Some(1))
    );
    assert!(r["timing"]["elapsed_s"].as_f64().unwrap() < 60.0);
    let v = threshold(&r, "outcomes.allowed.count < 20");
    assert_eq!(v["status"], "fail");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("abort_on_fail stopped the run"),
        "{v}"
    );
    assert_eq!(threshold(&r, "errors.count == 0")["status"], "pass");
    assert!(
        stdout.contains("by threshold: outcomes.allowed.count < 20 (abort_on_fail): observed"),
        "{stdout}"
    );
}
