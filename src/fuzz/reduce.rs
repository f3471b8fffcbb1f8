//! Minimizing a failing input (pure): byte-level delta reduction. The [`Reducer`] proposes candidates (the
//! current best with one chunk removed, chunks halving down to one byte); the caller runs each through the
//! same oracle and reports whether it still fails. Bounded by the caller (a number of tries, a deadline).

/// Proposes smaller inputs; keeps the smallest one that still failed.
#[derive(Debug, Clone)]
pub struct Reducer {
    best: Vec<u8>,
    chunk: usize,
    pos: usize,
    pending: Option<Vec<u8>>,
    tries: usize,
}

impl Reducer {
    pub fn new(input: Vec<u8>) -> Self {
        let chunk = (input.len() / 2).max(1);
        Self {
            best: input,
            chunk,
            pos: 0,
            pending: None,
            tries: 0,
        }
    }

    /// The next candidate to try, or `None` when no single-chunk removal is left to try.
    pub fn next_candidate(&mut self) -> Option<Vec<u8>> {
        loop {
            if self.best.is_empty() {
                return None;
            }
            if self.pos >= self.best.len() {
                if self.chunk == 1 {
                    return None;
                }
                self.chunk /= 2;
                self.pos = 0;
                continue;
            }
            let end = (self.pos + self.chunk).min(self.best.len());
            let mut candidate = Vec::with_capacity(self.best.len() - (end - self.pos));
            candidate.extend_from_slice(&self.best[..self.pos]);
            candidate.extend_from_slice(&self.best[end..]);
            self.pending = Some(candidate.clone());
            self.tries += 1;
            return Some(candidate);
        }
    }

    /// Whether the last candidate still failed the oracle.
    pub fn report(&mut self, still_fails: bool) {
        let Some(candidate) = self.pending.take() else {
            return;
        };
        if still_fails {
            self.best = candidate;
        } else {
            self.pos += self.chunk;
        }
    }

    pub fn best(&self) -> &[u8] {
        &self.best
    }

    pub fn tries(&self) -> usize {
        self.tries
    }

    pub fn into_best(self) -> Vec<u8> {
        self.best
    }
}

/// Minimizes `input` with a synchronous oracle, at most `max_tries` candidates.
pub fn minimize(
    input: Vec<u8>,
    mut still_fails: impl FnMut(&[u8]) -> bool,
    max_tries: usize,
) -> Vec<u8> {
    let mut r = Reducer::new(input);
    while r.tries() < max_tries {
        let Some(c) = r.next_candidate() else { break };
        let fails = still_fails(&c);
        r.report(fails);
    }
    r.into_best()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimization_keeps_exactly_the_bytes_a_synthetic_oracle_needs() {
        // The "bug": the input contains 0xde, later 0xad.
        let fails = |b: &[u8]| {
            b.iter()
                .position(|&x| x == 0xde)
                .is_some_and(|i| b[i..].contains(&0xad))
        };
        let mut input: Vec<u8> = (0..200u8).map(|i| i % 100).collect();
        input.insert(37, 0xde);
        input.insert(150, 0xad);
        assert!(fails(&input));
        let out = minimize(input, fails, 10_000);
        assert_eq!(out, vec![0xde, 0xad]);
    }

    #[test]
    fn minimization_stops_at_its_budget_and_still_fails() {
        let fails = |b: &[u8]| b.len() >= 10;
        let out = minimize(vec![7; 1000], fails, 5);
        assert!(fails(&out));
        assert!(out.len() < 1000);
    }

    #[test]
    fn an_empty_or_irreducible_input_is_returned_as_is() {
        assert_eq!(minimize(vec![], |_| true, 100), Vec::<u8>::new());
        assert_eq!(minimize(vec![1, 2], |b| b == [1, 2], 100), vec![1, 2]);
    }
}
