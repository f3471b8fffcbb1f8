//! The pacer: when each attempt should start. Pure arithmetic, no clocks: the shell adds these offsets to the
//! run's start instant.
//!
//! Open model: a global arrival rate R spread over N devices, staggered. Attempt k of device i is the global
//! attempt g = i + k·N, intended to start at g / R seconds. The attempt bound is exact without shared state:
//! device i runs the k with g < max_attempts. With a ramp (`[[run.stages]]`, or a remote run's implicit ramp)
//! the rate varies: attempt g starts at N⁻¹(g), N(t) the ramp's cumulative arrivals (piecewise quadratic, solved
//! exactly per piece, O(log stages) per attempt); the bound stays exact. Closed model: `concurrency` slots, each cycling a fixed set of
//! devices back to back; the attempt budget is split between slots up front, so runs are reproducible.

use std::sync::Arc;
use std::time::Duration;

use super::ramp::Ramp;

/// The open model's schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenSchedule {
    /// Arrivals per second (without a ramp).
    pub rate_per_s: f64,
    /// `[[run.stages]]` (or a remote run's implicit ramp): attempt g starts at N⁻¹(g), N the ramp's cumulative
    /// arrivals; `None`: at g / rate_per_s.
    pub ramp: Option<Arc<Ramp>>,
    pub devices: u32,
    pub duration: Duration,
    pub max_attempts: Option<u64>,
    /// Global attempts in the schedule: g < cap (the duration and `max_attempts`), computed once.
    cap: u64,
}

impl OpenSchedule {
    pub fn new(
        rate_per_s: f64,
        ramp: Option<Arc<Ramp>>,
        devices: u32,
        duration: Duration,
        max_attempts: Option<u64>,
    ) -> Self {
        let mut s = Self {
            rate_per_s,
            ramp,
            devices,
            duration,
            max_attempts,
            cap: 0,
        };
        let by_time = s.by_time();
        s.cap = max_attempts.map_or(by_time, |m| m.min(by_time));
        s
    }

    /// Seconds from the start to global attempt g; `None`: never (a ramp that ends at 0).
    fn offset(&self, g: u64) -> Option<f64> {
        match &self.ramp {
            None => Some(g as f64 / self.rate_per_s),
            Some(r) => r.inverse(g as f64),
        }
    }

    /// The number of global attempts that start before the duration: g < N(duration), corrected so that the
    /// offsets as computed agree (the bound is exact, whatever the rounding).
    fn by_time(&self) -> u64 {
        let d = self.duration.as_secs_f64();
        let limit = match &self.ramp {
            None => self.rate_per_s * d,
            Some(r) => r.cumulative(d),
        };
        let before_end = |g: u64| self.offset(g).is_some_and(|t| t < d);
        let mut cap = limit.ceil().max(0.0) as u64;
        while cap > 0 && !before_end(cap - 1) {
            cap -= 1;
        }
        while before_end(cap) {
            cap += 1;
        }
        cap
    }

    fn global(&self, device: u32, k: u64) -> u64 {
        u64::from(device) + k.saturating_mul(u64::from(self.devices))
    }

    /// When device `device`'s attempt `k` should start, relative to the run's start; `None` past the duration
    /// or the attempt bound.
    pub fn intended(&self, device: u32, k: u64) -> Option<Duration> {
        let g = self.global(device, k);
        if g >= self.cap {
            return None;
        }
        self.offset(g).map(Duration::from_secs_f64)
    }

    /// How many attempts device `device` has in the schedule in total.
    pub fn attempts_of(&self, device: u32) -> u64 {
        let (n, i) = (u64::from(self.devices), u64::from(device));
        if i >= self.cap {
            0
        } else {
            (self.cap - i).div_ceil(n)
        }
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
        OpenSchedule::new(rate, None, devices, Duration::from_secs_f64(secs), max)
    }

