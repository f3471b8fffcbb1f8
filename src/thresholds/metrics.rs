//! The metric namespace over a report (pure): every name a threshold (or `tokenstorm compare`) can read, the
//! grammar that parses a name into a [`Metric`], the names a plan's transports and classes can produce, and the
//! nearest names to a misspelt one. [`super::lookup`] reads a metric's value from a report's JSON form.
//!
//! Families (`<class>` is `valid`, `forged` or `replayed`; `[.<variant>]` narrows it to one forgery or replay
//! variant, and without it the class's variants are added up):
//! - `<transport>.<class>[.<variant>].<outcome>.{count,share,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,mean_ms}`:
//!   the `results` rows; `share` is of that transport and class's ended attempts, latencies from the intended
//!   start.
//! - `<transport>.<class>.<phase>.{count,p50_ms,…}`: `phases_by_kind` (MQTT and WSS connection phases).
//! - `outcomes.<outcome>.{count,share}`: every transport and class together.
//! - [`NAMED`]: `errors.*`, `invocations.*` (`invocations.forged`: of forged variants the gate must refuse under
//!   the run's gate settings, as `forged_never_invoked` counts them), `cost.*`, `throughput.*`,
//!   `timing.elapsed_s`.

use crate::contract::{Class, Transport};
use crate::metrics::{Outcome, Phase};

/// What is read off a row (a count, a share, or a latency statistic in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    Count,
    Share,
    P50,
    P90,
    P99,
    P999,
    Max,
    Mean,
}

impl Stat {
    pub const ALL: [Stat; 8] = [
        Self::Count,
        Self::Share,
        Self::P50,
        Self::P90,
        Self::P99,
        Self::P999,
        Self::Max,
        Self::Mean,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Share => "share",
            Self::P50 => "p50_ms",
            Self::P90 => "p90_ms",
            Self::P99 => "p99_ms",
            Self::P999 => "p999_ms",
            Self::Max => "max_ms",
            Self::Mean => "mean_ms",
        }
    }

    /// The field of the report's percentile object (`latency_us`) this statistic reads, if a latency.
    pub const fn field(self) -> Option<&'static str> {
        match self {
            Self::Count | Self::Share => None,
            Self::P50 => Some("p50"),
            Self::P90 => Some("p90"),
            Self::P99 => Some("p99"),
            Self::P999 => Some("p999"),
            Self::Max => Some("max"),
            Self::Mean => Some("mean"),
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The names outside the row families, each one value of the report.
pub const NAMED: [&str; 25] = [
    "errors.count",
    "errors.share",
    "invocations.total",
    "invocations.valid",
    "invocations.forged",
    "invocations.replayed",
    "invocations.missed",
    "invocations.this_run",
    "invocations.foreign",
    "cost.total_usd",
    "cost.per_24h_usd",
    "cost.invocations",
    "cost.invocations_per_24h",
    "cost.messages",
    "cost.valid.total_usd",
    "cost.valid.per_24h_usd",
    "cost.forged.total_usd",
    "cost.forged.per_24h_usd",
    "cost.replayed.total_usd",
    "cost.replayed.per_24h_usd",
    "throughput.attempts_started",
    "throughput.attempts_ended",
    "throughput.attempts_per_s",
    "throughput.missed",
    "timing.elapsed_s",
];

/// The families, as an error message lists them.
pub const FAMILIES: [&str; 9] = [
    "<transport>.<class>[.<variant>].<outcome>.{count,share,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,mean_ms}",
    "<transport>.<class>.<phase>.{count,p50_ms,p90_ms,p99_ms,p999_ms,max_ms,mean_ms}",
    "outcomes.<outcome>.{count,share}",
    "errors.{count,share}",
    "invocations.{total,valid,forged,replayed,missed,this_run,foreign}",
    "cost.{total_usd,per_24h_usd,invocations,invocations_per_24h,messages}",
    "cost.{valid,forged,replayed}.{total_usd,per_24h_usd}",
    "throughput.{attempts_started,attempts_ended,attempts_per_s,missed}",
    "timing.elapsed_s",
];

/// A parsed metric name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// `results` rows of one transport and class (one variant, or all of the class's).
    Row {
        transport: Transport,
        kind: &'static str,
        variant: Option<&'static str>,
        outcome: Outcome,
        stat: Stat,
    },
    /// `phases_by_kind`: `phase` as the report names it (`connect_connack_us`).
    Phase {
        transport: Transport,
        kind: &'static str,
        phase: Phase,
        stat: Stat,
    },
    /// One outcome over every row.
    Outcome { outcome: Outcome, stat: Stat },
    /// One of [`NAMED`].
    Named(&'static str),
}

/// The class kinds a name can start with.
pub const KINDS: [&str; 3] = ["valid", "forged", "replayed"];

/// The variants of a class kind, as the report names them.
pub fn variants(kind: &str) -> impl Iterator<Item = &'static str> + '_ {
    Class::ALL
        .into_iter()
        .filter(move |c| c.kind() == kind)
        .filter_map(Class::variant)
}

/// A phase's name in a metric: the report's without `_us`.
pub fn phase_name(p: Phase) -> &'static str {
    p.as_str().trim_end_matches("_us")
}

