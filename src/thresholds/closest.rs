//! The nearest metric names to a misspelt one (pure), for the scenario error that lists them first.

/// Up to `n` of `names` nearest to `wanted` (edit distance, then name order), the closest first.
pub fn closest(wanted: &str, names: &[String], n: usize) -> Vec<String> {
    let mut scored: Vec<(usize, &String)> =
        names.iter().map(|c| (distance(wanted, c), c)).collect();
    scored.sort();
    // Nothing near: a list of unrelated names would only mislead.
    let bound = (wanted.len() / 3).max(3);
    scored
        .into_iter()
        .filter(|(d, _)| *d <= bound)
        .take(n)
        .map(|(_, c)| c.clone())
        .collect()
}

/// Levenshtein distance over bytes (names are ASCII).
fn distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(x != y)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::thresholds::metrics::Scope;

    #[test]
    fn the_closest_names_come_first() {
        let names = Scope::all().names();
        let near = closest("https.valid.alowed.p99_ms", &names, 3);
        assert_eq!(near[0], "https.valid.allowed.p99_ms");
        assert_eq!(closest("errors.shares", &names, 1), ["errors.share"]);
        assert!(closest("zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", &names, 5).is_empty());
    }
}
