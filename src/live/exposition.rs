//! The generator's `/metrics` (`run --metrics-addr`), in Prometheus text, from a [`Reading`]. Names follow the
//! report: `tokenstorm_generator_attempts_total{transport,class,outcome}` counts what report.json's `results`
//! rows count (class is the kind, the variants summed; every attempt ended, `exhausted` included), and once the
//! load has drained it equals them exactly. Latency from the intended start, past the warm-up, is a histogram
//! over the coarse buckets ([`crate::metrics::coarse`], in µs like the report's `latency_us`). Every label
//! combination is present, zeros too, so dashboards see a steady set of series.

use crate::contract::{Class, Transport};
use crate::metrics::Outcome;
use crate::metrics::coarse::{BUCKETS, max_in};
use crate::metrics::prometheus::{family, sample};

use super::Reading;

const P: &str = "tokenstorm_generator_";

/// The exposition of `r`.
pub fn render(r: &Reading) -> String {
    let d = &r.detail;
    let mut out = String::with_capacity(16 * 1024);
    attempts(&mut out, d);
    per_transport(
        &mut out,
        ("attempts_started_total", "counter"),
        "Attempts started, by transport (report.json throughput.attempts_started).",
        |t| d.started[t.index()],
    );
    per_transport(
        &mut out,
        ("attempts_in_flight", "gauge"),
        "Attempts started and not ended yet, by transport.",
        |t| d.in_flight(t),
    );
    latency(&mut out, r);
    let connected = "MQTT devices connected now (past CONNACK 0).";
    one(
        &mut out,
        ("mqtt_devices_connected", "gauge"),
        connected,
        d.connected,
    );
    let messages = "MQTT publishes sent and deliveries received.";
    one(
        &mut out,
        ("mqtt_messages_total", "counter"),
        messages,
        d.mqtt_messages,
    );
    if let Some(by_kind) = r.invocations {
        let name = format!("{P}invocations_total");
        family(
            &mut out,
            &name,
            "counter",
            "Authorizer invocations of this run joined from the ledger so far, by class kind.",
        );
        for (kind, n) in Class::KINDS.iter().zip(by_kind) {
            sample(&mut out, &name, &[("class", kind)], n);
        }
    }
    let (elapsed, planned) = (r.elapsed.as_secs_f64(), r.planned.as_secs_f64());
    one(
        &mut out,
        ("elapsed_seconds", "gauge"),
        "Seconds since the load started.",
        elapsed,
    );
    let duration = "The run's planned duration (run.duration_s).";
    one(&mut out, ("planned_seconds", "gauge"), duration, planned);
    out
}

/// `attempts_total` by transport, class kind and outcome.
fn attempts(out: &mut String, d: &crate::load::progress::Detail) {
    let name = format!("{P}attempts_total");
    family(
        out,
        &name,
        "counter",
        "Attempts ended, by transport, class kind and outcome (report.json results, variants summed).",
    );
    for t in Transport::ALL {
        for (k, kind) in Class::KINDS.iter().enumerate() {
            for o in Outcome::ALL {
                let labels = [
                    ("transport", t.as_str()),
                    ("class", kind),
                    ("outcome", o.as_str()),
                ];
                sample(out, &name, &labels, d.ended[t.index()][k][o.index()]);
            }
        }
    }
}

/// A family of one sample per transport; `(name, kind)` without the prefix.
fn per_transport(
    out: &mut String,
    (name, kind): (&str, &str),
    help: &str,
    value: impl Fn(Transport) -> u64,
) {
    let name = format!("{P}{name}");
    family(out, &name, kind, help);
    for t in Transport::ALL {
        sample(out, &name, &[("transport", t.as_str())], value(t));
    }
}

/// A family of one unlabelled sample; `(name, kind)` without the prefix.
fn one(out: &mut String, (name, kind): (&str, &str), help: &str, value: impl std::fmt::Display) {
    let name = format!("{P}{name}");
    family(out, &name, kind, help);
    sample(out, &name, &[], value);
}

/// `latency_us` as a histogram per transport: cumulative buckets at each coarse bucket's largest value (a
/// bucket that holds no integer adds no line), `+Inf`, the sum and the count.
fn latency(out: &mut String, r: &Reading) {
    let name = format!("{P}latency_us");
    family(
        out,
        &name,
        "histogram",
        "Latency from the intended start past the warm-up, by transport, microseconds (coarse buckets a factor sqrt 2 apart).",
    );
    let bucket = format!("{name}_bucket");
    for t in Transport::ALL {
        let counts = &r.detail.latency[t.index()];
        let (mut cumulative, mut last_le) = (0, None);
        for (b, n) in counts.iter().enumerate().take(BUCKETS - 1) {
            cumulative += n;
            let le = max_in(b);
            if last_le == Some(le) {
                continue;
            }
            last_le = Some(le);
            sample(
                out,
                &bucket,
                &[("transport", t.as_str()), ("le", &le.to_string())],
                cumulative,
            );
        }
        let count: u64 = counts.iter().sum();
        sample(
            out,
            &bucket,
            &[("transport", t.as_str()), ("le", "+Inf")],
            count,
        );
        sample(
            out,
            &format!("{name}_sum"),
            &[("transport", t.as_str())],
            r.detail.latency_sum_us[t.index()],
        );
        sample(
            out,
            &format!("{name}_count"),
            &[("transport", t.as_str())],
            count,
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::load::progress::Progress;

    #[test]
    fn counts_by_transport_class_and_outcome_and_a_cumulative_latency_histogram() {
        let p = Progress::default();
        let lane = p.lane_counter();
        lane.start(Transport::Https);
        lane.end(Transport::Https, Class::Valid, Outcome::Allowed, Some(3));
        lane.start(Transport::Https);
        lane.end(
            Transport::Https,
            Class::Expired,
            Outcome::Forbidden,
            Some(1000),
        );
        let r = Reading {
            detail: p.detail(),
            invocations: Some([1, 0, 0]),
            elapsed: Duration::from_secs(2),
            planned: Duration::from_secs(10),
        };
        let text = render(&r);
        for line in [
            "tokenstorm_generator_attempts_total{transport=\"https\",class=\"valid\",outcome=\"allowed\"} 1\n",
            "tokenstorm_generator_attempts_total{transport=\"https\",class=\"replayed\",outcome=\"forbidden\"} 1\n",
            "tokenstorm_generator_attempts_total{transport=\"wss\",class=\"forged\",outcome=\"exhausted\"} 0\n",
            "tokenstorm_generator_attempts_in_flight{transport=\"https\"} 0\n",
            "tokenstorm_generator_latency_us_bucket{transport=\"https\",le=\"2\"} 0\n",
            "tokenstorm_generator_latency_us_bucket{transport=\"https\",le=\"3\"} 1\n",
            "tokenstorm_generator_latency_us_bucket{transport=\"https\",le=\"1023\"} 2\n",
            "tokenstorm_generator_latency_us_bucket{transport=\"https\",le=\"+Inf\"} 2\n",
            "tokenstorm_generator_latency_us_sum{transport=\"https\"} 1003\n",
            "tokenstorm_generator_invocations_total{class=\"valid\"} 1\n",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        let les: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("tokenstorm_generator_latency_us_bucket{transport=\"https\""))
            .collect();
        let mut unique = les.clone();
        unique.dedup();
        assert_eq!(les, unique, "no le twice");
    }
}