/// Parses a metric name; `None` when it is not in the namespace.
pub fn parse(name: &str) -> Option<Metric> {
    if let Some(n) = NAMED.iter().find(|n| **n == name) {
        return Some(Metric::Named(n));
    }
    let parts: Vec<&str> = name.split('.').collect();
    if let ["outcomes", o, s] = parts[..] {
        let stat = Stat::parse(s).filter(|s| matches!(s, Stat::Count | Stat::Share))?;
        return Some(Metric::Outcome {
            outcome: outcome(o)?,
            stat,
        });
    }
    let transport = Transport::ALL
        .into_iter()
        .find(|t| Some(&t.as_str()) == parts.first())?;
    let kind = *KINDS.iter().find(|k| Some(*k) == parts.get(1))?;
    let stat = Stat::parse(parts.last()?)?;
    match parts[2..parts.len() - 1] {
        [x] if outcome(x).is_some() => Some(Metric::Row {
            transport,
            kind,
            variant: None,
            outcome: outcome(x)?,
            stat,
        }),
        [x] if stat != Stat::Share => Some(Metric::Phase {
            transport,
            kind,
            phase: Phase::ALL.into_iter().find(|p| phase_name(*p) == x)?,
            stat,
        }),
        [v, o] => Some(Metric::Row {
            transport,
            kind,
            variant: Some(variants(kind).find(|x| *x == v)?),
            outcome: outcome(o)?,
            stat,
        }),
        _ => None,
    }
}

fn outcome(s: &str) -> Option<Outcome> {
    Outcome::ALL.into_iter().find(|o| o.as_str() == s)
}

/// The transports and classes a plan can produce names for.
#[derive(Debug, Clone)]
pub struct Scope {
    pub transports: Vec<Transport>,
    /// Classes with a weight in the mix.
    pub classes: Vec<Class>,
}

impl Scope {
    /// The transports in use and the classes `sent` says the mix sends.
    pub fn of(transports: impl Iterator<Item = Transport>, sent: impl Fn(Class) -> bool) -> Self {
        Self {
            transports: transports.collect(),
            classes: Class::ALL.into_iter().filter(|c| sent(*c)).collect(),
        }
    }

    /// Every transport and class.
    pub fn all() -> Self {
        Self {
            transports: Transport::ALL.to_vec(),
            classes: Class::ALL.to_vec(),
        }
    }

    /// Why `m` cannot have data under this scope (a transport not in use, a class the mix never sends).
    pub fn excludes(&self, m: &Metric) -> Option<String> {
        let (transport, kind, variant) = match *m {
            Metric::Row {
                transport,
                kind,
                variant,
                ..
            } => (transport, kind, variant),
            Metric::Phase {
                transport, kind, ..
            } => (transport, kind, None),
            _ => return None,
        };
        if !self.transports.contains(&transport) {
            return Some(format!(
                "the scenario does not use the {} transport",
                transport.as_str()
            ));
        }
        let sent = self
            .classes
            .iter()
            .any(|c| c.kind() == kind && (variant.is_none() || c.variant() == variant));
        (!sent).then(|| {
            let what = variant.map_or(kind.to_string(), |v| format!("{kind}.{v}"));
            format!("the scenario's [mix] never sends {what} attempts")
        })
    }

