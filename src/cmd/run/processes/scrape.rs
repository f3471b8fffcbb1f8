//! A shard process's progress, read back from its `/metrics` ([`crate::live::exposition`]; each shard runs with
//! `--metrics-addr 127.0.0.1:0`): one plain HTTP/1.1 GET on loopback, and the Prometheus text parsed back
//! into the [`Reading`] the shard rendered it from, so the parent can sum the shards and show the sum with the
//! live status's own words ([`crate::live::status`]). The parse is the exposition read backwards: counters by
//! their labels, the cumulative latency buckets back into the coarse buckets (a bucket that holds no integer
//! has no line and counted nothing). Lines it does not know are skipped: the view is progress, never a verdict.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::contract::{Class, Transport};
use crate::live::Reading;
use crate::load::progress::Detail;
use crate::metrics::Outcome;
use crate::metrics::coarse::{BUCKETS, max_in};

/// The longest one scrape may take: the shards answer from memory on loopback.
const TIMEOUT: Duration = Duration::from_secs(2);

/// The body of `GET /metrics` from the shard at `addr`.
pub async fn fetch(addr: SocketAddr) -> anyhow::Result<String> {
    let get = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: shard\r\nConnection: close\r\n\r\n")
            .await?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await?;
        Ok::<_, std::io::Error>(raw)
    };
    let raw = tokio::time::timeout(TIMEOUT, get)
        .await
        .context("timed out")?
        .with_context(|| format!("GET http://{addr}/metrics"))?;
    let raw = String::from_utf8_lossy(&raw);
    let (head, body) = raw.split_once("\r\n\r\n").context("no HTTP header")?;
    anyhow::ensure!(head.starts_with("HTTP/1.1 200"), "answered {head:?}");
    Ok(body.to_string())
}

/// The reading behind an exposition (`planned`: the run's planned duration).
pub fn parse(text: &str, planned: Duration) -> Reading {
    let mut r = Reading {
        detail: Detail::default(),
        invocations: None,
        elapsed: Duration::ZERO,
        planned,
    };
    let mut cumulative = [[None; BUCKETS]; Transport::COUNT];
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((name, labels, value)) = sample(line) else {
            continue;
        };
        let label = |k: &str| labels.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        let t = label("transport").and_then(transport);
        let count = value as u64;
        match (name, t) {
            ("attempts_total", Some(t)) => {
                if let (Some(k), Some(o)) = (
                    label("class").and_then(kind),
                    label("outcome").and_then(outcome),
                ) {
                    r.detail.ended[t][k][o] = count;
                }
            }
            ("attempts_started_total", Some(t)) => r.detail.started[t] = count,
            ("latency_us_sum", Some(t)) => r.detail.latency_sum_us[t] = count,
            ("latency_us_bucket", Some(t)) => bucket(&mut cumulative[t], label("le"), count),
            ("mqtt_devices_connected", _) => r.detail.connected = count,
            ("mqtt_messages_total", _) => r.detail.mqtt_messages = count,
            ("invocations_total", _) => {
                if let Some(k) = label("class").and_then(kind) {
                    r.invocations.get_or_insert([0; 3])[k] = count;
                }
            }
            ("elapsed_seconds", _) => r.elapsed = Duration::from_secs_f64(value.max(0.0)),
            _ => {}
        }
    }
    for (t, by_bucket) in cumulative.iter().enumerate() {
        r.detail.latency[t] = uncumulate(by_bucket);
    }
    r.detail.mqtt_running = r.detail.connected > 0;
    r
}

/// A sample's labels, `(name, value)`.
type Labels<'a> = Vec<(&'a str, &'a str)>;

/// `tokenstorm_generator_NAME{k="v",...} VALUE` → (NAME, labels, value).
fn sample(line: &str) -> Option<(&str, Labels<'_>, f64)> {
    let rest = line.strip_prefix("tokenstorm_generator_")?;
    let (series, value) = rest.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, labels)) => (name, labels.strip_suffix('}')?),
        None => (series, ""),
    };
    let labels = labels
        .split(',')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k, v.trim_matches('"')))
        .collect();
    Some((name, labels, value))
}

fn transport(s: &str) -> Option<usize> {
    Transport::ALL.iter().position(|t| t.as_str() == s)
}

fn kind(s: &str) -> Option<usize> {
    Class::KINDS.iter().position(|k| *k == s)
}

fn outcome(s: &str) -> Option<usize> {
    Outcome::ALL.iter().position(|o| o.as_str() == s)
}

/// A cumulative bucket line: every coarse bucket whose largest value is `le` (`+Inf`: the last) counts up to it.
fn bucket(cumulative: &mut [Option<u64>; BUCKETS], le: Option<&str>, count: u64) {
    match le {
        Some("+Inf") => cumulative[BUCKETS - 1] = Some(count),
        Some(le) => {
            if let Ok(le) = le.parse::<u64>() {
                for (b, c) in cumulative.iter_mut().enumerate().take(BUCKETS - 1) {
                    if max_in(b) == le {
                        *c = Some(count);
                    }
                }
            }
        }
        None => {}
    }
}

/// The per-bucket counts behind cumulative ones (a bucket without a line counted nothing).
fn uncumulate(cumulative: &[Option<u64>; BUCKETS]) -> [u64; BUCKETS] {
    let mut counts = [0; BUCKETS];
    let mut below = 0;
    for (n, c) in counts.iter_mut().zip(cumulative) {
        if let Some(c) = *c {
            *n = c.saturating_sub(below);
            below = below.max(c);
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::progress::Progress;

    #[test]
    fn a_reading_survives_its_exposition() {
        let p = Progress::default();
        let lane = p.lane_counter();
        for us in [3, 1000, 1000, 250_000] {
            lane.start(Transport::Https);
            lane.end(Transport::Https, Class::Valid, Outcome::Allowed, Some(us));
        }
        lane.start(Transport::MqttTls);
        lane.end(Transport::MqttTls, Class::Expired, Outcome::Forbidden, None);
        lane.start(Transport::Https);
        let before = Reading {
            detail: p.detail(),
            invocations: Some([4, 0, 1]),
            elapsed: Duration::from_secs(7),
            planned: Duration::from_secs(60),
        };
        let after = parse(&crate::live::exposition::render(&before), before.planned);
        assert_eq!(after.detail, before.detail);
        assert_eq!(after.invocations, before.invocations);
        assert_eq!(after.elapsed, before.elapsed);
    }

    #[test]
    fn no_ledger_means_no_invocations_and_foreign_lines_are_skipped() {
        let r = parse(
            "# HELP x\nother_metric 3\ntokenstorm_generator_bogus{a=\"b\"} x\n",
            Duration::ZERO,
        );
        assert_eq!(r.invocations, None);
        assert_eq!(r.detail, Detail::default());
    }
}
