//! The words of the live status (pure: a [`Reading`] in, text out): the terminal block's lines and the plain
//! line printed every few seconds when stderr is not a terminal. Latency is the coarse "p99 so far"
//! ([`crate::metrics::coarse`]: never below the truth, at most 41% above it), hence the `≤`.

use crate::contract::{Class, Transport};
use crate::metrics::Outcome;

use super::Reading;

/// `1.41 ms`.
fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// `allowed 5800 · forbidden 190`: the outcomes seen, in [`Outcome`] order.
fn outcomes(r: &Reading) -> String {
    let seen: Vec<String> = Outcome::ALL
        .into_iter()
        .map(|o| (o, r.detail.outcome(o)))
        .filter(|(_, n)| *n > 0)
        .map(|(o, n)| format!("{} {n}", o.as_str()))
        .collect();
    if seen.is_empty() {
        "none yet".into()
    } else {
        seen.join(" · ")
    }
}

/// `valid 5800 · forged 0 · replayed 12`, or why there is none.
fn invocations(r: &Reading) -> String {
    match r.invocations {
        Some(by_kind) => Class::KINDS
            .iter()
            .zip(by_kind)
            .map(|(k, n)| format!("{k} {n}"))
            .collect::<Vec<_>>()
            .join(" · "),
        None => "no ledger to join".into(),
    }
}

/// `≤ 4.10 ms (https ≤ 4.10 ms, mqtt_tls ≤ 12.30 ms)`: over every transport, then each one in use.
fn p99(r: &Reading) -> String {
    let Some(all) = r.detail.quantile_all(0.99) else {
        return "none yet".into();
    };
    let each: Vec<String> = Transport::ALL
        .into_iter()
        .filter_map(|t| r.detail.quantile(t, 0.99).map(|p| (t, p)))
        .map(|(t, p)| format!("{} ≤ {}", t.as_str(), ms(p)))
        .collect();
    if each.len() > 1 {
        format!("≤ {} ({})", ms(all), each.join(", "))
    } else {
        format!("≤ {}", ms(all))
    }
}

fn in_flight(r: &Reading) -> u64 {
    Transport::ALL.iter().map(|t| r.detail.in_flight(*t)).sum()
}

/// The block's first line (the bar follows it): `  12s / 30s`.
pub fn clock(r: &Reading) -> String {
    format!(
        "{:>5.0}s / {:.0}s",
        r.elapsed.as_secs_f64(),
        r.planned.as_secs_f64()
    )
}

/// The block's lines under the bar; `rate`: attempts ended per second lately.
pub fn block(r: &Reading, rate: f64) -> String {
    let d = &r.detail;
    let mut lines = vec![
        format!(
            "  attempts     {} ended · {rate:.1}/s · {} in flight",
            d.ended_total(),
            in_flight(r)
        ),
        format!("  outcomes     {}", outcomes(r)),
        format!("  invocations  {} (joined so far)", invocations(r)),
        format!("  p99 so far   {}", p99(r)),
    ];
    if d.mqtt_running || d.connected > 0 {
        lines.push(format!(
            "  mqtt         {} devices connected · {} messages",
            d.connected, d.mqtt_messages
        ));
    }
    lines.join("\n")
}

/// The plain line: `progress 5s/60s: 100 attempts (20.0/s, 0 in flight) · allowed 100 · p99 ≤ 1.41 ms ·
/// invocations valid 100 · forged 0 · replayed 0`, then the MQTT devices connected when MQTT runs.
pub fn plain(r: &Reading, rate: f64) -> String {
    let d = &r.detail;
    let mut line = format!(
        "progress {:.0}s/{:.0}s: {} attempts ({rate:.1}/s, {} in flight) · {} · p99 {} · invocations {}",
        r.elapsed.as_secs_f64(),
        r.planned.as_secs_f64(),
        d.ended_total(),
        in_flight(r),
        outcomes(r),
        p99(r),
        invocations(r)
    );
    if d.mqtt_running || d.connected > 0 {
        line.push_str(&format!(" · mqtt {} connected", d.connected));
    }
    line
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::load::progress::Progress;

    fn reading(invocations: Option<[u64; 3]>) -> Reading {
        let p = Progress::default();
        let lane = p.lane_counter();
        for _ in 0..4 {
            lane.start(Transport::Https);
            lane.end(Transport::Https, Class::Valid, Outcome::Allowed, Some(1000));
        }
        lane.start(Transport::Https);
        Reading {
            detail: p.detail(),
            invocations,
            elapsed: Duration::from_secs(5),
            planned: Duration::from_secs(60),
        }
    }

    #[test]
    fn the_plain_line_says_attempts_rate_outcomes_p99_and_invocations() {
        assert_eq!(
            plain(&reading(Some([4, 0, 1])), 0.8),
            "progress 5s/60s: 4 attempts (0.8/s, 1 in flight) · allowed 4 · p99 ≤ 1.02 ms · invocations valid 4 · forged 0 · replayed 1"
        );
    }

    #[test]
    fn the_block_has_a_line_per_figure_and_says_when_no_ledger_is_joined() {
        let r = reading(None);
        assert_eq!(clock(&r), "    5s / 60s");
        let b = block(&r, 0.8);
        assert_eq!(b.lines().count(), 4, "{b}");
        assert!(b.contains("invocations  no ledger to join"), "{b}");
        assert!(b.contains("p99 so far   ≤ 1.02 ms"), "{b}");
    }
}
