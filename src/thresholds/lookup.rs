//! Reads a [`Metric`]'s value off a report's JSON form (pure): the run's `serde_json::to_value` of the
//! [`crate::report::Report`] or a saved `report.json`, so `tokenstorm compare` reads old runs the same way. A
//! metric with no data in the report (a row that never occurred, no ledger for `invocations.*`, a percentile
//! over several variants' rows) is an `Err` with the reason, never a made-up zero.

use serde_json::Value;

use super::metrics::{Metric, Scope, Stat, parse};
use crate::contract::{Forgery, Transport};
use crate::wire::settings::GateSettings;

/// The value of the metric named `name` in `report`; `Err`: unknown name or no data (the reason).
pub fn value_of(report: &Value, name: &str) -> Result<f64, String> {
    let m = parse(name).ok_or_else(|| format!("{name} is not a metric name"))?;
    value(report, &m)
}

/// Every metric name that has a value in `report` (for listing and for comparing two runs).
pub fn names_in(report: &Value) -> Vec<String> {
    // Only the transports and classes with rows: the whole namespace holds some 16 000 names.
    let rows = || array(report, "results").chain(array(report, "phases_by_kind"));
    let scope = Scope::of(
        Transport::ALL
            .into_iter()
            .filter(|t| rows().any(|r| r["transport"] == t.as_str())),
        |c| rows().any(|r| r["class"] == c.kind() && r["variant"].as_str() == c.variant()),
    );
    scope
        .names()
        .into_iter()
        .filter(|n| value_of(report, n).is_ok())
        .collect()
}

/// The value of `m` in `report`; `Err`: why there is none.
pub fn value(report: &Value, m: &Metric) -> Result<f64, String> {
    match *m {
        Metric::Row {
            transport,
            kind,
            variant,
            outcome,
            stat,
        } => {
            let what = variant.map_or(kind.to_string(), |v| format!("{kind}.{v}"));
            let label = format!("{} {what}", transport.as_str());
            let rows: Vec<&Value> = array(report, "results")
                .filter(|r| {
                    row_is(r, transport, kind)
                        && (variant.is_none() || r["variant"] == variant.unwrap_or(""))
                })
                .collect();
            let of: Vec<&Value> = rows
                .iter()
                .copied()
                .filter(|r| r["outcome"] == outcome.as_str())
                .collect();
            let all: u64 = rows.iter().map(|r| count(r)).sum();
            if all == 0 {
                return Err(format!("no {label} attempts ended in this run"));
            }
            let n: u64 = of.iter().map(|r| count(r)).sum();
            match stat {
                Stat::Count => Ok(n as f64),
                Stat::Share => Ok(n as f64 / all as f64),
                _ => latency(
                    &of,
                    stat,
                    &format!("{label} {}", outcome.as_str()),
                    "latency_us",
                ),
            }
        }
        Metric::Phase {
            transport,
            kind,
            phase,
            stat,
        } => {
            let rows: Vec<&Value> = array(report, "phases_by_kind")
                .filter(|r| row_is(r, transport, kind) && r["phase"] == phase.as_str())
                .collect();
            let label = format!("{} {kind} {}", transport.as_str(), phase.as_str());
            if rows.is_empty() {
                return Err(format!("no {label} was measured in this run"));
            }
            latency(&rows, stat, &label, "latency_us")
        }
        Metric::Outcome { outcome, stat } => {
            let all: u64 = array(report, "results").map(count).sum();
            let n: u64 = array(report, "results")
                .filter(|r| r["outcome"] == outcome.as_str())
                .map(count)
                .sum();
            match (stat, all) {
                (Stat::Count, _) => Ok(n as f64),
                (_, 0) => Err("no attempt ended in this run".into()),
                _ => Ok(n as f64 / all as f64),
            }
        }
        Metric::Named(name) => named(report, name),
    }
}

fn array<'a>(report: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    report[key]
        .as_array()
        .map(|a| a.iter())
        .into_iter()
        .flatten()
}

fn row_is(r: &Value, t: Transport, kind: &str) -> bool {
    r["transport"] == t.as_str() && r["class"] == kind
}

fn count(r: &Value) -> u64 {
    r["count"].as_u64().unwrap_or(0)
}

