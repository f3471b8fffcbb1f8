//! `generator_kept_up`: was the generator, not the target, the bottleneck? It fails when one of the generator's
//! own resources limited the run, and names it:
//! - CPU, saturated: the schedule fell behind (lag from the intended to the actual start p99 over
//!   [`LAG_P99_US`], or more than [`MISSED_SHARE`] of the scheduled attempts missed) while the process's own CPU
//!   time reached [`CPU_SATURATED`] of the cores it may run on.
//! - CPU, starved: more than [`MISSED_SHARE`] of the scheduled attempts missed while CPU time plus the time its
//!   threads waited for a CPU reached [`CPU_SATURATED`]: other processes took the cores and the rate was not
//!   delivered. A starved process that still started every attempt (late) passes with a note: its lag is in the
//!   latencies from the intended start, and on a shared machine it slowed an embedded target as much.
//! - descriptors: the peak of open descriptors reached [`HEADROOM_USED`] of the soft limit.
//! - ephemeral ports: the connections to one destination reached [`HEADROOM_USED`] of the local port range.
//!
//! A lag with CPU to spare is the target's: attempts waited on busy connections, which the latency from the
//! intended start already charges to the target.

use super::{Status, Verdict, verdict};
use crate::load::usage::Usage;
use crate::metrics::Recorder;

/// A schedule lag p99 above this (µs) is falling behind: 1 s. A generator that cannot reach its rate falls
/// further behind every second (seconds by the end of a short run); one on a shared machine (a CI runner, other
/// jobs) can trail by a few hundred ms and catch up, which this verdict does not call a limit (the lag is in the
/// summary either way).
pub const LAG_P99_US: u64 = 1_000_000;
/// Missed attempts above this share of the scheduled ones (started + missed) is falling behind: 5%.
pub const MISSED_SHARE: f64 = 0.05;
/// CPU time (saturated), or CPU time plus run-queue wait (starved), at or above this share of the available
/// cores.
pub const CPU_SATURATED: f64 = 0.90;
/// Descriptors or ports used at or above this share of what the OS allows leave no headroom.
pub const HEADROOM_USED: f64 = 0.90;

/// What the verdict weighs, measured.
struct Figures {
    lag_p99: u64,
    lag_max: u64,
    scheduled: u64,
    /// More than [`MISSED_SHARE`] of the scheduled attempts missed.
    missing: bool,
    /// The schedule fell behind: lag over [`LAG_P99_US`] or `missing`.
    behind: bool,
    /// Shares of the cores × elapsed: CPU time, and CPU time plus run-queue wait.
    busy: f64,
    cpu: f64,
    saturated: bool,
    starved: bool,
}

impl Figures {
    fn of(rec: &Recorder, u: &Usage) -> Self {
        let (lag_p99, lag_max) = rec
            .lag()
            .map_or((0, 0), |h| (h.value_at_quantile(0.99), h.max()));
        let scheduled = rec.total_started() + rec.missed;
        let missing = rec.missed as f64 > MISSED_SHARE * scheduled as f64;
        let capacity = capacity(u);
        let busy = u.cpu_us as f64 / capacity;
        let cpu = (u.cpu_us + u.wait_us.unwrap_or(0)) as f64 / capacity;
        let saturated = busy >= CPU_SATURATED;
        Self {
            lag_p99,
            lag_max,
            scheduled,
            missing,
            behind: lag_p99 > LAG_P99_US || missing,
            busy,
            cpu,
            saturated,
            starved: !saturated && cpu >= CPU_SATURATED,
        }
    }
}

fn capacity(u: &Usage) -> f64 {
    (u.cores.max(1) * u.elapsed_us.max(1)) as f64
}

/// The lines the summary and evidence are made of: lag, CPU, descriptors, ports.
struct Texts {
    lag: String,
    cpu: String,
    fds: String,
    ports: String,
}