    /// Every name this scope can produce.
    pub fn names(&self) -> Vec<String> {
        let mut out: Vec<String> = NAMED.iter().map(|n| n.to_string()).collect();
        for o in Outcome::ALL {
            for s in ["count", "share"] {
                out.push(format!("outcomes.{}.{s}", o.as_str()));
            }
        }
        for t in &self.transports {
            for kind in KINDS {
                let classes = self.classes.iter().filter(|c| c.kind() == kind);
                let mut prefixes = vec![format!("{}.{kind}", t.as_str())];
                if !classes.clone().any(|_| true) {
                    continue;
                }
                prefixes.extend(
                    classes
                        .filter_map(|c| c.variant())
                        .map(|v| format!("{}.{kind}.{v}", t.as_str())),
                );
                for p in &prefixes {
                    for o in Outcome::ALL {
                        for s in Stat::ALL {
                            out.push(format!("{p}.{}.{}", o.as_str(), s.as_str()));
                        }
                    }
                }
                for ph in Phase::ALL {
                    for s in Stat::ALL.into_iter().filter(|s| *s != Stat::Share) {
                        out.push(format!(
                            "{}.{kind}.{}.{}",
                            t.as_str(),
                            phase_name(ph),
                            s.as_str()
                        ));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Forgery;

    #[test]
    fn parses_every_family() {
        assert_eq!(
            parse("https.valid.allowed.p99_ms"),
            Some(Metric::Row {
                transport: Transport::Https,
                kind: "valid",
                variant: None,
                outcome: Outcome::Allowed,
                stat: Stat::P99
            })
        );
        assert!(matches!(
            parse("mqtt_tls.valid.connect_connack.p99_ms"),
            Some(Metric::Phase {
                phase: Phase::ConnectConnack,
                ..
            })
        ));
        assert!(matches!(
            parse("wss.forged.wrong_key.forbidden.share"),
            Some(Metric::Row {
                variant: Some("wrong_key"),
                stat: Stat::Share,
                ..
            })
        ));
        assert!(matches!(
            parse("outcomes.throttled.share"),
            Some(Metric::Outcome {
                outcome: Outcome::Throttled,
                ..
            })
        ));
        assert_eq!(parse("errors.share"), Some(Metric::Named("errors.share")));
        assert_eq!(
            parse("cost.per_24h_usd"),
            Some(Metric::Named("cost.per_24h_usd"))
        );
    }

    #[test]
    fn rejects_what_the_namespace_does_not_hold() {
        for n in [
            "https.valid.allowed",
            "https.valid.allowed.p98_ms",
            "http.valid.allowed.count",
            "https.bogus.allowed.count",
            "https.valid.wrong_key.allowed.count",
            "https.forged.nope.allowed.count",
            "mqtt_tls.valid.connect_connack.share",
            "outcomes.allowed.p99_ms",
            "outcomes.<outcome>.count",
            "errors",
            "",
        ] {
            assert_eq!(parse(n), None, "{n}");
        }
    }

    #[test]
    fn every_name_of_the_full_scope_parses_and_the_scope_narrows() {
        let all = Scope::all().names();
        for n in &all {
            assert!(parse(n).is_some(), "{n}");
        }
        let https_valid = Scope {
            transports: vec![Transport::Https],
            classes: vec![Class::Valid, Class::Forged(Forgery::WrongKey)],
        };
        let names = https_valid.names();
        assert!(names.len() < all.len() / 4);
        assert!(names.contains(&"https.forged.wrong_key.forbidden.count".to_string()));
        let m = parse("mqtt.valid.allowed.count").unwrap();
        assert!(https_valid.excludes(&m).unwrap().contains("mqtt transport"));
        let m = parse("https.replayed.allowed.count").unwrap();
        assert!(
            https_valid
                .excludes(&m)
                .unwrap()
                .contains("never sends replayed")
        );
        let m = parse("https.forged.bit_flip.allowed.count").unwrap();
        assert!(
            https_valid
                .excludes(&m)
                .unwrap()
                .contains("forged.bit_flip")
        );
        assert_eq!(https_valid.excludes(&parse("errors.count").unwrap()), None);
    }
}