/// A latency statistic (ms) or the count of the rows' histograms. Several rows (a class's variants) give their
/// total count, their maximum and their count-weighted mean; their percentiles cannot be merged from the
/// report, so those need one row (name the variant).
fn latency(rows: &[&Value], stat: Stat, label: &str, key: &str) -> Result<f64, String> {
    let hists: Vec<&Value> = rows
        .iter()
        .map(|r| &r[key])
        .filter(|h| h.is_object())
        .collect();
    let n = |h: &Value| h["count"].as_u64().unwrap_or(0);
    let total: u64 = hists.iter().map(|h| n(h)).sum();
    if stat == Stat::Count {
        return Ok(total as f64);
    }
    if total == 0 {
        return Err(format!("no {label} latency was measured in this run"));
    }
    let ms = |h: &Value, f: &str| h[f].as_f64().unwrap_or(0.0) / 1000.0;
    match (stat, &hists[..]) {
        (Stat::Max, _) => Ok(hists.iter().map(|h| ms(h, "max")).fold(0.0, f64::max)),
        (Stat::Mean, _) => Ok(hists
            .iter()
            .map(|h| ms(h, "mean") * n(h) as f64)
            .sum::<f64>()
            / total as f64),
        (_, [h]) => Ok(ms(h, stat.field().unwrap_or("max"))),
        _ => Err(format!(
            "{label} spans {} rows (one per variant) and the report keeps no merged percentiles: name one \
             variant",
            hists.len()
        )),
    }
}

/// Whether a forged `by_class` row is of a variant the gate must refuse under the run's `target.gate`
/// settings: one the oracle lets through is in effect a valid credential (`forged_never_invoked` and the live
/// count leave it out too). Unreadable settings: every forged row counts.
fn must_refuse(report: &Value, row: &Value) -> bool {
    let gate = serde_json::from_value::<GateSettings>(report["target"]["gate"].clone());
    let forgery = row["variant"].as_str().and_then(Forgery::from_name);
    match (gate, forgery) {
        (Ok(g), Some(f)) => crate::attempt::oracle::entry(f).refused_under(&g),
        _ => true,
    }
}

