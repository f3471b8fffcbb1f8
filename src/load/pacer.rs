//! The pacer: when each attempt should start. Pure arithmetic, no clocks: the shell adds these offsets to the
//! run's start instant.
//!
//! Open model: a global arrival rate R spread over N devices, staggered. Attempt k of device i is the global
//! attempt g = i + k·N, intended to start at g / R seconds. The attempt bound is exact without shared state:
//! device i runs the k with g < max_attempts. Closed model: `concurrency` slots, each cycling a fixed set of
//! devices back to back; the attempt budget is split between slots up front, so runs are reproducible.

use std::time::Duration;

/// The open model's schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenSchedule {
    pub rate_per_s: f64,
    pub devices: u32,
    pub duration: Duration,
    pub max_attempts: Option<u64>,
}

impl OpenSchedule {
    fn global(&self, device: u32, k: u64) -> u64 {
        u64::from(device) + k.saturating_mul(u64::from(self.devices))
    }

    /// When device `device`'s attempt `k` should start, relative to the run's start; `None` past the duration
    /// or the attempt bound.
    pub fn intended(&self, device: u32, k: u64) -> Option<Duration> {
        let g = self.global(device, k);
        if self.max_attempts.is_some_and(|m| g >= m) {
            return None;
        }
        let at = g as f64 / self.rate_per_s;
        (at < self.duration.as_secs_f64()).then(|| Duration::from_secs_f64(at))
    }

    /// How many attempts device `device` has in the schedule in total.
    pub fn attempts_of(&self, device: u32) -> u64 {
        let n = u64::from(self.devices);
        let i = u64::from(device);
        // g < rate·duration (strictly: g / rate < duration).
        let by_time = {
            let limit = self.rate_per_s * self.duration.as_secs_f64();
            let mut cap = limit.ceil() as u64;
            while cap > 0 && (cap - 1) as f64 / self.rate_per_s >= self.duration.as_secs_f64() {
                cap -= 1;
            }
            cap
        };
        let cap = self.max_attempts.map_or(by_time, |m| m.min(by_time));
        if i >= cap { 0 } else { (cap - i).div_ceil(n) }
    }
}

/// A slot of the closed model: the devices it cycles and how many attempts it may start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClosedSlot {
    pub devices: Vec<u32>,
    /// `None`: bounded by the duration only.
    pub budget: Option<u64>,
}

/// Splits devices and the attempt budget between `concurrency` slots: slot j cycles devices j, j+C, j+2C, ...
pub fn closed_slots(devices: u32, concurrency: u32, max_attempts: Option<u64>) -> Vec<ClosedSlot> {
    let c = concurrency.clamp(1, devices.max(1));
    (0..c)
        .map(|j| ClosedSlot {
            devices: (j..devices).step_by(c as usize).collect(),
            budget: max_attempts
                .map(|m| m / u64::from(c) + u64::from(u64::from(j) < m % u64::from(c))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sched(rate: f64, devices: u32, secs: f64, max: Option<u64>) -> OpenSchedule {
        OpenSchedule {
            rate_per_s: rate,
            devices,
            duration: Duration::from_secs_f64(secs),
            max_attempts: max,
        }
    }

    #[test]
    fn arrivals_are_evenly_spread_and_staggered() {
        let s = sched(100.0, 4, 1.0, None);
        assert_eq!(s.intended(0, 0), Some(Duration::ZERO));
        assert_eq!(s.intended(1, 0), Some(Duration::from_millis(10)));
        assert_eq!(s.intended(0, 1), Some(Duration::from_millis(40)));
        assert_eq!(s.intended(3, 24), Some(Duration::from_millis(990)));
        assert_eq!(s.intended(0, 25), None, "t = 1.0 s is past the duration");
        // All intended starts over all devices: exactly rate × duration, all distinct, 10 ms apart.
        let mut all: Vec<Duration> = (0..4)
            .flat_map(|d| (0..).map_while(move |k| s.intended(d, k)))
            .collect();
        all.sort();
        assert_eq!(all.len(), 100);
        for w in all.windows(2) {
            assert_eq!((w[1] - w[0]).as_micros(), 10_000);
        }
        for d in 0..4 {
            assert_eq!(s.attempts_of(d), 25);
        }
    }

    #[test]
    fn the_attempt_bound_is_exact() {
        let s = sched(1000.0, 7, 60.0, Some(100));
        let total: u64 = (0..7).map(|d| s.attempts_of(d)).sum();
        assert_eq!(total, 100);
        for d in 0..7 {
            let n = (0..).map_while(|k| s.intended(d, k)).count() as u64;
            assert_eq!(n, s.attempts_of(d), "device {d}");
        }
        assert_eq!(sched(10.0, 50, 60.0, Some(3)).attempts_of(10), 0);
        let odd = sched(3.0, 2, 1.0, None);
        assert_eq!(odd.attempts_of(0) + odd.attempts_of(1), 3);
    }

    #[test]
    fn closed_slots_split_devices_and_budget() {
        let slots = closed_slots(10, 3, Some(11));
        assert_eq!(slots.len(), 3);
        assert_eq!(slots[0].devices, vec![0, 3, 6, 9]);
        assert_eq!(slots[2].devices, vec![2, 5, 8]);
        assert_eq!(
            slots.iter().map(|s| s.budget.unwrap()).collect::<Vec<_>>(),
            vec![4, 4, 3]
        );
        assert!(
            closed_slots(2, 5, None)
                .iter()
                .all(|s| s.budget.is_none() && s.devices.len() == 1)
        );
    }
}
