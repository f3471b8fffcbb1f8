//! A ramp: a value over time (arrivals/s, connects/s, active devices) that starts at 0 and goes linearly from
//! one stage's target to the next, like k6 stages; after the last stage it holds its last value. Pure
//! arithmetic for the pacers: the value at t, the cumulative arrivals N(t) = ∫₀ᵗ value (piecewise quadratic),
//! its inverse (when arrival n is due: O(log stages), the request path uses it), and when the value first
//! reaches or leaves a level (when an MQTT device joins or leaves a `target_devices` ramp).

/// One linear piece: from `from` at `start` to `to` at `start + len`; `before` is N(start).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Seg {
    start: f64,
    len: f64,
    from: f64,
    to: f64,
    before: f64,
}

impl Seg {
    fn end(&self) -> f64 {
        self.start + self.len
    }

    fn area(&self) -> f64 {
        (self.from + self.to) / 2.0 * self.len
    }

    fn after(&self) -> f64 {
        self.before + self.area()
    }

    fn at(&self, t: f64) -> f64 {
        let tau = (t - self.start).clamp(0.0, self.len);
        self.from + (self.to - self.from) * tau / self.len
    }

    /// When the value crosses `v` (between `from` and `to`, which lie on either side of it).
    fn crossing(&self, v: f64) -> f64 {
        self.start + (v - self.from) / (self.to - self.from) * self.len
    }
}

/// A piecewise-linear value over time from 0 at t = 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Ramp {
    segs: Vec<Seg>,
}

/// Below this, two instants are the same (a crossing at the present is not a future one).
const EPS_S: f64 = 1e-9;

impl Ramp {
    /// From 0 at t = 0 through each `(duration_s, target)`: linear from the previous target to this one over the
    /// duration. Stages of zero duration are skipped (the next one starts from their target).
    pub fn from_stages(stages: &[(f64, f64)]) -> Self {
        let mut segs: Vec<Seg> = Vec::with_capacity(stages.len());
        let (mut t, mut v, mut n) = (0.0, 0.0, 0.0);
        for &(len, to) in stages {
            if len > 0.0 {
                let s = Seg {
                    start: t,
                    len,
                    from: v,
                    to,
                    before: n,
                };
                n = s.after();
                t = s.end();
                segs.push(s);
            }
            v = to;
        }
        if segs.is_empty() || v != segs[segs.len() - 1].to {
            // Only zero-length stages after the last piece: hold their target from here (a jump).
            segs.push(Seg {
                start: t,
                len: f64::MIN_POSITIVE.max(EPS_S),
                from: v,
                to: v,
                before: n,
            });
        }
        Self { segs }
    }

    /// The same ramp with every value multiplied by `f` (a shard's part of a shared rate).
    pub fn scaled(&self, f: f64) -> Self {
        let segs = self
            .segs
            .iter()
            .map(|s| Seg {
                from: s.from * f,
                to: s.to * f,
                before: s.before * f,
                ..*s
            })
            .collect();
        Self { segs }
    }

    fn last(&self) -> &Seg {
        &self.segs[self.segs.len() - 1]
    }

    /// When the last stage ends.
    pub fn end(&self) -> f64 {
        self.last().end()
    }

    /// The highest value.
    pub fn peak(&self) -> f64 {
        self.segs
            .iter()
            .map(|s| s.from.max(s.to))
            .fold(0.0, f64::max)
    }

    /// The piece holding `t` (the last one past the end).
    fn seg_of(&self, t: f64) -> usize {
        self.segs
            .partition_point(|s| s.end() <= t)
            .min(self.segs.len() - 1)
    }

    /// The value at `t` s.
    pub fn at(&self, t: f64) -> f64 {
        let s = &self.segs[self.seg_of(t)];
        if t >= s.end() { s.to } else { s.at(t) }
    }