/// One of [`super::metrics::NAMED`].
fn named(report: &Value, name: &str) -> Result<f64, String> {
    let num = |v: &Value, what: &str| {
        v.as_f64()
            .ok_or_else(|| format!("the report has no {what}"))
    };
    let (family, rest) = name.split_once('.').unwrap_or((name, ""));
    match family {
        "errors" => {
            let n: u64 = array(report, "errors").map(count).sum();
            if rest == "count" {
                return Ok(n as f64);
            }
            match report["throughput"]["attempts_ended"].as_u64() {
                Some(ended) if ended > 0 => Ok(n as f64 / ended as f64),
                _ => Err("no attempt ended in this run".into()),
            }
        }
        "invocations" => {
            let inv = &report["invocations"];
            if inv.is_null() {
                return Err("no ledger was read in this run (a real endpoint, or an external emulator without admin_url)".into());
            }
            match rest {
                "valid" | "forged" | "replayed" => Ok(array(inv, "by_class")
                    .filter(|c| c["class"] == rest && (rest != "forged" || must_refuse(report, c)))
                    .map(|c| c["invocations"].as_f64().unwrap_or(0.0))
                    .sum()),
                _ => num(&inv[rest], name),
            }
        }
        "cost" => {
            let cost = &report["cost"];
            if cost.is_null() {
                return Err("the report has no cost (no ledger was read in this run)".into());
            }
            let (row, field) = match rest.split_once('.') {
                Some((kind, field)) => (
                    array(cost, "by_class")
                        .find(|r| r["class"] == kind)
                        .unwrap_or(&Value::Null),
                    field,
                ),
                None => (&cost["total"], rest),
            };
            let field = match field {
                "invocations" | "messages" | "invocations_per_24h" | "per_24h_usd" => field,
                _ => "total_usd",
            };
            num(&row[field], &format!("{name} (nothing elapsed)"))
        }
        _ => num(&report[family][rest], name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hist(count: u64, p99: u64, max: u64, mean: f64) -> Value {
        json!({"count": count, "min": 1, "mean": mean, "p50": p99 / 2, "p90": p99, "p99": p99, "p999": max, "max": max})
    }

    fn report() -> Value {
        json!({
            "throughput": {"attempts_started": 10, "attempts_ended": 10, "attempts_per_s": 5.0, "missed": 0},
            "timing": {"elapsed_s": 2.0},
            "target": {"gate": {"duplicates": "first"}},
            "results": [
                {"transport": "https", "class": "valid", "variant": null, "outcome": "allowed", "count": 6,
                 "latency_us": hist(6, 4000, 9000, 2000.0)},
                {"transport": "https", "class": "forged", "variant": "wrong_key", "outcome": "forbidden", "count": 2,
                 "latency_us": hist(2, 1000, 1000, 1000.0)},
                {"transport": "https", "class": "forged", "variant": "bit_flip", "outcome": "forbidden", "count": 1,
                 "latency_us": hist(1, 3000, 3000, 3000.0)},
                {"transport": "https", "class": "valid", "variant": null, "outcome": "timeout", "count": 1,
                 "latency_us": null},
            ],
            "phases_by_kind": [
                {"transport": "mqtt_tls", "class": "valid", "variant": null, "phase": "connect_connack_us",
                 "latency_us": hist(4, 7000, 8000, 5000.0)}
            ],
            "errors": [{"kind": "timeout", "count": 1}],
            "invocations": {"total": 9, "missed": 0, "this_run": 9, "foreign": 0, "by_class": [
                {"class": "valid", "invocations": 6}, {"class": "forged", "variant": "wrong_key", "invocations": 0},
                {"class": "forged", "variant": "duplicated_token", "invocations": 2},
                {"class": "replayed", "invocations": 1}]},
            "cost": {"total": {"total_usd": 0.5, "per_24h_usd": 21600.0, "invocations": 7, "messages": 6,
                               "invocations_per_24h": 302400},
                     "by_class": [{"class": "valid", "total_usd": 0.4, "per_24h_usd": 17280.0}]},
        })
    }

    #[test]
    fn rows_give_counts_shares_and_latencies_in_ms() {
        let r = report();
        let v = |n: &str| value_of(&r, n);
        assert_eq!(v("https.valid.allowed.count"), Ok(6.0));
        assert_eq!(v("https.valid.allowed.share"), Ok(6.0 / 7.0));
        assert_eq!(v("https.valid.allowed.p99_ms"), Ok(4.0));
        assert_eq!(
            v("https.valid.forbidden.count"),
            Ok(0.0),
            "an outcome that never occurred among attempts that did"
        );
        assert_eq!(v("https.forged.forbidden.count"), Ok(3.0));
        assert_eq!(v("https.forged.wrong_key.forbidden.p99_ms"), Ok(1.0));
        assert_eq!(v("https.forged.forbidden.max_ms"), Ok(3.0));
        assert_eq!(v("https.forged.forbidden.mean_ms"), Ok(5.0 / 3.0));
        assert_eq!(v("mqtt_tls.valid.connect_connack.p99_ms"), Ok(7.0));
        assert_eq!(v("outcomes.forbidden.share"), Ok(0.3));
        assert_eq!(v("errors.count"), Ok(1.0));
        assert_eq!(v("errors.share"), Ok(0.1));
    }

    #[test]
    fn named_values_come_from_their_sections() {
        let r = report();
        let v = |n: &str| value_of(&r, n);
        assert_eq!(v("invocations.valid"), Ok(6.0));
        // duplicated_token passes the gate where the first value counts: not a forged invocation to judge.
        assert_eq!(v("invocations.forged"), Ok(0.0));
        let mut strict = report();
        strict["target"]["gate"]["duplicates"] = json!("reject");
        assert_eq!(value_of(&strict, "invocations.forged"), Ok(2.0));
        assert_eq!(v("invocations.total"), Ok(9.0));
        assert_eq!(v("cost.per_24h_usd"), Ok(21600.0));
        assert_eq!(v("cost.valid.total_usd"), Ok(0.4));
        assert_eq!(v("cost.messages"), Ok(6.0));
        assert_eq!(v("throughput.attempts_per_s"), Ok(5.0));
        assert_eq!(v("timing.elapsed_s"), Ok(2.0));
    }

    #[test]
    fn missing_data_is_a_reason_not_a_zero() {
        let mut r = report();
        let v = |r: &Value, n: &str| value_of(r, n).unwrap_err();
        assert!(v(&r, "https.forged.forbidden.p99_ms").contains("name one variant"));
        assert!(v(&r, "https.valid.timeout.p99_ms").contains("no https valid timeout latency"));
        assert!(v(&r, "https.replayed.allowed.count").contains("no https replayed attempts"));
        assert!(v(&r, "wss.valid.allowed.share").contains("no wss valid attempts"));
        assert!(v(&r, "cost.forged.total_usd").contains("no cost.forged.total_usd"));
        r["invocations"] = Value::Null;
        r["cost"] = Value::Null;
        assert!(v(&r, "invocations.forged").contains("no ledger"));
        assert!(v(&r, "cost.total_usd").contains("no cost"));
        assert!(v(&r, "bogus.name").contains("not a metric name"));
    }

    #[test]
    fn names_in_lists_only_what_has_data() {
        let names = names_in(&report());
        assert!(names.contains(&"https.valid.allowed.p99_ms".to_string()));
        assert!(names.contains(&"cost.per_24h_usd".to_string()));
        assert!(!names.iter().any(|n| n.starts_with("wss.")));
        assert!(!names.contains(&"https.forged.forbidden.p99_ms".to_string()));
    }
}
