//! The comparison's judgements on small hand-made runs.

use super::tolerance::Tolerance;
use super::view::RunView;
use super::*;

fn run(p99_us: u64, rate: f64, forged_allowed: bool) -> RunView {
    let mut results = vec![serde_json::json!({
        "transport": "https", "class": "valid", "variant": null, "outcome": "allowed", "count": 100,
        "latency_us": {"count": 100, "min": 500, "p50": 1000, "p90": 1000, "p99": p99_us, "p999": p99_us,
                       "max": p99_us}
    })];
    if forged_allowed {
        results.push(serde_json::json!({
            "transport": "https", "class": "forged", "variant": "bit_flip", "outcome": "allowed", "count": 1,
            "latency_us": null
        }));
    }
    serde_json::from_value(serde_json::json!({
        "scenario": {"name": "s"},
        "throughput": {"attempts_ended": 100, "attempts_per_s": rate},
        "results": results,
        "errors": [],
        "invocations": {"source": "in-process", "by_class": [{"class": "valid", "variant": null,
            "attempts": 100, "invocations": 100, "allowed": 100, "denied": 0}]},
        "cost": null,
        "verdict": "pass"
    }))
    .unwrap()
}

fn marks(c: &Comparison, mark: Mark) -> Vec<&str> {
    c.lines
        .iter()
        .filter(|l| l.mark == mark)
        .map(|l| l.metric.as_str())
        .collect()
}

#[test]
fn a_run_against_itself_has_no_regression() {
    let r = run(5000, 100.0, false);
    let c = compare(&r, &r, &Tolerance::default(), ("a", "a"));
    assert_eq!(c.regressions, 0);
    assert_eq!(c.verdict, "pass");
}

#[test]
fn slower_p99_and_lower_throughput_regress_beyond_tolerance() {
    let c = compare(
        &run(5000, 100.0, false),
        &run(60000, 90.0, false),
        &Tolerance::default(),
        ("a", "b"),
    );
    assert_eq!(
        marks(&c, Mark::Regressed),
        [
            "throughput.attempts_per_s",
            "https.valid.allowed.p99_ms",
            "https.valid.allowed.p999_ms"
        ]
    );
    let p99 = c
        .lines
        .iter()
        .find(|l| l.metric.ends_with("p99_ms"))
        .unwrap();
    assert_eq!(
        (p99.base, p99.current, p99.delta),
        (Some(5.0), Some(60.0), Some(55.0))
    );
    assert_eq!(p99.change_pct, Some(1100.0));
}

#[test]
fn changes_under_the_floor_are_noise() {
    // 200 µs -> 900 µs is +350% but under the 1 ms floor.
    let c = compare(
        &run(200, 100.0, false),
        &run(900, 100.0, false),
        &Tolerance::default(),
        ("a", "b"),
    );
    assert_eq!(c.regressions, 0);
    let t = Tolerance::parse("floor=100us").unwrap();
    let c = compare(
        &run(200, 100.0, false),
        &run(900, 100.0, false),
        &t,
        ("a", "b"),
    );
    assert_eq!(c.regressions, 2, "{:?}", marks(&c, Mark::Regressed));
}

#[test]
fn an_added_row_regresses_only_when_it_is_a_failure() {
    let base = run(5000, 100.0, false);
    let c = compare(
        &base,
        &run(5000, 100.0, true),
        &Tolerance::default(),
        ("a", "b"),
    );
    assert_eq!(
        marks(&c, Mark::Regressed),
        ["https.forged.bit_flip.allowed.count"]
    );
    let c = compare(
        &run(5000, 100.0, true),
        &base,
        &Tolerance::default(),
        ("a", "b"),
    );
    assert_eq!(
        marks(&c, Mark::Removed),
        ["https.forged.bit_flip.allowed.count"]
    );
    assert_eq!(c.regressions, 0);
}

#[test]
fn renderers_show_every_line_and_the_result() {
    let c = compare(
        &run(5000, 100.0, false),
        &run(60000, 100.0, false),
        &Tolerance::default(),
        ("a", "b"),
    );
    let t = render::terminal(&c);
    assert!(t.contains("https.valid.allowed.p99_ms"), "{t}");
    assert!(t.contains("REGRESSED"), "{t}");
    assert!(t.contains("result: FAIL (2 regressions"), "{t}");
    let md = render::markdown(&c);
    assert!(
        md.contains(
            "| `https.valid.allowed.p99_ms` | 5.000 | 60.000 | +55.000 | +1100.0% | **REGRESSED** |"
        ),
        "{md}"
    );
    let json: serde_json::Value = serde_json::from_str(&render::json(&c).unwrap()).unwrap();
    assert_eq!(json["verdict"], "fail");
    assert_eq!(json["tolerance"]["p99"], "10%");
}

#[test]
fn rows_with_few_attempts_show_latencies_without_judging_them() {
    let t = Tolerance::parse("min_count=101").unwrap();
    let c = compare(
        &run(5000, 100.0, false),
        &run(60000, 100.0, false),
        &t,
        ("a", "b"),
    );
    assert_eq!(c.regressions, 0, "{:?}", marks(&c, Mark::Regressed));
    assert!(Tolerance::parse("min_count=many").is_err());
}
