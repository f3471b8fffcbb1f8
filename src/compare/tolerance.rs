//! `--tolerance KEY=VALUE,...`: how much worse the current run may be than the base before `compare` calls it a
//! regression. Latency keys and `throughput`/`cost` are relative (`10%`), `errors` is in percentage points of
//! the error share, `forged` is a count of invocations, `floor` is an absolute latency change (`1ms`, `500us`)
//! under which a latency change is noise, never a regression, and `min_count` the attempts a row needs in both
//! runs for its latencies to be judged. Any key but `floor` and `min_count` takes `off`.

use std::fmt;

/// The tolerances in force: `None` is `off` (never a regression).
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerance {
    /// Relative increases of the latency percentiles, in percent.
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub p999: Option<f64>,
    pub max: Option<f64>,
    /// Relative drop of attempts/s, in percent.
    pub throughput: Option<f64>,
    /// Rise of the error share, in percentage points.
    pub errors: Option<f64>,
    /// Rise of the invocations of forged variants the gate must refuse, a count.
    pub forged: Option<f64>,
    /// Relative rise of the 24 h cost projection, in percent.
    pub cost: Option<f64>,
    /// Latency changes smaller than this (µs) are noise: a tiny latency doubling is not a regression.
    pub floor_us: u64,
    /// Rows with fewer attempts than this (in either run) show their latencies without judging them: one or two
    /// samples make a percentile, not a trend.
    pub min_count: u64,
}

/// Every key `--tolerance` takes, in the order the help lists them.
pub const KEYS: [&str; 10] = [
    "p50",
    "p99",
    "p999",
    "max",
    "throughput",
    "errors",
    "forged",
    "cost",
    "floor",
    "min_count",
];

impl Default for Tolerance {
    /// p50 and p99 +10%, p999 +20%, max off (one slow attempt moves it), throughput -5%, errors +0 points,
    /// forged +0, cost off (it follows the rate), latency floor 1 ms, latencies judged on rows of 10 attempts or
    /// more.
    fn default() -> Self {
        Self {
            p50: Some(10.0),
            p99: Some(10.0),
            p999: Some(20.0),
            max: None,
            throughput: Some(5.0),
            errors: Some(0.0),
            forged: Some(0.0),
            cost: None,
            floor_us: 1000,
            min_count: 10,
        }
    }
}

/// A `--tolerance` the command line got wrong: names the entry and the keys allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadTolerance(pub String);

impl fmt::Display for BadTolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "--tolerance: {} (keys: {}; values like 10%, 0.5, off; floor takes 1ms or 500us, min_count a count)",
            self.0,
            KEYS.join(", ")
        )
    }
}

impl std::error::Error for BadTolerance {}

impl Tolerance {
    /// The defaults with `spec`'s entries (`p99=15%,floor=0.5ms`) applied on top.
    pub fn parse(spec: &str) -> Result<Self, BadTolerance> {
        let mut t = Self::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (key, value) = entry
                .split_once('=')
                .ok_or_else(|| BadTolerance(format!("`{entry}` is not KEY=VALUE")))?;
            t.set(key.trim(), value.trim())?;
        }
        Ok(t)
    }

    fn set(&mut self, key: &str, value: &str) -> Result<(), BadTolerance> {
        if key == "floor" {
            self.floor_us = duration_us(value)
                .ok_or_else(|| BadTolerance(format!("floor=`{value}` is not a duration")))?;
            return Ok(());
        }
        if key == "min_count" {
            self.min_count = value
                .parse()
                .map_err(|_| BadTolerance(format!("min_count=`{value}` is not a count")))?;
            return Ok(());
        }
        let slot = match key {
            "p50" => &mut self.p50,
            "p99" => &mut self.p99,
            "p999" => &mut self.p999,
            "max" => &mut self.max,
            "throughput" => &mut self.throughput,
            "errors" => &mut self.errors,
            "forged" => &mut self.forged,
            "cost" => &mut self.cost,
            _ => return Err(BadTolerance(format!("unknown key `{key}`"))),
        };
        *slot = amount(value).ok_or_else(|| {
            BadTolerance(format!(
                "{key}=`{value}` is not a number, a percentage or off"
            ))
        })?;
        Ok(())
    }

    /// The tolerance of a latency percentile by its name (`p50`, `p99`, `p999`, `max`).
    pub fn latency(&self, percentile: &str) -> Option<f64> {
        match percentile {
            "p50" => self.p50,
            "p99" => self.p99,
            "p999" => self.p999,
            _ => self.max,
        }
    }

    /// The tolerances as `key=value` pairs (what the JSON output records).
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let show = |v: Option<f64>, unit: &str| v.map_or("off".into(), |v| format!("{v}{unit}"));
        vec![
            ("p50", show(self.p50, "%")),
            ("p99", show(self.p99, "%")),
            ("p999", show(self.p999, "%")),
            ("max", show(self.max, "%")),
            ("throughput", show(self.throughput, "%")),
            ("errors", show(self.errors, "%")),
            ("forged", show(self.forged, "")),
            ("cost", show(self.cost, "%")),
            ("floor", format!("{}us", self.floor_us)),
            ("min_count", self.min_count.to_string()),
        ]
    }
}

/// `10%`, `10`, `0.5` or `off`; `Some(None)` is off.
fn amount(v: &str) -> Option<Option<f64>> {
    if v.eq_ignore_ascii_case("off") {
        return Some(None);
    }
    let n: f64 = v.strip_suffix('%').unwrap_or(v).trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(Some(n))
}

/// `1ms`, `0.5ms`, `500us`, `1s` or a bare number of milliseconds, in µs.
fn duration_us(v: &str) -> Option<u64> {
    let (n, scale) = if let Some(n) = v.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1e6)
    } else {
        (v, 1e3)
    };
    let n: f64 = n.trim().parse().ok()?;
    (n.is_finite() && n >= 0.0).then(|| (n * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_override_the_defaults() {
        let t = Tolerance::parse("p99=15%, throughput=off,floor=500us,forged=2").unwrap();
        assert_eq!(t.p99, Some(15.0));
        assert_eq!(t.throughput, None);
        assert_eq!(t.floor_us, 500);
        assert_eq!(t.forged, Some(2.0));
        assert_eq!(t.p50, Tolerance::default().p50);
        assert_eq!(Tolerance::parse("floor=0.5ms").unwrap().floor_us, 500);
        assert_eq!(Tolerance::parse("").unwrap(), Tolerance::default());
    }

    #[test]
    fn a_bad_entry_names_itself_and_the_keys() {
        let e = Tolerance::parse("p98=10%").unwrap_err().to_string();
        assert!(e.contains("unknown key `p98`"), "{e}");
        assert!(e.contains("p50, p99, p999, max, throughput"), "{e}");
        let e = Tolerance::parse("p99=fast").unwrap_err().to_string();
        assert!(e.contains("p99=`fast`"), "{e}");
        assert!(Tolerance::parse("p99").is_err());
        assert!(Tolerance::parse("p99=-3%").is_err());
        assert!(Tolerance::parse("floor=soon").is_err());
    }
}