    /// N(t): the arrivals due in [0, t).
    pub fn cumulative(&self, t: f64) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let s = &self.segs[self.seg_of(t)];
        if t >= s.end() {
            return s.after() + s.to * (t - s.end());
        }
        let tau = t - s.start;
        s.before + s.from * tau + (s.to - s.from) / (2.0 * s.len) * tau * tau
    }

    /// When arrival `n` is due: the t with N(t) = n (the first such t, so a pause at rate 0 is skipped);
    /// `None` when it never is (past the end at a last value of 0).
    pub fn inverse(&self, n: f64) -> Option<f64> {
        let i = self.segs.partition_point(|s| s.after() <= n);
        let Some(s) = self.segs.get(i) else {
            let l = self.last();
            return (l.to > 0.0).then(|| l.end() + (n - l.after()) / l.to);
        };
        let x = n - s.before;
        if x <= 0.0 {
            return Some(s.start);
        }
        let a = (s.to - s.from) / (2.0 * s.len);
        // The root of from·τ + a·τ² = x, in the form that stays exact when `from` or `a` is 0.
        let tau = if a == 0.0 {
            x / s.from
        } else {
            2.0 * x / (s.from + (s.from * s.from + 4.0 * a * x).max(0.0).sqrt())
        };
        Some(s.start + tau.clamp(0.0, s.len))
    }

    /// The first instant at or after `from` where the value is at least `v` and stays so for a while (a value
    /// that touches `v` on its way down does not count); `None`: never again.
    pub fn first_at_least(&self, v: f64, from: f64) -> Option<f64> {
        for s in &self.segs[self.seg_of(from)..] {
            let tc = from.max(s.start);
            let f = if tc >= s.end() { s.to } else { s.at(tc) };
            if f >= v && s.to >= v {
                return Some(tc);
            }
            if f >= v && s.crossing(v) > tc + EPS_S {
                return Some(tc);
            }
            if f < v && s.to >= v {
                let c = s.crossing(v).max(tc);
                if c < s.end() - EPS_S || s.to > v {
                    return Some(c);
                }
            }
        }
        (self.last().to >= v).then(|| from.max(self.end()))
    }

    /// The first instant at or after `from` where the value falls below `v`; `None`: never.
    pub fn first_below(&self, v: f64, from: f64) -> Option<f64> {
        for s in &self.segs[self.seg_of(from)..] {
            let tc = from.max(s.start);
            let f = if tc >= s.end() { s.to } else { s.at(tc) };
            if f < v {
                return Some(tc);
            }
            if s.to < v {
                return Some(s.crossing(v).max(tc));
            }
        }
        (self.last().to < v).then(|| from.max(self.end()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * (1.0 + b.abs())
    }

    #[test]
    fn a_ramp_starts_at_zero_and_holds_its_last_value() {
        let r = Ramp::from_stages(&[(10.0, 100.0), (10.0, 100.0), (5.0, 0.0)]);
        assert_eq!(r.end(), 25.0);
        assert_eq!(r.peak(), 100.0);
        assert!(close(r.at(0.0), 0.0) && close(r.at(5.0), 50.0) && close(r.at(15.0), 100.0));
        assert!(close(r.at(22.5), 50.0) && close(r.at(30.0), 0.0));
        // ∫: 500 on the way up, 1000 flat, 250 on the way down.
        assert!(close(r.cumulative(10.0), 500.0));
        assert!(close(r.cumulative(20.0), 1500.0));
        assert!(close(r.cumulative(25.0), 1750.0));
        assert!(close(r.cumulative(99.0), 1750.0));
        assert_eq!(r.inverse(1750.0), None, "past the end at 0: never");
    }

    #[test]
    fn the_inverse_undoes_the_integral() {
        let r = Ramp::from_stages(&[(10.0, 100.0), (4.0, 0.0), (6.0, 0.0), (10.0, 30.0)]);
        for n in [
            0.0, 0.5, 1.0, 17.0, 499.9, 500.0, 600.0, 699.0, 700.5, 849.0,
        ] {
            let t = r.inverse(n).unwrap();
            assert!(close(r.cumulative(t), n), "n {n}: t {t}");
        }
        // The pause (rate 0 from 14 s to 20 s) is skipped: the arrival after it comes after 20 s.
        assert!(r.inverse(700.0 + 1e-6).unwrap() > 20.0);
        assert!(close(r.inverse(0.0).unwrap(), 0.0));
        // Past the end the last value (30/s) holds.
        assert!(close(r.inverse(850.0 + 30.0).unwrap(), 31.0));
    }

    #[test]
    fn levels_are_reached_and_left_once() {
        let r = Ramp::from_stages(&[(10.0, 10.0), (10.0, 0.0)]);
        assert!(close(r.first_at_least(5.0, 0.0).unwrap(), 5.0));
        assert!(close(r.first_below(5.0, 5.0).unwrap(), 15.0));
        // Leaving at the crossing does not rejoin at once.
        assert_eq!(r.first_at_least(5.0, 15.0), None);
        assert_eq!(r.first_at_least(11.0, 0.0), None);
        assert_eq!(r.first_below(0.5, 0.0), Some(0.0));
        let up = Ramp::from_stages(&[(10.0, 10.0)]);
        assert_eq!(up.first_below(3.0, 5.0), None, "it holds 10 after the end");
        assert_eq!(up.first_at_least(10.0, 0.0), Some(10.0));
    }
}
