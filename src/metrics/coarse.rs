//! Coarse latency buckets for what a run shows while it goes (the live status block's "p99 so far" and the
//! generator's `/metrics` histogram): 64 buckets a factor √2 apart, counted with one relaxed add per attempt, so
//! every lane can keep its own array and nothing is shared on the request path. The report's own percentiles
//! come from the HdrHistograms ([`super::Recorder`]); these are only for watching.
//!
//! Accuracy: a value falls in the bucket `[2^((b-1)/2), 2^(b/2))` µs, and a quantile is reported as its bucket's
//! largest value, so it is never below the true quantile and at most √2 (41%) above it. Bucket 0 holds 0 µs;
//! the last bucket also holds everything from 2^31 µs (36 minutes) up.

/// How many buckets.
pub const BUCKETS: usize = 64;

/// The bucket of a latency in microseconds (exact integer arithmetic: no floating point on the hot path).
pub fn bucket(us: u64) -> usize {
    if us == 0 {
        return 0;
    }
    let l = 63 - us.leading_zeros() as usize;
    // 2^l <= us < 2^(l+1): the upper half starts at 2^l·√2, that is us² >= 2^(2l+1).
    let upper_half = u128::from(us) * u128::from(us) >= 1u128 << (2 * l + 1);
    (1 + 2 * l + usize::from(upper_half)).min(BUCKETS - 1)
}

/// The largest latency (µs) bucket `b` holds; `u64::MAX` for the last bucket.
pub fn max_in(b: usize) -> u64 {
    if b == 0 {
        return 0;
    }
    if b >= BUCKETS - 1 {
        return u64::MAX;
    }
    // The bucket ends before 2^(b/2): an even b ends at a power of two, an odd b before 2^l·√2.
    if b.is_multiple_of(2) {
        (1u64 << (b / 2)) - 1
    } else {
        ((1u128 << b) - 1).isqrt() as u64
    }
}

/// The `q`-quantile (0 < q <= 1) of bucket counts as its bucket's largest value; `None` when nothing is counted.
pub fn quantile(counts: &[u64; BUCKETS], q: f64) -> Option<u64> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (b, n) in counts.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(max_in(b));
        }
    }
    Some(max_in(BUCKETS - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bucket_holds_exactly_the_values_up_to_its_max() {
        // Some low buckets hold no integer (bucket 2 is [1.41, 2)): each value up to a bucket's max lands in it
        // or below, the next value above.
        for b in 0..BUCKETS - 1 {
            assert!(bucket(max_in(b)) <= b, "bucket {b}");
            assert!(bucket(max_in(b) + 1) > b, "after bucket {b}");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert_eq!(
            (bucket(1), bucket(2), bucket(3), bucket(1000)),
            (1, 3, 4, 20)
        );
    }

    #[test]
    fn a_quantile_is_never_below_the_truth_and_at_most_a_factor_sqrt2_above() {
        let mut counts = [0; BUCKETS];
        let values: Vec<u64> = (1..=1000).map(|i| i * 37).collect();
        for v in &values {
            counts[bucket(*v)] += 1;
        }
        let truth = values[989]; // the 990th of 1000: p99
        let p99 = quantile(&counts, 0.99).unwrap();
        assert!(p99 >= truth && (p99 as f64) < truth as f64 * std::f64::consts::SQRT_2);
        assert_eq!(quantile(&[0; BUCKETS], 0.99), None);
    }
}
