//! The parent's live status over its shard processes: once a second it scrapes each running shard's `/metrics`
//! ([`super::scrape`]) and keeps its last reading (a shard that has finished keeps its final one), and every
//! [`PLAIN_EVERY`] it prints the sum in the live status's plain line ([`crate::live::status::plain`]) followed
//! by the shards still running. The same line on a terminal as in a log (the in-place block reads one
//! process's counters); nothing under `-q`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::task::JoinHandle;

use super::scrape;
use crate::live::Reading;
use crate::live::status;
use crate::live::ticker::PLAIN_EVERY;
use crate::load::progress::Detail;

/// How often the shards are scraped.
const SCRAPE_EVERY: Duration = Duration::from_secs(1);

/// What the view watches of one shard.
pub struct Watched {
    pub label: String,
    pub metrics: Arc<OnceLock<SocketAddr>>,
    /// Cleared when the shard process has ended.
    pub running: Arc<AtomicBool>,
}

/// Starts the view (it runs until aborted).
pub fn start(shards: Vec<Watched>, planned: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Vec<Option<Reading>> = vec![None; shards.len()];
        let mut tick = tokio::time::interval(SCRAPE_EVERY);
        let (mut printed_at, mut ended_then) = (tokio::time::Instant::now(), 0);
        loop {
            tick.tick().await;
            for (w, seen) in shards.iter().zip(last.iter_mut()) {
                let Some(addr) = w.metrics.get() else {
                    continue;
                };
                if !w.running.load(Ordering::Relaxed) {
                    continue;
                }
                if let Ok(text) = scrape::fetch(*addr).await {
                    *seen = Some(scrape::parse(&text, planned));
                }
            }
            if printed_at.elapsed() < PLAIN_EVERY {
                continue;
            }
            let total = sum(last.iter().flatten(), planned);
            let ended = total.detail.ended_total();
            let rate = ended.saturating_sub(ended_then) as f64 / printed_at.elapsed().as_secs_f64();
            (printed_at, ended_then) = (tokio::time::Instant::now(), ended);
            crate::live::logs::line(&format!(
                "{} · {}",
                status::plain(&total, rate),
                running(&shards)
            ));
        }
    })
}

/// `shards running 0/3 2/3` (or `no shard running`).
fn running(shards: &[Watched]) -> String {
    let on: Vec<&str> = shards
        .iter()
        .filter(|w| w.running.load(Ordering::Relaxed))
        .map(|w| w.label.as_str())
        .collect();
    if on.is_empty() {
        "no shard running".into()
    } else {
        format!("shards running {}", on.join(" "))
    }
}

/// The shards' readings added up: counters summed, the clock the furthest along, invocations when any shard
/// joins a ledger.
pub fn sum<'a>(readings: impl Iterator<Item = &'a Reading>, planned: Duration) -> Reading {
    let mut total = Reading {
        detail: Detail::default(),
        invocations: None,
        elapsed: Duration::ZERO,
        planned,
    };
    for r in readings {
        add(&mut total.detail, &r.detail);
        if let Some(inv) = r.invocations {
            let t = total.invocations.get_or_insert([0; 3]);
            for (a, b) in t.iter_mut().zip(inv) {
                *a += b;
            }
        }
        total.elapsed = total.elapsed.max(r.elapsed);
    }
    total
}

fn add(into: &mut Detail, d: &Detail) {
    let pairs = |a: &mut [u64], b: &[u64]| a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
    pairs(&mut into.started, &d.started);
    pairs(&mut into.latency_sum_us, &d.latency_sum_us);
    for (a, b) in into.ended.iter_mut().zip(&d.ended) {
        for (a, b) in a.iter_mut().zip(b) {
            pairs(a, b);
        }
    }
    for (a, b) in into.latency.iter_mut().zip(&d.latency) {
        pairs(a, b);
    }
    into.mqtt_messages += d.mqtt_messages;
    into.connected += d.connected;
    into.https_running |= d.https_running;
    into.mqtt_running |= d.mqtt_running;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Class, Transport};
    use crate::load::progress::Progress;
    use crate::metrics::Outcome;

    fn one(n: u64, inv: Option<[u64; 3]>, secs: u64) -> Reading {
        let p = Progress::default();
        let lane = p.lane_counter();
        for _ in 0..n {
            lane.start(Transport::Https);
            lane.end(Transport::Https, Class::Valid, Outcome::Allowed, Some(900));
        }
        Reading {
            detail: p.detail(),
            invocations: inv,
            elapsed: Duration::from_secs(secs),
            planned: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_sum_adds_counts_and_invocations_and_keeps_the_longest_clock() {
        let rs = [one(3, Some([3, 0, 0]), 4), one(2, None, 5)];
        let t = sum(rs.iter(), Duration::from_secs(60));
        assert_eq!(t.detail.ended_total(), 5);
        assert_eq!(t.detail.outcome(Outcome::Allowed), 5);
        assert_eq!(t.invocations, Some([3, 0, 0]));
        assert_eq!(t.elapsed, Duration::from_secs(5));
        assert_eq!(
            t.detail.quantile_all(0.5),
            one(5, None, 0).detail.quantile_all(0.5)
        );
    }
}