impl Texts {
    fn of(f: &Figures, rec: &Recorder, u: &Usage) -> Self {
        let lag = format!(
            "schedule lag p99 {} (max {}), {} missed attempts of {}",
            ms(f.lag_p99),
            ms(f.lag_max),
            thousands(rec.missed),
            thousands(f.scheduled)
        );
        let cpu = format!(
            "generator CPU {:.0}% of {} (busy {:.0}%, waiting for a CPU {:.0}%{})",
            100.0 * f.cpu,
            cores(u.cores),
            100.0 * f.busy,
            100.0 * u.wait_us.unwrap_or(0) as f64 / capacity(u),
            if u.wait_us.is_none() {
                ", not measured"
            } else {
                ""
            }
        );
        let fds = format!(
            "descriptors: peak {} open of {}",
            thousands(u.fds_peak),
            thousands(u.fds_limit)
        );
        let ports = match u.ephemeral_ports {
            Some(p) => format!(
                "{} connections per destination of {} ephemeral ports{}",
                thousands(u.connections_per_destination),
                thousands(p),
                match u.source_addrs {
                    0 | 1 => String::new(),
                    n => format!(" × {} source addresses", thousands(n)),
                }
            ),
            None => "ephemeral port range unreadable".into(),
        };
        Self {
            lag,
            cpu,
            fds,
            ports,
        }
    }
}

/// The generator's resources that limited the run: (resource, what happened).
fn causes(f: &Figures, t: &Texts, u: &Usage) -> Vec<(&'static str, String)> {
    let mut causes = Vec::new();
    if (f.behind && f.saturated) || (f.missing && f.starved) {
        let text = format!("{}; {}: the generator could not keep up", t.lag, t.cpu);
        causes.push(("CPU", text));
    }
    if u.fds_peak as f64 >= HEADROOM_USED * u.fds_limit as f64 {
        causes.push(("file descriptors", format!(
            "{}: the generator ran out of file descriptors (raise `ulimit -n` or run fewer devices)", t.fds
        )));
    }
    if let Some(p) = u.ports_per_destination()
        && u.connections_per_destination as f64 >= HEADROOM_USED * p as f64
    {
        causes.push(("ephemeral ports", format!(
            "{}: the generator ran out of source ports (widen net.ipv4.ip_local_port_range or add source addresses: load.source_addrs)", t.ports
        )));
    }
    causes
}

/// The verdict for the merged measurements and what the process used.
pub fn check(rec: &Recorder, u: &Usage) -> Verdict {
    let f = Figures::of(rec, u);
    let t = Texts::of(&f, rec, u);
    let causes = causes(&f, &t, u);
    let mut v = if causes.is_empty() {
        let why = match (f.behind, f.starved) {
            (false, _) => "",
            (true, true) => {
                "; the process waited for a CPU (other jobs on this machine) but started every attempt: the lag is in the latencies from the intended start"
            }
            (true, false) => {
                "; the lag is not the generator's (its CPU had headroom): attempts waited on the target's answers"
            }
        };
        let summary = format!("{}; {}; {}; {}{why}", t.lag, t.cpu, t.fds, t.ports);
        verdict("generator_kept_up", Status::Pass, summary)
    } else {
        let names: Vec<&str> = causes.iter().map(|(name, _)| *name).collect();
        let summary = format!(
            "the generator, not the target, limited the run: {}",
            names.join(", ")
        );
        let mut v = verdict("generator_kept_up", Status::Fail, summary);
        v.evidence = causes.into_iter().map(|(_, text)| text).collect();
        v
    };
    for (k, n) in [
        ("lag_p99_us", f.lag_p99),
        ("lag_max_us", f.lag_max),
        ("missed", rec.missed),
        ("scheduled", f.scheduled),
        ("cores", u.cores),
        ("cpu_permille", (1000.0 * f.cpu).round() as u64),
        ("cpu_busy_us", u.cpu_us),
        ("cpu_wait_us", u.wait_us.unwrap_or(0)),
        ("fds_peak", u.fds_peak),
        ("fds_limit", u.fds_limit),
        ("connections_per_destination", u.connections_per_destination),
        ("ephemeral_ports", u.ephemeral_ports.unwrap_or(0)),
    ] {
        v.details.insert(k.into(), n);
    }
    // Only with `load.source_addrs`, so other reports keep their shape.
    if u.source_addrs > 1 {
        v.details.insert("source_addrs".into(), u.source_addrs);
    }
    v
}

fn ms(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.2} s", us as f64 / 1e6)
    } else {
        format!("{:.1} ms", us as f64 / 1e3)
    }
}