    #[test]
    fn arrivals_are_evenly_spread_and_staggered() {
        let s = &sched(100.0, 4, 1.0, None);
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

    fn staged(stages: &[(f64, f64)], devices: u32, max: Option<u64>) -> OpenSchedule {
        let ramp = Ramp::from_stages(stages);
        let secs = ramp.end();
        OpenSchedule::new(
            0.0,
            Some(Arc::new(ramp)),
            devices,
            Duration::from_secs_f64(secs),
            max,
        )
    }

    /// Every intended start of every device, sorted.
    fn all_starts(s: &OpenSchedule) -> Vec<Duration> {
        let mut all: Vec<Duration> = (0..s.devices)
            .flat_map(|d| (0..).map_while(move |k| s.intended(d, k)))
            .collect();
        all.sort();
        all
    }

    #[test]
    fn a_ramp_schedules_its_integral_in_order_and_skips_a_pause() {
        // 0 → 100/s over 5 s (250), a 3 s pause reached over 2 s (100), 0 → 40/s over 5 s (100).
        let s = staged(
            &[(5.0, 100.0), (2.0, 0.0), (3.0, 0.0), (5.0, 40.0)],
            7,
            None,
        );
        let all = all_starts(&s);
        assert_eq!(all.len(), 450);
        assert_eq!((0..7).map(|d| s.attempts_of(d)).sum::<u64>(), 450);
        for d in 0..7 {
            let n = (0..).map_while(|k| s.intended(d, k)).count() as u64;
            assert_eq!(n, s.attempts_of(d), "device {d}");
        }
        // Global attempt order is time order (monotone), and nothing starts inside the pause.
        let by_g: Vec<Duration> = (0..450u64)
            .map(|g| s.intended((g % 7) as u32, g / 7).unwrap())
            .collect();
        assert!(by_g.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(by_g[0], Duration::ZERO);
        let pause = Duration::from_secs(7)..Duration::from_secs(10);
        assert!(!all.iter().any(|t| pause.contains(t) && *t != pause.start));
        assert!(all.iter().all(|t| t.as_secs_f64() < 15.0));
    }

    #[test]
    fn a_ramp_keeps_the_attempt_bound_exact() {
        let s = staged(&[(10.0, 50.0), (10.0, 50.0)], 9, Some(333));
        assert_eq!((0..9).map(|d| s.attempts_of(d)).sum::<u64>(), 333);
        assert_eq!(all_starts(&s).len(), 333);
        assert_eq!(staged(&[(4.0, 10.0)], 50, Some(3)).attempts_of(10), 0);
    }

    #[test]
    fn a_constant_ramp_is_todays_schedule_to_the_nanosecond() {
        // A ramp that is flat from the start (zero-length stages are skipped: it starts at 100/s).
        let flat = Ramp::from_stages(&[(0.0, 100.0), (1.0, 100.0)]);
        let ramped =
            OpenSchedule::new(100.0, Some(Arc::new(flat)), 4, Duration::from_secs(1), None);
        let plain = sched(100.0, 4, 1.0, None);
        assert_eq!(all_starts(&ramped), all_starts(&plain));
    }

    #[tokio::test(start_paused = true)]
    async fn paced_arrivals_follow_a_two_stage_ramp_second_by_second() {
        // 0 → 100/s over 4 s, then down to 20/s over 4 s: each device sleeps until its intended starts, as a lane.
        let s = Arc::new(staged(&[(4.0, 100.0), (4.0, 20.0)], 5, None));
        let t0 = tokio::time::Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for d in 0..5 {
            let s = s.clone();
            tasks.spawn(async move {
                let mut seconds = Vec::new();
                for k in 0.. {
                    let Some(off) = s.intended(d, k) else { break };
                    tokio::time::sleep_until(t0 + off).await;
                    seconds.push(t0.elapsed().as_secs());
                }
                seconds
            });
        }
        let mut per_second = [0u64; 8];
        while let Some(r) = tasks.join_next().await {
            for sec in r.unwrap() {
                per_second[sec as usize] += 1;
            }
        }
        let ramp = s.ramp.clone().unwrap();
        for (k, &n) in per_second.iter().enumerate() {
            let want = ramp.cumulative(k as f64 + 1.0).ceil() - ramp.cumulative(k as f64).ceil();
            assert_eq!(n as f64, want, "second {k}: {per_second:?}");
        }
        // 12.5, 37.5, 62.5, 87.5 on the way up; 90, 70, 50, 30 on the way down (ceil of the integral).
        assert_eq!(per_second, [13, 37, 63, 87, 90, 70, 50, 30]);
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
