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
    let name = format!("{P}attempts_total");
    family(
        &mut out,
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
                sample(&mut out, &name, &labels, d.ended[t.index()][k][o.index()]);
            }
        }
    }
    let name = format!("{P}attempts_started_total");
    family(
        &mut out,
        &name,
        "counter",
        "Attempts started, by transport (report.json throughput.attempts_started).",
    );
    for t in Transport::ALL {
        sample(
            &mut out,
            &name,
            &[("transport", t.as_str())],
            d.started[t.index()],
        );
    }
    let name = format!("{P}attempts_in_flight");
    family(
        &mut out,
        &name,
        "gauge",
        "Attempts started and not ended yet, by transport.",
    );
    for t in Transport::ALL {
        sample(
            &mut out,
            &name,
            &[("transport", t.as_str())],
            d.in_flight(t),
        );
    }
    latency(&mut out, r);
    let name = format!("{P}mqtt_devices_connected");
    family(
        &mut out,
        &name,
        "gauge",
        "MQTT devices connected now (past CONNACK 0).",
    );
    sample(&mut out, &name, &[], d.connected);
    let name = format!("{P}mqtt_messages_total");
    family(
        &mut out,
        &name,
        "counter",
        "MQTT publishes sent and deliveries received.",
    );
    sample(&mut out, &name, &[], d.mqtt_messages);
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
    let name = format!("{P}elapsed_seconds");
    family(&mut out, &name, "gauge", "Seconds since the load started.");
    sample(&mut out, &name, &[], r.elapsed.as_secs_f64());
    let name = format!("{P}planned_seconds");
    family(
        &mut out,
        &name,
        "gauge",
        "The run's planned duration (run.duration_s).",
    );
    sample(&mut out, &name, &[], r.planned.as_secs_f64());
    out
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