fn cores(n: u64) -> String {
    format!("{n} core{}", if n == 1 { "" } else { "s" })
}

/// `1204` → `1,204`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{Class, Transport};
    use crate::metrics::Outcome;

    fn recorder(lag_us: u64, n: u64, missed: u64) -> Recorder {
        let mut r = Recorder::new();
        for _ in 0..n {
            r.start(Transport::Https, Class::Valid);
            r.end(
                Transport::Https,
                Class::Valid,
                Outcome::Allowed,
                lag_us + 1000,
                1000,
                true,
            );
        }
        r.missed = missed;
        r
    }

    fn usage(cpu_share: f64, cores: u64) -> Usage {
        Usage {
            cores,
            elapsed_us: 1_000_000,
            cpu_us: (cpu_share * cores as f64 * 1e6) as u64,
            wait_us: Some(0),
            fds_peak: 100,
            fds_limit: 1024,
            connections_per_destination: 300,
            ephemeral_ports: Some(28232),
            source_addrs: 1,
        }
    }

    #[test]
    fn a_lagging_schedule_on_a_saturated_cpu_fails_naming_it() {
        let v = check(&recorder(1_850_000, 100, 1204), &usage(0.98, 1));
        assert_eq!(v.status, Status::Fail);
        assert_eq!(
            v.summary,
            "the generator, not the target, limited the run: CPU"
        );
        assert_eq!(v.evidence.len(), 1);
        let e = &v.evidence[0];
        assert!(e.contains("schedule lag p99 1.85 s"), "{e}");
        assert!(e.contains("1,204 missed attempts of 1,304"), "{e}");
        assert!(e.contains("generator CPU 98% of 1 core"), "{e}");
        assert!(e.ends_with("the generator could not keep up"), "{e}");
        assert_eq!(v.details["cpu_permille"], 980);
    }

    #[test]
    fn a_lag_with_cpu_to_spare_is_the_targets() {
        let v = check(&recorder(1_850_000, 100, 0), &usage(0.3, 2));
        assert_eq!(v.status, Status::Pass, "{}", v.summary);
        assert!(
            v.summary.contains("waited on the target's answers"),
            "{}",
            v.summary
        );
        // A busy generator a few hundred ms behind that catches up is not a limit.
        let v = check(&recorder(500_000, 100, 4), &usage(0.99, 1));
        assert_eq!(v.status, Status::Pass, "{}", v.summary);
        // Starved by other processes: a failure when the rate was not delivered (attempts missed), a note when
        // every attempt started, late.
        let mut starved = usage(0.4, 1);
        starved.wait_us = Some(600_000);
        let v = check(&recorder(1_850_000, 100, 50), &starved);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.evidence[0].contains("busy 40%, waiting for a CPU 60%"),
            "{v:?}"
        );
        let v = check(&recorder(1_850_000, 100, 0), &starved);
        assert_eq!(v.status, Status::Pass);
        assert!(
            v.summary.contains("waited for a CPU (other jobs"),
            "{}",
            v.summary
        );
    }

    #[test]
    fn descriptors_and_ports_without_headroom_fail_naming_them() {
        let mut u = usage(0.1, 2);
        u.fds_peak = 1000;
        let v = check(&recorder(1000, 10, 0), &u);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.summary.ends_with("limited the run: file descriptors"),
            "{}",
            v.summary
        );
        assert!(
            v.evidence[0].contains("descriptors: peak 1,000 open of 1,024"),
            "{v:?}"
        );
        let mut u = usage(0.1, 2);
        u.connections_per_destination = 28_000;
        let v = check(&recorder(1000, 10, 0), &u);
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.summary.ends_with("limited the run: ephemeral ports"),
            "{}",
            v.summary
        );
        let ports = "28,000 connections per destination of 28,232 ephemeral ports";
        assert!(v.evidence[0].contains(ports), "{v:?}");
        // Two source addresses: each has its own range per destination, so the headroom doubles.
        u.source_addrs = 2;
        let v = check(&recorder(1000, 10, 0), &u);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        let ports =
            "28,000 connections per destination of 28,232 ephemeral ports × 2 source addresses";
        assert!(v.summary.contains(ports), "{v:?}");
        assert_eq!(v.details["source_addrs"], 2);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1_048_576), "1,048,576");
    }
}
