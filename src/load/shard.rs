//! Shards (`run --shard I/N`): a deterministic partition of one plan between N processes or machines, so that
//! the N shards together run exactly the unsharded plan with the same seed, whatever N.
//!
//! The unit is the device, kept whole: its credentials, its attempts (their ids, classes, variants and replay
//! victims all come from the device's own seeded RNG, [`crate::attempt::Planner`]) and its MQTT client id. Device
//! d belongs to shard d mod N. The open model's schedule stays the one global schedule (global attempt
//! g = d + k·devices at its instant; see [`super::pacer`]): a shard runs only its devices' attempts of it, so
//! the attempt bound stays exact and the shards' rates add up to the plan's rate, its ramp included. The closed
//! model's unit is the slot (a fixed set of devices cycled back to back with its share of the attempt budget):
//! slot j belongs to shard j mod N, so the concurrency and the budget add up too. MQTT devices keep their place in
//! the fleet's order (a `target_devices` ramp activates the same devices), and the shared connect pacing is
//! scaled to the shard's share of MQTT devices, so the shards' connect rates add up to the plan's.

use std::fmt;
use std::str::FromStr;

/// Shard `index` of `count` (0-based, as Kubernetes' `JOB_COMPLETION_INDEX`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole plan: one shard of one.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Whether this shard runs unit `unit` (a device, or a closed-model slot).
    pub fn owns(&self, unit: u32) -> bool {
        unit % self.count == self.index
    }

    /// How many of the units in `range` this shard runs.
    pub fn owned_in(&self, range: std::ops::Range<u32>) -> u32 {
        let (n, i) = (self.count, self.index);
        let below = |x: u32| x / n + u32::from(x % n > i);
        below(range.end) - below(range.start.min(range.end))
    }

    /// This shard's part of a rate shared by `total` units, `owned` of them its own (0 when it has none).
    pub fn scale(rate: f64, owned: u32, total: u32) -> f64 {
        if total == 0 {
            0.0
        } else {
            rate * f64::from(owned) / f64::from(total)
        }
    }
}

/// How many devices of transport `t` the plan's shard runs (all of them unsharded): HTTPS devices under the
/// closed model go with their slot (device d is in slot d mod concurrency), every other device by its id.
pub fn devices_of(plan: &crate::scenario::Plan, t: crate::contract::Transport) -> u32 {
    let shard = plan.shard();
    let range = plan.groups.range(t);
    match plan.model {
        crate::scenario::Model::Closed { concurrency }
            if t == crate::contract::Transport::Https =>
        {
            let slots = concurrency.clamp(1, range.len().max(1) as u32);
            range.filter(|&d| shard.owns(d % slots)).count() as u32
        }
        _ => shard.owned_in(range),
    }
}

/// Whether the plan's shard runs device `d` (every device unsharded): as [`devices_of`] counts them, an HTTPS
/// device under the closed model with its slot (d mod concurrency), every other device by its id.
pub fn runs_device(plan: &crate::scenario::Plan, d: u32) -> bool {
    use crate::contract::Transport;
    let shard = plan.shard();
    match (plan.model, plan.groups.transport_of(d)) {
        (crate::scenario::Model::Closed { concurrency }, Some(Transport::Https)) => {
            let https = plan.groups.range(Transport::Https).len().max(1) as u32;
            shard.owns(d % concurrency.clamp(1, https))
        }
        _ => shard.owns(d),
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with N ≥ 1 and 0 ≤ I < N.
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{why} (got {s:?}; expected I/N with 0 ≤ I < N, e.g. 0/3)");
        let (i, n) = s.split_once('/').ok_or_else(|| bad("not I/N"))?;
        let parse = |x: &str, what: &str| {
            x.trim()
                .parse::<u32>()
                .map_err(|_| bad(&format!("{what} is not a whole number")))
        };
        let (index, count) = (parse(i, "the index")?, parse(n, "the count")?);
        if count == 0 {
            return Err(bad("the count must be at least 1"));
        }
        if index >= count {
            return Err(bad("the index is 0-based: it must be below the count"));
        }
        Ok(Self { index, count })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_i_of_n_and_refuses_the_rest() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, count: 3 }));
        assert_eq!("0/1".parse(), Ok(Shard::WHOLE));
        for bad in ["3/3", "0/0", "x", "1", "-1/3", "1/x", "/", ""] {
            assert!(bad.parse::<Shard>().is_err(), "{bad:?}");
        }
        assert!("3/3".parse::<Shard>().unwrap_err().contains("0-based"));
        assert_eq!(Shard { index: 1, count: 7 }.to_string(), "1/7");
    }

    #[test]
    fn every_unit_has_exactly_one_shard_and_the_counts_add_up() {
        for count in [1, 2, 3, 7] {
            for range in [0..0, 0..10, 3..17, 5..6] {
                let shards = (0..count).map(|index| Shard { index, count });
                let owned: u32 = shards.clone().map(|s| s.owned_in(range.clone())).sum();
                assert_eq!(owned, range.len() as u32);
                for s in shards {
                    let n = range.clone().filter(|&u| s.owns(u)).count() as u32;
                    assert_eq!(s.owned_in(range.clone()), n, "{s} over {range:?}");
                }
            }
        }
        let sum: f64 = (0..3u32)
            .map(|index| Shard::scale(90.0, Shard { index, count: 3 }.owned_in(0..10), 10))
            .sum();
        assert!((sum - 90.0).abs() < 1e-9);
    }

    #[test]
    fn a_scaled_ramp_is_the_shards_part_of_every_stage() {
        let r = crate::load::ramp::Ramp::from_stages(&[(4.0, 100.0), (2.0, 0.0), (3.0, 40.0)]);
        let parts: Vec<_> = [4.0, 3.0, 3.0].map(|n| r.scaled(n / 10.0)).into();
        for t in [0.5, 3.0, 5.0, 8.0, 12.0] {
            let at: f64 = parts.iter().map(|p| p.at(t)).sum();
            let n: f64 = parts.iter().map(|p| p.cumulative(t)).sum();
            assert!(
                (at - r.at(t)).abs() < 1e-9 && (n - r.cumulative(t)).abs() < 1e-9,
                "t = {t}"
            );
        }
    }
}
