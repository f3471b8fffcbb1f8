//! report.json's `timeseries` on a multi-second embedded run over HTTPS, MQTT/TLS and WSS: rows for every second
//! of the load, whose attempt counts add up to the results' per (transport, outcome) and whose invocations add
//! up to the ledger join's per class kind.

use std::collections::{BTreeMap, BTreeSet};

use super::*;

fn sums(rows: &Value, key: impl Fn(&Value) -> String) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for row in rows.as_array().unwrap() {
        *m.entry(key(row)).or_default() += row["count"].as_u64().unwrap();
    }
    m
}

/// The invocations `timeseries` counts over every second (the witness's stamped entries).
pub fn invocations_in_series(r: &Value) -> u64 {
    sums(&r["timeseries"]["invocations"], |_| String::new())
        .values()
        .sum()
}

#[test]
fn a_three_second_run_has_rows_per_second_that_add_up_to_the_results() {
    let out = tempfile::tempdir().unwrap();
    let scenario = repo("scenarios/mixed-transports.toml");
    let args = [
        scenario.to_str().unwrap(),
        "--duration",
        "3",
        "--rate",
        "100",
    ];
    let (o, report) = run(&args, out.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = report.expect("report.json");
    assert_schema_valid(&r);
    let ts = &r["timeseries"];
    assert_eq!(ts["interval_s"], 1);
    assert_eq!(ts["truncated"], false);
    let seconds = ts["seconds"].as_u64().unwrap();
    assert!(seconds >= 3, "{ts}");
    let pair = |row: &Value| {
        format!(
            "{}.{}",
            row["transport"].as_str().unwrap(),
            row["outcome"].as_str().unwrap()
        )
    };
    assert_eq!(sums(&ts["attempts"], pair), sums(&r["results"], pair));
    let attempt_seconds: BTreeSet<u64> = ts["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["second"].as_u64().unwrap())
        .collect();
    assert!(
        attempt_seconds.iter().all(|&s| s < seconds),
        "{attempt_seconds:?}"
    );
    for s in 0..3 {
        assert!(
            attempt_seconds.contains(&s),
            "no attempts ended in second {s}: {attempt_seconds:?}"
        );
    }
    for row in ts["attempts"].as_array().unwrap() {
        assert!(row["count"].as_u64().unwrap() > 0);
        assert!(
            row["p99_us"].is_u64(),
            "no warm-up: every second has latencies: {row}"
        );
    }
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    for row in r["invocations"]["by_class"].as_array().unwrap() {
        let n = row["invocations"].as_u64().unwrap();
        if n > 0 {
            *by_kind
                .entry(row["class"].as_str().unwrap().to_string())
                .or_default() += n;
        }
    }
    let per_second = sums(&ts["invocations"], |row| {
        row["class"].as_str().unwrap().to_string()
    });
    assert!(by_kind["valid"] > 0);
    assert_eq!(per_second, by_kind);
    let invocation_seconds: BTreeSet<u64> = ts["invocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["second"].as_u64().unwrap())
        .collect();
    assert!(invocation_seconds.len() >= 3 && invocation_seconds.iter().all(|&s| s < seconds));
}
